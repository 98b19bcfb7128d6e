"""The sailing schedule, its load and its fares.

A :class:`Schedule` holds every sailing of a date range as arrays (one row per sailing,
sorted by departure). :class:`SailingLoads` is the mutable state of a run: how many
passengers and cars are booked, both by simulated customers and by everyone else (the
"background" demand that follows a booking curve towards departure). Fares follow the
season, the day of the week, the load factor and, for nearly empty sailings close to
departure, a last-minute drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from simulators.ports import port_named
from simulators.routes import Route, demand_factor, fare_factor
from simulators.timeline import DAY_MS, ms_of, utc_of

SAILING_STREAM = 11
LAST_MINUTE_DAYS = 3.0
LAST_MINUTE_LOAD = 0.35
LAST_MINUTE_FACTOR = 0.8
CAR_FARE_SHARE = 0.9

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Schedule:
    """Every sailing of a date range, sorted by departure time."""

    routes: tuple[Route, ...]
    sailing_ids: tuple[str, ...]
    route: IntArray
    departure_ms: IntArray
    arrival_ms: IntArray
    capacity_passengers: IntArray
    capacity_cars: IntArray
    seasonal_fare: FloatArray
    """Base fare times the month and weekday factors: the fare at a 50 % load."""
    popularity: FloatArray
    """How much more (or less) than average the sailing sells."""
    demand: FloatArray
    """Demand factor of the sailing's month."""

    def __len__(self) -> int:
        return len(self.sailing_ids)

    def departing_between(self, start_ms: int, end_ms: int) -> IntArray:
        """Indices of the sailings departing in [start_ms, end_ms)."""
        lo, hi = np.searchsorted(self.departure_ms, [start_ms, end_ms], side="left")
        return np.arange(lo, hi, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class _Row:
    route: int
    departure_ms: int
    sailing_id: str
    arrival_ms: int
    capacity_passengers: int
    capacity_cars: int
    seasonal_fare: float
    popularity: float
    demand: float


def build_schedule(routes: tuple[Route, ...], first: date, last: date, seed: int) -> Schedule:
    """The sailings of ``routes`` on local dates ``first`` to ``last`` (inclusive)."""
    rows: list[_Row] = []
    day = first
    while day <= last:
        rng = np.random.Generator(
            np.random.PCG64(np.random.SeedSequence([seed, SAILING_STREAM, day.toordinal()]))
        )
        for r, route in enumerate(routes):
            rows.extend(_sailings_of_day(route, r, day, rng))
        day += timedelta(days=1)
    rows.sort(key=lambda row: (row.departure_ms, row.route))

    def column(name: str, dtype: type[np.int64] | type[np.float64]) -> Any:
        return np.array([getattr(row, name) for row in rows], dtype=dtype)

    return Schedule(
        routes=routes,
        sailing_ids=tuple(row.sailing_id for row in rows),
        route=column("route", np.int64),
        departure_ms=column("departure_ms", np.int64),
        arrival_ms=column("arrival_ms", np.int64),
        capacity_passengers=column("capacity_passengers", np.int64),
        capacity_cars=column("capacity_cars", np.int64),
        seasonal_fare=column("seasonal_fare", np.float64),
        popularity=column("popularity", np.float64),
        demand=column("demand", np.float64),
    )


def local_departures(route: Route, day: date) -> list[datetime]:
    """The departures of ``route`` on the local date ``day``, in time order, as aware
    datetimes in the origin port's time zone (none on a day without service)."""
    zone = port_named(route.origin).zone
    departures = []
    for slot in route.departure_slots(day.month):
        hours, minutes = (int(part) for part in slot.split(":"))
        departures.append(datetime(day.year, day.month, day.day, hours, minutes, tzinfo=zone))
    return departures


def sailing_id_of(route: Route, local_departure: datetime) -> str:
    """The id of the sailing of ``route`` leaving at ``local_departure`` (origin's local
    time): ``LIV-OLB-20260701-2200``."""
    return f"{route.route_id}-{local_departure:%Y%m%d-%H%M}"


def seasonal_fare_of(route: Route, day: date) -> float:
    """The seasonal fare of ``route``'s sailings on ``day``: the base fare times the month's
    factor, and 10 % more from Friday to Sunday."""
    weekday = 1.1 if day.weekday() >= 4 else 1.0
    return round(route.base_fare_eur * fare_factor(day.month) * weekday, 2)


def _sailings_of_day(route: Route, r: int, day: date, rng: np.random.Generator) -> list[_Row]:
    departures = local_departures(route, day)
    # smaller vessels outside the summer
    vessel = 1.0 if day.month in (6, 7, 8, 9) else 0.8
    popularity = np.clip(rng.lognormal(0.0, 0.25, len(departures)), 0.4, 1.8)
    rows = []
    for local, pop in zip(departures, popularity, strict=True):
        departure = ms_of(local.astimezone(UTC))
        rows.append(
            _Row(
                route=r,
                departure_ms=departure,
                sailing_id=sailing_id_of(route, local),
                arrival_ms=departure + route.duration_min * 60_000,
                capacity_passengers=int(route.capacity_passengers * vessel),
                capacity_cars=int(route.capacity_cars * vessel),
                seasonal_fare=seasonal_fare_of(route, day),
                popularity=float(pop),
                demand=demand_factor(day.month),
            )
        )
    return rows


def fare_eur(
    seasonal_fare: float | FloatArray,
    load_factor: float | FloatArray,
    days_to_departure: float | FloatArray,
) -> FloatArray:
    """The lowest adult fare: rises with the load factor, drops on late, empty sailings.

    ``fare = seasonal_fare * (0.85 + 1.4 * load**2)``, times 0.8 when fewer than 35 % of
    the seats are sold less than three days before departure.
    """
    load = np.clip(np.asarray(load_factor, dtype=np.float64), 0.0, 1.0)
    fare = np.asarray(seasonal_fare, dtype=np.float64) * (0.85 + 1.4 * load**2)
    late = (np.asarray(days_to_departure) < LAST_MINUTE_DAYS) & (load < LAST_MINUTE_LOAD)
    return np.asarray(np.round(np.where(late, fare * LAST_MINUTE_FACTOR, fare), 2), np.float64)


def fare_of(seasonal_fare: float, load_factor: float, days_to_departure: float) -> float:
    """:func:`fare_eur` for one sailing, without numpy overhead."""
    load = min(max(load_factor, 0.0), 1.0)
    fare = seasonal_fare * (0.85 + 1.4 * load**2)
    if days_to_departure < LAST_MINUTE_DAYS and load < LAST_MINUTE_LOAD:
        fare *= LAST_MINUTE_FACTOR
    return round(fare, 2)


def background_load(
    popularity: FloatArray, demand: FloatArray, departure_ms: IntArray, now_ms: int
) -> FloatArray:
    """Share of seats sold to people outside the simulated customer base at ``now_ms``.

    Follows a booking curve ``1 / (1 + (days / 10) ** 1.5)`` towards departure, scaled by
    the sailing's popularity and the demand of its month; never above 97 %.
    """
    days = np.maximum((departure_ms - now_ms) / DAY_MS, 0.0)
    curve = 1.0 / (1.0 + (days / 10.0) ** 1.5)
    return np.asarray(np.minimum(0.97, 0.75 * popularity * demand * curve), dtype=np.float64)


class SailingLoads:
    """What is booked on each sailing during one run (mutable)."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        size = len(schedule)
        self.customer_passengers = np.zeros(size, dtype=np.int64)
        self.customer_cars = np.zeros(size, dtype=np.int64)
        self.other_passengers = np.zeros(size, dtype=np.int64)
        self.other_cars = np.zeros(size, dtype=np.int64)

    def booked(self, i: int) -> tuple[int, int]:
        return (
            int(self.customer_passengers[i] + self.other_passengers[i]),
            int(self.customer_cars[i] + self.other_cars[i]),
        )

    def load_factor(self, i: int) -> float:
        return self.booked(i)[0] / max(int(self.schedule.capacity_passengers[i]), 1)

    def has_room(self, i: int, passengers: int, cars: int) -> bool:
        booked_passengers, booked_cars = self.booked(i)
        return bool(
            booked_passengers + passengers <= self.schedule.capacity_passengers[i]
            and booked_cars + cars <= self.schedule.capacity_cars[i]
        )

    def fare(self, i: int, now_ms: int) -> float:
        days = (int(self.schedule.departure_ms[i]) - now_ms) / DAY_MS
        return fare_of(float(self.schedule.seasonal_fare[i]), self.load_factor(i), days)

    def price(self, i: int, now_ms: int, passengers: int, cars: int) -> float:
        """Total price of ``passengers`` adults and ``cars`` cars at the current fare."""
        fare = self.fare(i, now_ms)
        return round(fare * passengers + fare * CAR_FARE_SHARE * cars, 2)

    def add_customer_booking(self, i: int, passengers: int, cars: int) -> None:
        self.customer_passengers[i] += passengers
        self.customer_cars[i] += cars

    def sync_background(self, indices: IntArray, now_ms: int, release: FloatArray) -> None:
        """Bring the background bookings of ``indices`` to their booking curve.

        ``release`` is a share of the capacity that other people cancelled (often 0).
        """
        s = self.schedule
        share = background_load(
            s.popularity[indices], s.demand[indices], s.departure_ms[indices], now_ms
        )
        share = np.maximum(share - release, 0.0)
        room_pax = s.capacity_passengers[indices] - self.customer_passengers[indices]
        room_cars = s.capacity_cars[indices] - self.customer_cars[indices]
        pax = np.rint(share * s.capacity_passengers[indices]).astype(np.int64)
        cars = np.rint(share * 0.9 * s.capacity_cars[indices]).astype(np.int64)
        self.other_passengers[indices] = np.clip(pax, 0, np.maximum(room_pax, 0))
        self.other_cars[indices] = np.clip(cars, 0, np.maximum(room_cars, 0))


def sailing_update_fields(loads: SailingLoads, i: int, now_ms: int, status: str) -> dict[str, Any]:
    """The fields of a SailingUpdate for sailing ``i`` as it stands at ``now_ms``."""
    s = loads.schedule
    route = s.routes[int(s.route[i])]
    booked_passengers, booked_cars = loads.booked(i)
    return {
        "sailing_id": s.sailing_ids[i],
        "route_id": route.route_id,
        "origin_port": route.origin,
        "destination_port": route.destination,
        "departure_time": utc_of(int(s.departure_ms[i])),
        "arrival_time": utc_of(int(s.arrival_ms[i])),
        "capacity_passengers": int(s.capacity_passengers[i]),
        "capacity_cars": int(s.capacity_cars[i]),
        "booked_passengers": booked_passengers,
        "booked_cars": booked_cars,
        "fare_eur": loads.fare(i, now_ms),
        "status": status,
    }
