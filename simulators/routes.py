"""Ferry routes between the ports, in both directions, with their seasonal timetables.

Durations, vessel sizes and fares are of the order of those of the real services (day
crossings; night crossings of the long routes take a little longer in reality).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from simulators.ports import port_named


class Season(IntEnum):
    LOW = 0
    SHOULDER = 1
    PEAK = 2


_SEASON_OF_MONTH = (0, 0, 0, 1, 1, 1, 2, 2, 1, 1, 0, 0)
_FARE_FACTOR_OF_MONTH = (0.70, 0.70, 0.75, 0.85, 0.95, 1.15, 1.45, 1.60, 1.10, 0.85, 0.70, 0.80)
_DEMAND_FACTOR_OF_MONTH = (0.35, 0.35, 0.45, 0.65, 0.80, 1.10, 1.50, 1.65, 1.00, 0.60, 0.35, 0.50)


def season_of(month: int) -> Season:
    """The season of a month (1-12): peak in July and August, low in winter."""
    return Season(_SEASON_OF_MONTH[month - 1])


def fare_factor(month: int) -> float:
    """Multiplier of base fares in ``month``."""
    return _FARE_FACTOR_OF_MONTH[month - 1]


def demand_factor(month: int) -> float:
    """Relative travel demand in ``month`` (1.0 is an average month)."""
    return _DEMAND_FACTOR_OF_MONTH[month - 1]


@dataclass(frozen=True, slots=True)
class Route:
    """One direction of a ferry service."""

    route_id: str
    origin: str
    destination: str
    operator: str
    duration_min: int
    sailings_per_day: tuple[int, int, int]
    """Daily departures in the low, shoulder and peak season."""
    slots: tuple[str, ...]
    """Local departure times (HH:MM), most important first; a day uses the first n."""
    capacity_passengers: int
    capacity_cars: int
    base_fare_eur: float
    outbound: bool
    """True from the mainland to an island (the direction holidays start with)."""

    def daily_sailings(self, month: int) -> int:
        return self.sailings_per_day[season_of(month)]

    def departure_slots(self, month: int) -> tuple[str, ...]:
        """The local departure times of a day in ``month``, in time order.

        Shuttle services (more than three slots) keep evenly spaced departures; the
        others use their most important slots first.
        """
        count = self.daily_sailings(month)
        if count == 0:
            return ()
        if len(self.slots) <= 3:
            return tuple(sorted(self.slots[:count]))
        ordered = sorted(self.slots)
        step = (len(ordered) - 1) / max(count - 1, 1)
        return tuple(ordered[round(i * step)] for i in range(count))


@dataclass(frozen=True, slots=True)
class _Service:
    origin: str
    destination: str
    operator: str
    duration_min: int
    sailings_per_day: tuple[int, int, int]
    slots: tuple[str, ...]
    reverse_slots: tuple[str, ...]
    capacity_passengers: int
    capacity_cars: int
    base_fare_eur: float


def _every(first: str, count: int, step_min: int) -> tuple[str, ...]:
    hours, minutes = (int(part) for part in first.split(":"))
    start = hours * 60 + minutes
    times = [start + i * step_min for i in range(count)]
    return tuple(f"{t // 60:02d}:{t % 60:02d}" for t in times)


_SERVICES: tuple[_Service, ...] = (
    _Service(
        "LIV",
        "OLB",
        "Moby",
        480,
        (1, 2, 3),
        ("22:00", "08:30", "13:00"),
        ("21:30", "08:00", "12:30"),
        2200,
        750,
        49.0,
    ),
    _Service(
        "LIV",
        "BAS",
        "Moby",
        240,
        (1, 2, 3),
        ("08:00", "14:30", "22:30"),
        ("13:30", "08:00", "19:00"),
        1800,
        600,
        39.0,
    ),
    _Service(
        "PIO",
        "PFE",
        "Moby",
        60,
        (8, 12, 18),
        _every("06:00", 18, 50),
        _every("06:30", 18, 50),
        1200,
        250,
        16.0,
    ),
    _Service(
        "GOA",
        "OLB",
        "Moby",
        600,
        (1, 1, 2),
        ("20:30", "09:00"),
        ("20:00", "09:30"),
        2500,
        850,
        59.0,
    ),
    _Service(
        "GOA",
        "PTO",
        "Tirrenia",
        660,
        (1, 1, 2),
        ("20:00", "08:30"),
        ("20:30", "09:00"),
        2600,
        900,
        58.0,
    ),
    _Service(
        "GOA",
        "BAS",
        "Moby",
        300,
        (0, 1, 2),
        ("08:00", "21:00"),
        ("14:00", "07:30"),
        1800,
        600,
        44.0,
    ),
    _Service(
        "CIV",
        "OLB",
        "Moby",
        360,
        (1, 2, 3),
        ("22:30", "09:00", "14:30"),
        ("22:30", "10:00", "16:00"),
        2300,
        800,
        45.0,
    ),
    _Service(
        "PIO",
        "OLB",
        "Moby",
        330,
        (0, 1, 2),
        ("08:30", "21:30"),
        ("15:00", "22:30"),
        2000,
        700,
        47.0,
    ),
    _Service(
        "LIV",
        "GAR",
        "Sardinia Ferries",
        390,
        (0, 1, 2),
        ("08:00", "22:00"),
        ("09:00", "22:30"),
        1900,
        650,
        46.0,
    ),
    _Service("CIV", "CAG", "Tirrenia", 870, (1, 1, 1), ("18:00",), ("19:00",), 2700, 900, 62.0),
    _Service("CIV", "ARB", "Tirrenia", 630, (0, 1, 1), ("18:30",), ("20:00",), 2200, 700, 55.0),
    _Service(
        "STE",
        "BON",
        "Moby",
        60,
        (2, 4, 6),
        _every("07:00", 6, 150),
        _every("08:30", 6, 150),
        500,
        110,
        22.0,
    ),
)


def _both_directions(service: _Service) -> tuple[Route, Route]:
    for code in (service.origin, service.destination):
        port_named(code)
    return _one_direction(service, outbound=True), _one_direction(service, outbound=False)


def _one_direction(service: _Service, *, outbound: bool) -> Route:
    origin, destination = (
        (service.origin, service.destination) if outbound else (service.destination, service.origin)
    )
    return Route(
        route_id=f"{origin}-{destination}",
        origin=origin,
        destination=destination,
        operator=service.operator,
        duration_min=service.duration_min,
        sailings_per_day=service.sailings_per_day,
        slots=service.slots if outbound else service.reverse_slots,
        capacity_passengers=service.capacity_passengers,
        capacity_cars=service.capacity_cars,
        base_fare_eur=service.base_fare_eur,
        outbound=outbound,
    )


def all_routes() -> tuple[Route, ...]:
    """Every route: each outbound route at an even position, its return right after it."""
    return tuple(route for service in _SERVICES for route in _both_directions(service))
