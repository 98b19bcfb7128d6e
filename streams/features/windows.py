"""Event time, watermarks and sliding windows with allowed lateness, as plain data.

Times are integer milliseconds since the Unix epoch (UTC); the resolution of event
times is therefore one millisecond.

Watermark: ``watermark = latest - allowed_lateness``, where ``latest`` is the greatest
event time seen for the key. An event strictly older than the watermark is late: it is
not merged, only counted in ``late_events``. Events at or after the watermark are merged
in event-time order, whatever order they arrive in (ties keep their arrival order).

Window: a key's window of ``length`` is evaluated as of its latest event time ``T`` and
holds the events with ``T - length < t <= T`` (an event exactly ``length`` before the
latest one has left the window). The stored items are sorted by time and never older
than the window, since an item older than the window can never be counted again.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

V = TypeVar("V")
Items = tuple[tuple[int, V], ...]
"""Window contents: ``(time_ms, value)`` pairs sorted by time."""


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of a timezone-aware datetime (floored)."""
    return (moment - EPOCH) // _MS


def from_ms(time_ms: int) -> datetime:
    """The UTC datetime of ``time_ms``."""
    return EPOCH + time_ms * _MS


def to_s(time_ms: int) -> int:
    """Whole seconds since the epoch (floored), as feature rows hold timestamps."""
    return time_ms // 1000


def lateness_ms(allowed_lateness: timedelta) -> int:
    if allowed_lateness < timedelta(0):
        raise ValueError(f"allowed_lateness: must not be negative, got {allowed_lateness}")
    return allowed_lateness // _MS


@dataclass(frozen=True, slots=True)
class Watermark:
    """The greatest event time seen for a key, and how many events came too late."""

    latest_ms: int | None = None
    late_events: int = 0

    def to_list(self) -> list[int | None]:
        return [self.latest_ms, self.late_events]

    @classmethod
    def from_list(cls, data: list[int | None]) -> Watermark:
        return cls(data[0], int(data[1] or 0))


def observe(watermark: Watermark, time_ms: int, lateness: int) -> tuple[Watermark, int, bool]:
    """The watermark after an event at ``time_ms``, the key's latest event time after it,
    and whether the event is late."""
    latest = watermark.latest_ms
    if latest is None or time_ms > latest:
        return replace(watermark, latest_ms=time_ms), time_ms, False
    if time_ms < latest - lateness:
        return replace(watermark, late_events=watermark.late_events + 1), latest, True
    return watermark, latest, False


def evict(items: Items[V], *, as_of: int, length: int) -> Items[V]:
    """The items still inside the window of ``length`` ending at ``as_of``."""
    start = bisect_right(items, as_of - length, key=_time)
    return items[start:] if start else items


def merge(items: Items[V], time_ms: int, value: V, *, as_of: int, length: int) -> Items[V]:
    """The window with ``(time_ms, value)`` inserted in order, evicted as of ``as_of``."""
    if time_ms <= as_of - length:
        return evict(items, as_of=as_of, length=length)
    at = bisect_right(items, time_ms, key=_time)
    merged = (*items[:at], (time_ms, value), *items[at:])
    return evict(merged, as_of=as_of, length=length)


def _time(item: tuple[int, object]) -> int:
    return item[0]
