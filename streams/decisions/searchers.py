"""Who recently searched or quoted each route, so that a sailing signal can fan out.

A ``fare_drop`` or ``capacity_released`` names a sailing, hence a route, but no customer
(:func:`streams.decisions.triggers.fan_out`). :class:`RouteSearchers` answers whom it
concerns: the customers whose latest search or quote of the route lies within a window
before the signal.

These are customers' interests, so the index keeps as little as it can: per route, each
customer's latest search or quote time only, and only within the window. Every
:meth:`RouteSearchers.record` of a route removes its members that have left the window,
and a route's key expires a day after its latest member has left the window (the day
absorbs late events and workers' clocks that are behind), so nothing outlives the window
by more than a day.

Keys (route ids never contain ``/`` or whitespace):

``offers:searchers:{route_id}`` (sorted set)
    Member: a customer id; score: the time of the customer's latest search or quote of
    the route, in milliseconds since the epoch (only raised, ``ZADD GT``). Expires
    ``window`` and a day after the latest time recorded or, when that is earlier, after the
    wall clock at the time of recording: history replayed at its event times is kept as
    long as live events are, instead of expiring as soon as it is written. The expiry is
    only pushed later (``EXPIREAT NX`` then ``EXPIREAT GT``: ``GT`` alone never sets the
    expiry of a key that has none).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from redis import Redis

from offers.contracts.base import aware_utc
from offers.redis_values import redis_text
from streams.decisions.clock import Clock, wall_clock
from streams.features.windows import to_ms

SEARCHERS_KEY = "offers:searchers:{route_id}"
SEARCHERS_GRACE = timedelta(days=1)
"""How long a route's key outlives its latest member's window."""
_GRACE_S = math.ceil(SEARCHERS_GRACE.total_seconds())


class RouteSearchers:
    """Per route, the customers who searched or quoted it within ``window``."""

    def __init__(self, redis: Redis, window: timedelta, *, clock: Clock = wall_clock) -> None:
        if window <= timedelta(0):
            raise ValueError(f"window: must be positive, got {window}")
        self._redis = redis
        self._window_ms = window // timedelta(milliseconds=1)
        self._clock = clock

    def record(self, entries: Iterable[tuple[str, str, datetime]]) -> None:
        """Record searches and quotes, each as ``(route_id, customer_id, at)``, in one
        round trip: keep each customer's latest time per route, drop the route's members
        that have left the window before the latest time recorded, push its expiry."""
        latest = _latest_per_route(entries)
        if not latest:
            return
        floor_ms = to_ms(aware_utc(self._clock(), "clock"))
        with self._redis.pipeline(transaction=False) as pipe:
            for route_id, customers in latest.items():
                key = SEARCHERS_KEY.format(route_id=route_id)
                newest = max(customers.values())
                expire_at = _seconds(max(newest, floor_ms) + self._window_ms) + _GRACE_S
                pipe.zadd(key, cast("dict[Any, Any]", customers), gt=True)
                pipe.zremrangebyscore(key, "-inf", newest - self._window_ms)
                pipe.expireat(key, expire_at, nx=True)
                pipe.expireat(key, expire_at, gt=True)
            pipe.execute()

    def recent(self, route_id: str, now: datetime) -> list[str]:
        """The customers whose latest search or quote of the route lies in
        ``(now - window, now]``, sorted by customer id."""
        now_ms = to_ms(aware_utc(now, "now"))
        members = cast(
            "list[Any]",
            self._redis.zrangebyscore(
                SEARCHERS_KEY.format(route_id=route_id), f"({now_ms - self._window_ms}", now_ms
            ),
        )
        return sorted(redis_text(member) for member in members)


def _latest_per_route(entries: Iterable[tuple[str, str, datetime]]) -> dict[str, dict[str, int]]:
    """Per route, each customer's latest time (ms) among ``entries``."""
    latest: dict[str, dict[str, int]] = {}
    for route_id, customer_id, at in entries:
        time_ms = to_ms(aware_utc(at, "at"))
        customers = latest.setdefault(route_id, {})
        customers[customer_id] = max(time_ms, customers.get(customer_id, time_ms))
    return latest


def _seconds(time_ms: int) -> int:
    """Whole seconds since the epoch, rounded up."""
    return -(-time_ms // 1000)
