"""Events of one campaign for the report tests, at hours after a fixed start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from offers.contracts.events import (
    BookingEvent,
    CustomerResponse,
    DecisionOutcome,
    DeliveryStatus,
    OfferDecision,
    SocialPost,
)

START = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
CAMPAIGN = "camp-summer"


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def decision(
    decision_id: str,
    customer: str,
    outcome: str = "send",
    hours: float = 0.0,
    *,
    campaign: str | None = CAMPAIGN,
    reason: str = "highest expected value",
    event_id: str | None = None,
) -> OfferDecision:
    return OfferDecision(
        event_id=event_id or f"od-{decision_id}",
        event_time=at(hours),
        decision_id=decision_id,
        customer_id=customer,
        trigger_event_id=f"trg-{decision_id}",
        trigger="near_port",
        outcome=DecisionOutcome(outcome),
        reason=reason,
        campaign_id=campaign,
        channel="sms" if outcome == "send" else None,
    )


def status(decision_id: str, state: str, hours: float = 1.0, *, n: int = 0) -> DeliveryStatus:
    return DeliveryStatus(
        event_id=f"ds-{decision_id}-{state}-{n}",
        event_time=at(hours),
        decision_id=decision_id,
        customer_id="c-any",
        channel="sms",
        status=state,
    )


def response(
    decision_id: str,
    action: str,
    hours: float = 2.0,
    *,
    n: int = 0,
    customer: str = "c-any",
    channel: str = "sms",
) -> CustomerResponse:
    return CustomerResponse(
        event_id=f"cr-{decision_id}-{action}-{n}",
        event_time=at(hours),
        customer_id=customer,
        action=action,
        channel=channel,
        decision_id=decision_id,
        text="When does it sail?" if action == "reply" else None,
    )


def social_post(
    customer: str, hours: float, text: str = "Moby to Olbia next week!", *, n: int = 0
) -> SocialPost:
    return SocialPost(
        event_id=f"sp-{customer}-{n}",
        event_time=at(hours),
        customer_id=customer,
        platform="instagram",
        language="en",
        text=text,
    )


def booking(
    ref: str,
    customer: str,
    hours: float,
    price: float = 100.0,
    *,
    decision_id: str | None = None,
    event_id: str | None = None,
    **fields: Any,
) -> BookingEvent:
    return BookingEvent(
        event_id=event_id or f"bk-{ref}",
        event_time=at(hours),
        customer_id=customer,
        action="book",
        route_id="LIV-OLB",
        sailing_id="S-LIV-OLB-0800",
        price_eur=price,
        booking_ref=ref,
        offer_decision_id=decision_id,
        **fields,
    )


def cancel(ref: str, customer: str, hours: float) -> BookingEvent:
    return BookingEvent(
        event_id=f"cx-{ref}",
        event_time=at(hours),
        customer_id=customer,
        action="cancel",
        route_id="LIV-OLB",
        sailing_id="S-LIV-OLB-0800",
        booking_ref=ref,
    )
