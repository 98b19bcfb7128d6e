"""The sailing-state view, keyed by sailing: load, places left and fare.

The row reflects the update with the greatest event time (ties: the one that arrived
last); an older update arriving later never overwrites it, and updates older than the
watermark are ignored. ``fare_change_eur`` is the fare of that update minus the fare of
the update before it in event-time order, 0 for the first. Load factors are booked /
capacity, 0 when the capacity is 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from offers.contracts.events import SailingUpdate
from streams.features.rows import Row, Update
from streams.features.windows import Watermark, from_ms, lateness_ms, observe, to_ms, to_s


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the view keeps of one update."""

    time_ms: int
    route_id: str
    origin_port: str
    departure_ms: int
    capacity: tuple[int, int]
    """Passengers, cars."""
    booked: tuple[int, int]
    fare_eur: float

    def to_list(self) -> list[Any]:
        return [
            self.time_ms,
            self.route_id,
            self.origin_port,
            self.departure_ms,
            *self.capacity,
            *self.booked,
            self.fare_eur,
        ]

    @classmethod
    def from_list(cls, data: list[Any]) -> Snapshot:
        t, route, origin, departure, cap_pax, cap_cars, pax, cars, fare = data
        return cls(
            int(t),
            str(route),
            str(origin),
            int(departure),
            (int(cap_pax), int(cap_cars)),
            (int(pax), int(cars)),
            float(fare),
        )


@dataclass(frozen=True, slots=True)
class State:
    watermark: Watermark = Watermark()
    last: Snapshot | None = None
    prev_fare: tuple[int, float] | None = None
    """Time and fare of the update before the last one, in event-time order."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "wm": self.watermark.to_list(),
            "last": self.last.to_list() if self.last else None,
            "prev": list(self.prev_fare) if self.prev_fare else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        last = Snapshot.from_list(data["last"]) if data["last"] is not None else None
        prev = data["prev"]
        prev_fare = (int(prev[0]), float(prev[1])) if prev is not None else None
        return cls(Watermark.from_list(data["wm"]), last, prev_fare)


def snapshot(update: SailingUpdate) -> Snapshot:
    return Snapshot(
        to_ms(update.event_time),
        update.route_id,
        update.origin_port,
        to_ms(update.departure_time),
        (update.capacity_passengers, update.capacity_cars),
        (update.booked_passengers, update.booked_cars),
        update.fare_eur,
    )


def apply(state: State, update: SailingUpdate, *, allowed_lateness: timedelta) -> Update[State]:
    """The state and row after ``update``."""
    time_ms = to_ms(update.event_time)
    watermark, _, late = observe(state.watermark, time_ms, lateness_ms(allowed_lateness))
    if late:
        new = replace(state, watermark=watermark)
        return Update(new, row(new, update.sailing_id), True)
    last, prev = state.last, state.prev_fare
    if last is None or time_ms >= last.time_ms:
        prev = None if last is None else (last.time_ms, last.fare_eur)
        new = State(watermark, snapshot(update), prev)
    elif prev is None or time_ms >= prev[0]:
        new = State(watermark, last, (time_ms, update.fare_eur))
    else:
        new = replace(state, watermark=watermark)
    return Update(new, row(new, update.sailing_id), False)


def _ratio(booked: int, capacity: int) -> float:
    return booked / capacity if capacity else 0.0


def row(state: State, sailing_id: str) -> Row:
    """The feature row of the sailing-state view, as of the latest update."""
    last = state.last or Snapshot(0, "", "", 0, (0, 0), (0, 0), 0.0)
    change = last.fare_eur - state.prev_fare[1] if state.prev_fare else 0.0
    return {
        "sailing_id": sailing_id,
        "event_timestamp": from_ms(last.time_ms),
        "route_id": last.route_id,
        "origin_port": last.origin_port,
        "departure_ts": to_s(last.departure_ms),
        "load_factor_pax": _ratio(last.booked[0], last.capacity[0]),
        "load_factor_cars": _ratio(last.booked[1], last.capacity[1]),
        "seats_left": last.capacity[0] - last.booked[0],
        "car_slots_left": last.capacity[1] - last.booked[1],
        "fare_eur": last.fare_eur,
        "fare_change_eur": change,
    }
