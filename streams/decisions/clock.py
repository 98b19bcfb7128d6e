"""When a trigger is decided: now, or at its event time when replaying history.

``OFFERS_DECISION_CLOCK=wall`` (production) decides each trigger at the current time, or
at its event time if that is later (a clock a little behind the producer's). ``event``
decides it at its event time, so that recorded or simulated history replayed through the
engine is decided as it would have been live: schedules, quiet hours and caps fall on the
days the events happened. In that mode the periodic work that has no event of its own
(finding abandoned quotes) runs on the event-time watermark: the latest event time any
worker has decided, kept in Redis, less the allowed lateness, since partitions progress
unevenly.

Keys: ``offers:decisions:watermark`` (string, milliseconds since the epoch; only raised).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

from redis import Redis

from offers.contracts.base import aware_utc
from streams.features.windows import from_ms, to_ms

WATERMARK_KEY = "offers:decisions:watermark"

_RAISE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
    redis.call('SET', KEYS[1], ARGV[1])
    return ARGV[1]
end
return tostring(current)
"""

ClockMode = Literal["wall", "event"]
Clock = Callable[[], datetime]
"""The wall clock, injected where Redis keys' expiries depend on it (tests control it)."""


def wall_clock() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def decision_time(mode: ClockMode, event_time: datetime, wall: datetime | None = None) -> datetime:
    """The moment a trigger of ``event_time`` is decided at."""
    at = aware_utc(event_time, "event_time")
    if mode == "event":
        return at
    return max(at, wall or wall_clock())


class Watermark:
    """The latest event time decided by any worker, in Redis."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._raise = redis.register_script(_RAISE)

    def advance(self, moment: datetime) -> None:
        self._raise(keys=[WATERMARK_KEY], args=[to_ms(aware_utc(moment, "moment"))])

    def current(self) -> datetime | None:
        value = cast("bytes | None", self._redis.get(WATERMARK_KEY))
        return None if value is None else from_ms(int(value))


def periodic_time(
    mode: ClockMode, watermark: Watermark, lateness: timedelta = timedelta(0)
) -> datetime | None:
    """The moment periodic work runs at: now, or the watermark (None before any event),
    less ``lateness``: events up to that late (a booking that settles a quote, on a
    partition that lags the others) are still in time."""
    if mode == "wall":
        return wall_clock() - lateness
    mark = watermark.current()
    return None if mark is None else mark - lateness
