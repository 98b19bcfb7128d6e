"""Reference rows: each view's final row computed directly from all of a key's events.

Used by tests to check the incremental ``apply`` functions. Written independently of
them: no watermark or window code is shared; windows are filters over the whole list.

An event is late, and excluded, when its time is earlier than the greatest event time
seen before it in arrival order minus the allowed lateness. The remaining events are
sorted by (event time, arrival position) and the row is computed as of the greatest
event time ``T``; a window of length ``L`` holds the events with ``T - L < t <= T``.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TypeVar

from geopy.distance import geodesic

from offers.contracts import Event
from offers.contracts.events import (
    BookingAction,
    BookingEvent,
    LocationPing,
    SailingUpdate,
    SocialPost,
)
from simulators.ports import PORTS
from streams.features.interests import brand_mentions, interest_tags
from streams.features.rows import Row
from streams.features.sentiment import sentiment

E = TypeVar("E", bound=Event)
HOUR_MS = 3_600_000


def millis(moment: datetime) -> int:
    utc = moment.astimezone(UTC)
    return calendar.timegm(utc.utctimetuple()) * 1000 + utc.microsecond // 1000


def accepted(events: Sequence[E], allowed_lateness: timedelta) -> list[tuple[int, int, E]]:
    """(time_ms, arrival position, event) of the events that are not late, time-sorted."""
    lateness = int(allowed_lateness.total_seconds() * 1000)
    kept: list[tuple[int, int, E]] = []
    seen: int | None = None
    for position, event in enumerate(events):
        t = millis(event.event_time)
        if seen is None or t >= seen - lateness:
            kept.append((t, position, event))
        seen = t if seen is None else max(seen, t)
    return sorted(kept, key=lambda item: (item[0], item[1]))


def late_count(events: Sequence[Event], allowed_lateness: timedelta) -> int:
    return len(events) - len(accepted(events, allowed_lateness))


def _stamp(t: int) -> datetime:
    return datetime.fromtimestamp(t // 1000, tz=UTC) + timedelta(milliseconds=t % 1000)


@lru_cache(maxsize=65_536)
def _ports_by_distance(lat: float, lon: float) -> tuple[tuple[float, str, float], ...]:
    """(km, code, geofence radius) of every port, nearest first."""
    return tuple(
        sorted((geodesic((lat, lon), (p.lat, p.lon)).km, p.code, p.geofence_km) for p in PORTS)
    )


def _fence(lat: float, lon: float) -> str:
    inside = [code for km, code, radius in _ports_by_distance(lat, lon) if km <= radius]
    return inside[0] if inside else ""


def location_row(pings: Sequence[LocationPing], allowed_lateness: timedelta) -> Row:
    kept = accepted(pings, allowed_lateness)
    t_last, _, last = kept[-1]
    km, code, _ = _ports_by_distance(last.lat, last.lon)[0]
    speed = 0.0
    if len(kept) > 1 and kept[-2][0] != t_last:
        t_prev, _, prev = kept[-2]
        metres = geodesic((prev.lat, prev.lon), (last.lat, last.lon)).m
        speed = metres / ((t_last - t_prev) / 1000)
    fence = _fence(last.lat, last.lon)
    enter = t_last
    for t, _, ping in reversed(kept):
        if not fence or _fence(ping.lat, ping.lon) != fence:
            break
        enter = t
    return {
        "customer_id": last.customer_id,
        "event_timestamp": _stamp(t_last),
        "last_lat": last.lat,
        "last_lon": last.lon,
        "last_ping_ts": t_last // 1000,
        "nearest_port": code,
        "nearest_port_km": km,
        "geofence_port": fence,
        "geofence_enter_ts": enter // 1000 if fence else 0,
        "dwell_s": (t_last - enter) // 1000 if fence else 0,
        "speed_mps": speed,
        "pings_1h": sum(1 for t, _, _ in kept if t_last - HOUR_MS < t),
    }


def social_row(posts: Sequence[SocialPost], allowed_lateness: timedelta) -> Row:
    kept = accepted(posts, allowed_lateness)
    t_last, _, latest = kept[-1]
    week = [post for t, _, post in kept if t > t_last - 7 * 24 * HOUR_MS]
    scores = [sentiment(post.text, post.language.value) for post in week]
    tags: set[str] = set()
    for post in week:
        tags.update(interest_tags(post.text, post.hashtags))
    return {
        "customer_id": latest.customer_id,
        "event_timestamp": _stamp(t_last),
        "sentiment_7d": sum(scores) / len(scores),
        "posts_7d": len(week),
        "brand_mentions_7d": sum(brand_mentions(p.text, p.brand_mentions) for p in week),
        "interest_tags": sorted(tags),
        "language": latest.language.value,
    }


def booking_row(events: Sequence[BookingEvent], allowed_lateness: timedelta) -> Row:
    kept = accepted(events, allowed_lateness)
    t_last = kept[-1][0]
    day = [(t, e) for t, _, e in kept if t > t_last - 24 * HOUR_MS]
    funnel = [(t, e) for t, e in day if e.action in (BookingAction.SEARCH, BookingAction.QUOTE)]
    routes = Counter(e.route_id for _, e in funnel)
    books = [(t, e) for t, _, e in kept if e.action is BookingAction.BOOK]
    abandoned = [
        (t, q)
        for t, q in funnel
        if q.action is BookingAction.QUOTE
        and not any(b.route_id == q.route_id and tb >= t for tb, b in books)
    ]
    first_price: dict[str, float] = {}
    for _, b in books:
        first_price.setdefault(b.booking_ref or "", b.price_eur or 0.0)
    cancels = [e for _, _, e in kept if e.action is BookingAction.CANCEL]
    refunded = {e.booking_ref or "" for e in cancels}
    spend = sum((b.price_eur or 0.0 for _, b in books), 0.0)
    spend -= sum((price for ref, price in first_price.items() if ref in refunded), 0.0)
    return {
        "customer_id": kept[-1][2].customer_id,
        "event_timestamp": _stamp(t_last),
        "searches_24h": sum(1 for _, e in funnel if e.action is BookingAction.SEARCH),
        "quotes_24h": sum(1 for _, e in funnel if e.action is BookingAction.QUOTE),
        "routes_24h": sorted(routes),
        "route_counts_24h": [routes[r] for r in sorted(routes)],
        "abandoned_quotes_24h": len(abandoned),
        "last_booking_ts": max(t for t, _ in books) // 1000 if books else 0,
        "bookings_total": len(books),
        "cancellations_total": len(cancels),
        "spend_total_eur": spend,
    }


def sailing_row(updates: Sequence[SailingUpdate], allowed_lateness: timedelta) -> Row:
    kept = accepted(updates, allowed_lateness)
    t_last, _, u = kept[-1]
    change = u.fare_eur - kept[-2][2].fare_eur if len(kept) > 1 else 0.0
    pax, cars = u.capacity_passengers, u.capacity_cars
    return {
        "sailing_id": u.sailing_id,
        "event_timestamp": _stamp(t_last),
        "route_id": u.route_id,
        "origin_port": u.origin_port,
        "departure_ts": millis(u.departure_time) // 1000,
        "load_factor_pax": u.booked_passengers / pax if pax else 0.0,
        "load_factor_cars": u.booked_cars / cars if cars else 0.0,
        "seats_left": pax - u.booked_passengers,
        "car_slots_left": cars - u.booked_cars,
        "fare_eur": u.fare_eur,
        "fare_change_eur": change,
    }
