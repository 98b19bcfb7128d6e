"""Valid example events of every contract, for tests; override any field by keyword."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from offers.contracts import (
    EVENT_TYPES,
    BookingEvent,
    CampaignChange,
    ConsentChange,
    CustomerResponse,
    DeadLetter,
    DeliveryStatus,
    Event,
    LocationPing,
    OfferDecision,
    SailingUpdate,
    ScoredCandidate,
    SocialPost,
)

BASE_TIME = datetime(2026, 7, 14, 9, 30, tzinfo=UTC)


def _defaults(cls: type[Event], n: int) -> dict[str, Any]:
    common: dict[str, Any] = {"event_id": f"{cls.TYPE}-{n}", "event_time": BASE_TIME}
    specific: dict[type[Event], dict[str, Any]] = {
        LocationPing: dict(
            customer_id="c0000042", lat=43.5532, lon=10.3030, accuracy_m=8.0, speed_mps=12.5
        ),
        SocialPost: dict(
            customer_id="c0000042",
            platform="instagram",
            language="it",
            text="Finalmente in Sardegna con @mobylines! #olbia",
            brand_mentions=("moby",),
            hashtags=("olbia",),
        ),
        BookingEvent: dict(
            customer_id="c0000042",
            action="quote",
            route_id="LIV-OLB",
            sailing_id="LIV-OLB-20260801-0800",
            passengers=4,
            cars=1,
            price_eur=412.5,
        ),
        SailingUpdate: dict(
            sailing_id="LIV-OLB-20260801-0800",
            route_id="LIV-OLB",
            origin_port="LIV",
            destination_port="OLB",
            departure_time=BASE_TIME + timedelta(days=18),
            arrival_time=BASE_TIME + timedelta(days=18, hours=7),
            capacity_passengers=2000,
            capacity_cars=700,
            booked_passengers=1500,
            booked_cars=650,
            fare_eur=89.0,
        ),
        ConsentChange: dict(customer_id="c0000042", scope="sms", granted=True, source="app"),
        CampaignChange: dict(
            campaign_id="summer-sardinia",
            action="created",
            actor="marketer-1",
            revision=1,
            campaign={"name": "Summer Sardinia", "discount_pct": 15},
        ),
        OfferDecision: dict(
            decision_id="d-abc123",
            customer_id="c0000042",
            trigger_event_id="location_ping-1",
            trigger="geofence_enter",
            outcome="send",
            reason="best offer",
            campaign_id="summer-sardinia",
            channel="sms",
            candidates=(
                ScoredCandidate(campaign_id="summer-sardinia", propensity=0.12, priority=3.4),
            ),
            model_version="bootstrap-1",
            propensity=0.95,
            expires_at=BASE_TIME + timedelta(hours=6),
        ),
        DeliveryStatus: dict(
            decision_id="d-abc123",
            customer_id="c0000042",
            channel="sms",
            status="delivered",
            provider_message_id="SM0123456789",
        ),
        CustomerResponse: dict(
            customer_id="c0000042", action="click", channel="sms", decision_id="d-abc123"
        ),
        DeadLetter: dict(
            source_topic="events.location",
            source_partition=3,
            source_offset=17,
            source_key="c0000042",
            payload='{"lat": 123}',
            reason="lat: Input should be less than or equal to 90",
        ),
    }
    return {**common, **specific[cls]}


def make_event(cls: type[Event], n: int = 1, **overrides: Any) -> Event:
    """A valid ``cls`` event; keyword arguments replace fields."""
    return cls(**{**_defaults(cls, n), **overrides})


def one_of_each(n: int = 1) -> list[Event]:
    """One valid event of every type that travels on a topic, dead letter included."""
    return [make_event(cls, n) for cls in (*EVENT_TYPES.values(), DeadLetter)]
