"""Event factories and row comparison for the stream-feature tests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from offers.contracts.events import BookingEvent, LocationPing, SailingUpdate, SocialPost

BASE = datetime(2026, 7, 14, 9, 0, tzinfo=UTC)
LATENESS = timedelta(minutes=10)


def at(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


def make_ping(t: float, lat: float = 43.0, lon: float = 10.0, customer: str = "c1") -> LocationPing:
    return LocationPing(
        event_id=f"p{t}", event_time=at(t), customer_id=customer, lat=lat, lon=lon, accuracy_m=5.0
    )


def make_post(
    t: float, text: str = "Prenotato con Moby", language: str = "it", **kw: Any
) -> SocialPost:
    fields: dict[str, Any] = dict(
        event_id=f"s{t}",
        event_time=at(t),
        customer_id="c1",
        platform="instagram",
        language=language,
        text=text,
    )
    fields.update(kw)
    return SocialPost(**fields)


def make_booking(t: float, action: str, route: str = "LIV-OLB", **kw: Any) -> BookingEvent:
    fields: dict[str, Any] = dict(
        event_id=f"b{t}", event_time=at(t), customer_id="c1", action=action, route_id=route
    )
    if action != "search":
        fields["sailing_id"] = f"{route}-1"
    if action in ("quote", "book"):
        fields["price_eur"] = 100.0
    if action in ("book", "cancel"):
        fields["booking_ref"] = "R1"
    fields.update(kw)
    return BookingEvent(**fields)


def make_sailing(t: float, fare: float = 50.0, booked: int = 100, **kw: Any) -> SailingUpdate:
    fields: dict[str, Any] = dict(
        event_id=f"u{t}",
        event_time=at(t),
        sailing_id="LIV-OLB-1",
        route_id="LIV-OLB",
        origin_port="LIV",
        destination_port="OLB",
        departure_time=at(86_400),
        arrival_time=at(86_400 + 7 * 3600),
        capacity_passengers=1000,
        capacity_cars=200,
        booked_passengers=booked,
        booked_cars=booked // 10,
        fare_eur=fare,
    )
    fields.update(kw)
    return SailingUpdate(**fields)


def rows_match(actual: dict[str, Any], expected: dict[str, Any]) -> bool:
    if actual.keys() != expected.keys():
        return False
    for key, value in expected.items():
        got = actual[key]
        if isinstance(value, float):
            if not (isinstance(got, float) and math.isclose(got, value, abs_tol=1e-6)):
                return False
        elif got != value or type(got) is not type(value):
            return False
    return True


def arrival_order(times: Sequence[float], delays: Sequence[float]) -> list[int]:
    """Indices of events in arrival order when event i arrives ``delays[i]`` after its time."""
    return sorted(range(len(times)), key=lambda i: (times[i] + delays[i], i))
