"""Offers as the engine makes them, for the responder and truth tests: campaigns,
decisions, redemption links, delivered sandbox records, bookings and responses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from offers.campaigns import Campaign, CampaignStatus
from offers.contracts import BookingEvent, OfferDecision, ValidationClock
from simulators.customers import Customers, customer_id, generate_customers
from simulators.phones import phone_number
from simulators.responder import Response
from simulators.routes import all_routes
from simulators.sandbox.store import MessageRecord, StatusChange
from streams.delivery.redemption import redemption_link, redemption_token
from tests.unit.campaigns.factories import nested as nested_campaign_field
from tests.unit.campaigns.factories import valid_campaign

T0 = datetime(2026, 7, 2, 9, 0, tzinfo=UTC)
"""When the decisions of the tests are made (simulated time)."""
CLOCK = ValidationClock(now=datetime(2027, 1, 1, tzinfo=UTC))
API = "http://api.test"
SECRET = "redemption-secret-for-tests"
CAMPAIGN = "cmp-summer-olbia"
POPULATION = 500


@cache
def customers() -> Customers:
    return generate_customers(POPULATION, 11, all_routes())


def campaign(campaign_id: str = CAMPAIGN, **offer: Any) -> Campaign:
    """An active campaign; ``offer`` overrides fields of its offer (40 % off LIV-OLB)."""
    fields = {"percent": 40} | offer
    return valid_campaign(
        CampaignStatus.ACTIVE,
        campaign_id=campaign_id,
        offer=nested_campaign_field("offer", **fields),
    )


def decision(
    n: int,
    *,
    customer: int | None = None,
    campaign_id: str = CAMPAIGN,
    channel: str = "sms",
    outcome: str = "send",
    trigger: str = "abandoned_quote",
    at: datetime = T0,
    send_at: datetime | None = None,
    expires_in: timedelta = timedelta(hours=48),
) -> OfferDecision:
    """Decision ``dec-{n}`` for customer ``customer`` (``n`` by default)."""
    who = n % POPULATION if customer is None else customer
    data: dict[str, Any] = {
        "event_id": f"ev-dec-{n}",
        "event_time": at,
        "decision_id": f"dec-{n:05d}",
        "customer_id": customer_id(who),
        "trigger_event_id": f"ev-trigger-{n}",
        "trigger": trigger,
        "outcome": outcome,
        "reason": "send_now" if outcome == "send" else outcome,
        "campaign_id": campaign_id,
        "channel": channel if outcome == "send" else None,
        "expires_at": (send_at or at) + expires_in,
        "send_at": send_at,
    }
    return OfferDecision.model_validate(data, context={"clock": CLOCK})


def offer_link(decision: OfferDecision) -> str:
    assert decision.expires_at is not None
    return redemption_link(API, redemption_token(decision.decision_id, decision.expires_at, SECRET))


def offer_text(decision: OfferDecision) -> str:
    return f"Ciao! 40% su Livorno-Olbia, solo per te.\n{offer_link(decision)}"


def delivered(
    decision: OfferDecision, *, body: str | None = None, status: str = "delivered"
) -> MessageRecord:
    """The sandbox's record of the decision's SMS, delivered."""
    index = int(decision.customer_id[1:]) - 1
    moment = datetime.now(UTC)
    return MessageRecord(
        provider="twilio",
        channel="sms",
        id=f"SM{decision.decision_id}",
        to=phone_number(index),
        sender="+15005550006",
        body=offer_text(decision) if body is None else body,
        accepted_at=moment,
        statuses=[StatusChange("queued", moment), StatusChange(status, moment)],
    )


def booking(
    n: int, customer: int, at: datetime, *, ref: str | None = None, action: str = "book"
) -> BookingEvent:
    data: dict[str, Any] = {
        "event_id": f"ev-bk-{n}",
        "event_time": at,
        "customer_id": customer_id(customer),
        "action": action,
        "route_id": "LIV-OLB",
        "sailing_id": "LIV-OLB-20260710-2200",
        "price_eur": 120.0,
        "booking_ref": ref or f"bk-world-{n}",
    }
    return BookingEvent.model_validate(data, context={"clock": CLOCK})


def response(
    decision: OfferDecision,
    *,
    u: float = 0.1,
    booking_ref: str | None = None,
    stopped: bool = False,
    received: datetime | None = None,
) -> Response:
    """The responder's record of ``decision``: caused when it has a ``booking_ref``."""
    return Response(
        decision_id=decision.decision_id,
        customer_id=decision.customer_id,
        campaign_id=decision.campaign_id or "",
        channel="sms",
        message_id=f"SM{decision.decision_id}",
        received_at=received or decision.event_time,
        u=u,
        caused=booking_ref is not None,
        clicked=booking_ref is not None,
        click_error=None,
        redeemed=booking_ref is not None,
        redemption_error=None,
        booking_ref=booking_ref,
        booked_at=decision.event_time + timedelta(hours=2) if booking_ref else None,
        stopped=stopped,
    )
