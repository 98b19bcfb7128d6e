"""The simulated world: its configuration, what it is built of, and its event stream.

``World(config).events()`` yields contract events in non-decreasing ``event_time``
order. The same configuration always yields the same events, byte for byte once
encoded: every random draw comes from a ``numpy`` PCG64 generator seeded from the
configured seed and the (day, hour, activity) it is drawn for, and event ids come from
a fingerprint of the configuration and a counter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import orjson

from offers.contracts import Event, ValidationClock
from simulators.customers import Customers, generate_customers
from simulators.routes import Route, all_routes
from simulators.sailings import Schedule, build_schedule
from simulators.simulation import Run
from simulators.timeline import ms_of

MIN_CUSTOMERS = 1_000
MAX_CUSTOMERS = 1_000_000
DEFAULT_START = datetime(2026, 7, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ActivityRates:
    """How active customers are, per customer and per day unless said otherwise."""

    search_sessions_per_day: float = 0.08
    """Booking searches per customer per day (an average month; scaled by season)."""
    quote_probability: float = 0.6
    """Share of searches followed by a quote."""
    cancel_probability: float = 0.06
    """Share of bookings cancelled before departure."""
    social_scale: float = 1.0
    """Multiplier of each customer's own posting rate (about 0.03 posts a day)."""
    ambient_pings_per_day: float = 3.0
    """Everyday location pings per customer who shares their location."""
    trips_per_day: float = 0.01
    """Tracked trips to a port per customer per day (an average month)."""
    ping_interval_s: float = 180.0
    """Seconds between two pings of a trip (varies by +-20 %)."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not 0.0 <= value <= 1_000.0:
                raise ValueError(f"{name}: must be between 0 and 1000, got {value}")
        for name in ("quote_probability", "cancel_probability"):
            if getattr(self, name) > 1.0:
                raise ValueError(f"{name}: must be a probability, got {getattr(self, name)}")
        if self.ping_interval_s < 10.0:
            raise ValueError(f"ping_interval_s: must be at least 10, got {self.ping_interval_s}")


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """Everything that determines the event stream."""

    seed: int = 7
    customers: int = 1_000
    start: datetime = DEFAULT_START
    """First instant simulated (UTC, on a whole hour); by default a date in the past."""
    days: int = 1
    booking_horizon_days: int = 21
    """How far ahead sailings are on sale (and published)."""
    rates: ActivityRates = field(default_factory=ActivityRates)

    def __post_init__(self) -> None:
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed: must be between 0 and 2**63 - 1, got {self.seed}")
        if not MIN_CUSTOMERS <= self.customers <= MAX_CUSTOMERS:
            raise ValueError(
                f"customers: must be {MIN_CUSTOMERS:,}..{MAX_CUSTOMERS:,}, got {self.customers:,}"
            )
        if self.start.tzinfo is None:
            raise ValueError("start: must be timezone-aware")
        if self.start.minute or self.start.second or self.start.microsecond:
            raise ValueError(f"start: must be on a whole hour, got {self.start.isoformat()}")
        if not 1 <= self.days <= 366:
            raise ValueError(f"days: must be 1..366, got {self.days}")
        if not 2 <= self.booking_horizon_days <= 120:
            raise ValueError(
                f"booking_horizon_days: must be 2..120, got {self.booking_horizon_days}"
            )

    @property
    def start_ms(self) -> int:
        return ms_of(self.start)

    @property
    def end(self) -> datetime:
        """The instant the simulated period ends (exclusive)."""
        return self.start.astimezone(UTC) + timedelta(days=self.days)

    def fingerprint(self) -> str:
        """Short hash of everything but ``days``: prefixes event and booking ids.

        Leaving out the length keeps the stream of a shorter period a prefix of a longer
        one, ids included.
        """
        data = {**asdict(self), "days": None, "start": self.start.astimezone(UTC).isoformat()}
        return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:10]


class World:
    """Ports, routes, the schedule and the customers of a configuration."""

    def __init__(self, config: WorldConfig) -> None:
        self.config = config
        self.routes: tuple[Route, ...] = all_routes()
        first = (config.start.astimezone(UTC) - timedelta(days=1)).date()
        last = (config.end + timedelta(days=config.booking_horizon_days + 1)).date()
        self.schedule: Schedule = build_schedule(self.routes, first, last, config.seed)
        self.customers: Customers = generate_customers(config.customers, config.seed, self.routes)
        self.sharing: npt.NDArray[np.int64] = np.flatnonzero(self.customers.location_sharing)
        self.route_fans: tuple[npt.NDArray[np.int64], ...] = tuple(
            self._fans_of(pair) for pair in range(0, len(self.routes), 2)
        )
        self.search_weights = np.cumsum(self.customers.travel_propensity, dtype=np.float64)
        self.social_weights = np.cumsum(self.customers.social_activity, dtype=np.float64)

    def _fans_of(self, outbound_route: int) -> npt.NDArray[np.int64]:
        """Customers sharing their location whose favourites include this service."""
        favourite = (self.customers.favourite_routes == outbound_route).any(axis=1)
        fans = np.flatnonzero(favourite & self.customers.location_sharing)
        return fans if len(fans) else self.sharing

    def events(self, clock: ValidationClock | None = None) -> Iterator[Event]:
        """The event stream of the configured period (a fresh run on every call).

        Events are validated against their contract with ``clock``; by default the clock
        stands at the end of the simulated period.
        """
        clock = clock or ValidationClock(now=self.config.end)
        return Run(self, clock).events()
