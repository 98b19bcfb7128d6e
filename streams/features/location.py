"""The customer-location view: last position, nearest port, geofence, speed, ping rate.

Semantics, all in event time (pings older than the watermark are ignored):

- last position: the ping with the greatest event time (ties: the one that arrived
  last); a late-arriving older ping never overwrites it.
- speed: geodesic metres between the last two pings in event-time order, divided by
  the seconds between them; 0 if there is one ping or they share their time.
- geofence: the customer is in a port's geofence when the geodesic distance to it is at
  most its radius. ``geofence_enter_ts`` is the time of the first ping of the unbroken
  run of pings (in event-time order) inside that port's geofence that ends with the
  last ping; ``dwell_s`` is the seconds from it to the last ping. Pings newer than the
  watermark are kept (``recent``) so that one arriving out of order can still split or
  extend the run; older ones are folded into ``run``.
- ``pings_1h``: pings with ``last - 1 h < t <= last``.

Consent: these features are derived for every ping that reaches the topic, whatever the
customer's location consent. Pings arrive only with it (the API refuses the others, and
an app, like the simulated one, sends none without it), but a check here would not be
the guarantee: it could not take back what was derived before a withdrawal, and the
worker's consent replica may see a grant after the first pings that follow it. The
guarantee is at decision time: a decision masks every feature of this view unless the
consent replica holds the customer's location consent at that moment
(:mod:`streams.decisions.location_consent`), so a withdrawal stops their use at once.
The stores then forget: a withdrawal deletes the customer's online row and table entry,
and no row outlives ``OFFERS_LOCATION_RETENTION_HOURS`` (:mod:`streams.location_retention`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from offers.contracts.events import LocationPing
from streams.features.geo import geodesic_km, locate
from streams.features.rows import LocationUpdate, Row
from streams.features.windows import (
    Items,
    Watermark,
    evict,
    from_ms,
    lateness_ms,
    merge,
    observe,
    to_ms,
    to_s,
)

PINGS_WINDOW_MS = 3_600_000

Fix = tuple[int, float, float]
"""A ping reduced to (time_ms, lat, lon)."""


@dataclass(frozen=True, slots=True)
class State:
    watermark: Watermark = Watermark()
    last: Fix | None = None
    prev: Fix | None = None
    nearest: tuple[str, float] = ("", 0.0)
    speed_mps: float = 0.0
    recent: Items[str] = ()
    """Pings at or after the watermark: (time_ms, geofence port or '')."""
    run: tuple[str, int] = ("", 0)
    """Geofence port and run start after the pings older than the watermark."""
    pings: Items[None] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "wm": self.watermark.to_list(),
            "last": list(self.last) if self.last else None,
            "prev": list(self.prev) if self.prev else None,
            "near": list(self.nearest),
            "speed": self.speed_mps,
            "recent": [list(item) for item in self.recent],
            "run": list(self.run),
            "pings": [t for t, _ in self.pings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        return cls(
            watermark=Watermark.from_list(data["wm"]),
            last=_fix(data["last"]),
            prev=_fix(data["prev"]),
            nearest=(str(data["near"][0]), float(data["near"][1])),
            speed_mps=float(data["speed"]),
            recent=tuple((int(t), str(port)) for t, port in data["recent"]),
            run=(str(data["run"][0]), int(data["run"][1])),
            pings=tuple((int(t), None) for t in data["pings"]),
        )


def _fix(data: list[Any] | None) -> Fix | None:
    return None if data is None else (int(data[0]), float(data[1]), float(data[2]))


def apply(
    state: State, ping: LocationPing, *, allowed_lateness: timedelta
) -> LocationUpdate[State]:
    """The state and row after ``ping``, with the geofence it entered or exited."""
    lateness = lateness_ms(allowed_lateness)
    time_ms = to_ms(ping.event_time)
    watermark, latest, late = observe(state.watermark, time_ms, lateness)
    if late:
        new = replace(state, watermark=watermark)
        return LocationUpdate(new, row(new, ping.customer_id), True)
    proximity = locate(ping.lat, ping.lon)
    new = _place(
        state, (time_ms, ping.lat, ping.lon), (proximity.nearest_port, proximity.nearest_km)
    )
    recent = merge(new.recent, time_ms, proximity.geofence_port, as_of=latest, length=lateness + 1)
    run = _fold(state.run, [item for item in new.recent if item[0] < latest - lateness])
    pings = merge(state.pings, time_ms, None, as_of=latest, length=PINGS_WINDOW_MS)
    new = replace(new, watermark=watermark, recent=recent, run=run, pings=pings)
    before, after = geofence(state)[0], geofence(new)[0]
    moved = before != after
    return LocationUpdate(
        new,
        row(new, ping.customer_id),
        False,
        entered=after if moved and after else None,
        exited=before if moved and before else None,
    )


def _place(state: State, fix: Fix, nearest: tuple[str, float]) -> State:
    """Keep the last two pings in event-time order (ties: arrival order)."""
    last, prev = state.last, state.prev
    if last is None or fix[0] >= last[0]:
        return _with_pair(replace(state, nearest=nearest), fix, last)
    if prev is None or fix[0] >= prev[0]:
        return _with_pair(state, last, fix)
    return state


def _with_pair(state: State, last: Fix, prev: Fix | None) -> State:
    return replace(state, last=last, prev=prev, speed_mps=speed_mps(prev, last))


def speed_mps(prev: Fix | None, last: Fix) -> float:
    """Geodesic metres per second from ``prev`` to ``last``; 0 without a time difference."""
    if prev is None or last[0] == prev[0]:
        return 0.0
    metres = geodesic_km(prev[1], prev[2], last[1], last[2]) * 1000.0
    return metres / ((last[0] - prev[0]) / 1000.0)


def _fold(run: tuple[str, int], items: list[tuple[int, str]] | Items[str]) -> tuple[str, int]:
    for time_ms, port in items:
        if not port:
            run = ("", 0)
        elif port != run[0]:
            run = (port, time_ms)
    return run


def geofence(state: State) -> tuple[str, int]:
    """The geofence port ('' if none) and the time its run of pings started."""
    return _fold(state.run, state.recent)


def last_ping_ms(data: dict[str, Any]) -> int | None:
    """The time of the last ping of a stored state (:meth:`State.to_dict`), in
    milliseconds; None without a ping."""
    last = data.get("last")
    return None if last is None else int(last[0])


def row(state: State, customer_id: str) -> Row:
    """The feature row of the customer-location view, as of the last ping."""
    last = state.last or (0, 0.0, 0.0)
    port, start_ms = geofence(state)
    return {
        "customer_id": customer_id,
        "event_timestamp": from_ms(last[0]),
        "last_lat": last[1],
        "last_lon": last[2],
        "last_ping_ts": to_s(last[0]),
        "nearest_port": state.nearest[0],
        "nearest_port_km": state.nearest[1],
        "geofence_port": port,
        "geofence_enter_ts": to_s(start_ms) if port else 0,
        "dwell_s": (last[0] - start_ms) // 1000 if port else 0,
        "speed_mps": state.speed_mps,
        "pings_1h": len(evict(state.pings, as_of=last[0], length=PINGS_WINDOW_MS)),
    }
