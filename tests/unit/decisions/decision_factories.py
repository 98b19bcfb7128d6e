"""Builders for the decision tests: events at offsets from NOW, sailing rows, trigger hits,
customers, and an eligible situation whose parts a test changes one at a time.

Import as ``tests.unit.decisions.decision_factories``. The default situation is eligible:
an active campaign (tests/unit/campaigns/factories.py) targeting geofence_enter and
abandoned_quote on LIV-OLB / OLB-LIV, a customer near Livorno, a bookable sailing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from offers.campaigns import Campaign, CampaignStatus, Guardrails, Trigger
from offers.contracts.events import (
    BookingEvent,
    Channel,
    GeofenceTransition,
    Language,
    SailingUpdate,
    SocialPost,
)
from streams.decisions.eligibility import CustomerContext, Ineligible, check
from streams.decisions.triggers import TriggerHit
from tests.factories import make_event
from tests.unit.campaigns.factories import NOW, valid_campaign

CUSTOMER = "cust-1"
ROUTE = "LIV-OLB"
SAILING = "LIV-OLB-20250602-0800"
LIVORNO = (43.5580, 10.2990)
"""The port of Livorno, where the default customer stands."""
PISA = (43.715, 10.40)
"""Inside the campaign's "Pisa centre" polygon (lat 43.70-43.73, lon 10.38-10.42)."""
ROME = "Europe/Rome"


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def booking(
    seconds: float,
    action: str,
    *,
    route: str = ROUTE,
    customer: str = CUSTOMER,
    event_id: str | None = None,
) -> BookingEvent:
    """A booking-funnel event at ``NOW + seconds`` (id from the action and the time)."""
    fields: dict[str, Any] = {
        "event_id": event_id or f"bk-{action}-{route}-{seconds:g}",
        "event_time": at(seconds).isoformat(),
        "customer_id": customer,
        "action": action,
        "route_id": route,
        "sailing_id": f"{route}-S1" if action != "search" else None,
        "offer_decision_id": ...,
    }
    if action not in ("book", "cancel"):
        fields["booking_ref"] = ...
    if action in ("search", "cancel"):
        fields["price_eur"] = ...
    event = make_event("booking", **fields)
    assert isinstance(event, BookingEvent)
    return event


def geofence(
    action: str = "enter", *, seconds: float = -60, port: str = "LIV"
) -> GeofenceTransition:
    event = make_event(
        "geofence_transition",
        event_id=f"geo-{port}-{action}",
        event_time=at(seconds).isoformat(),
        action=action,
        port=port,
    )
    assert isinstance(event, GeofenceTransition)
    return event


def post(text: str, *, language: str = "en", brands: tuple[str, ...] = ("moby",)) -> SocialPost:
    event = make_event("social_post", text=text, language=language, brand_mentions=list(brands))
    assert isinstance(event, SocialPost)
    return event


def sailing_update(
    seconds: float = 0,
    *,
    fare: float = 100.0,
    booked: int = 400,
    capacity: int = 500,
    **overrides: Any,
) -> SailingUpdate:
    """An update of SAILING at ``NOW + seconds``, departing a day after NOW."""
    fields: dict[str, Any] = {
        "event_id": f"sail-{seconds:g}",
        "event_time": at(seconds).isoformat(),
        "sailing_id": SAILING,
        "route_id": ROUTE,
        "origin_port": "LIV",
        "destination_port": "OLB",
        "departure_time": at(86_400).isoformat(),
        "arrival_time": at(86_400 + 7 * 3600).isoformat(),
        "capacity_passengers": capacity,
        "booked_passengers": booked,
        "fare_eur": fare,
    }
    fields.update(overrides)
    event = make_event("sailing_update", **fields)
    assert isinstance(event, SailingUpdate)
    return event


def sailing_row(
    sailing_id: str = SAILING,
    *,
    route: str = ROUTE,
    seats: int = 10,
    departs: datetime | None = None,
) -> dict[str, Any]:
    """A row of the sailing-state view (the keys of streams.features.sailing.row)."""
    departure = departs or at(86_400)
    return {
        "sailing_id": sailing_id,
        "event_timestamp": at(-300),
        "route_id": route,
        "origin_port": route.split("-")[0],
        "departure_ts": int(departure.timestamp()),
        "load_factor_pax": 0.9,
        "load_factor_cars": 0.5,
        "seats_left": seats,
        "car_slots_left": 5,
        "fare_eur": 50.0,
        "fare_change_eur": 0.0,
    }


def hit(
    trigger: Trigger = Trigger.GEOFENCE_ENTER,
    *,
    seconds: float = -60,
    when: datetime | None = None,
    port: str | None = "LIV",
    route: str | None = None,
    sailing: str | None = None,
    customer: str = CUSTOMER,
) -> TriggerHit:
    """A hit at ``when``, or ``seconds`` after NOW (a minute before by default)."""
    moment = when or at(seconds)
    return TriggerHit(trigger, f"ev-{trigger.value}", customer, moment, port, route, sailing)


def quote_hit(route: str = ROUTE, sailing: str | None = SAILING) -> TriggerHit:
    """An abandoned quote of ``route``: it names a route and a sailing, no port."""
    return hit(Trigger.ABANDONED_QUOTE, seconds=-1800, port=None, route=route, sailing=sailing)


def customer(**overrides: Any) -> CustomerContext:
    """A customer the default campaign targets: Italian, a past booker, at Livorno."""
    fields: dict[str, Any] = {
        "customer_id": CUSTOMER,
        "zone": ROME,
        "language": Language.IT,
        "features": {"bookings_total": 2, "language": "it"},
        "position": LIVORNO,
        "consented": frozenset({Channel.SMS}),
    }
    fields.update(overrides)
    return CustomerContext(**fields)


def every_language_templates(channels: tuple[str, ...] = ("sms", "whatsapp")) -> list[Any]:
    """A template for each channel in every language: what a campaign that lists no
    language needs to be activated."""
    return [
        {"channel": channel, "language": language.value, "text": "{discount} until {expiry}"}
        for channel in channels
        for language in Language
    ]


def active_campaign(**overrides: Any) -> Campaign:
    return valid_campaign(CampaignStatus.ACTIVE, **overrides)


def guarded(campaign: Campaign) -> Campaign:
    """``campaign`` opted in to pause on social alerts."""
    return campaign.model_copy(update={"guardrails": Guardrails(pause_on_social_alerts=True)})


@dataclass(frozen=True)
class Situation:
    """Everything :func:`check` takes; eligible as built."""

    campaign: Campaign = field(default_factory=active_campaign)
    hit: TriggerHit = field(default_factory=hit)
    customer: CustomerContext = field(default_factory=customer)
    now: datetime = NOW
    sailings: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: {SAILING: sailing_row()}
    )
    sends: int = 0
    alerts: frozenset[str] = frozenset()
    """Subjects of the open social alerts."""

    def but(self, **changes: Any) -> Situation:
        return replace(self, **changes)

    def check(self) -> Ineligible | None:
        return check(
            self.campaign,
            self.hit,
            self.customer,
            now=self.now,
            sailings=self.sailings,
            sends=self.sends,
            alerts=self.alerts,
        )
