"""One run of the world, hour by hour.

Each simulated hour first plans what customers do (everyday pings, posts, searches,
trips to ports) and then carries out the stateful steps due in the hour (quotes,
bookings, cancellations, sailing publication, inventory syncs and departures) in time
order. Events are buffered as light tuples; those stamped before the end of the hour
are sorted, validated into contract events and yielded, the rest (the tail of a trip,
say) wait for the next hour. Nothing stamped after the end of the period is yielded.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from offers.contracts import Event, LocationPing, SailingUpdate, SocialPost, ValidationClock
from simulators.customers import customer_id, language_code
from simulators.funnel import (
    BookStep,
    CancelStep,
    FunnelRates,
    QuoteStep,
    do_book,
    do_cancel,
    do_quote,
    start_sessions,
)
from simulators.ports import port_named
from simulators.routes import demand_factor
from simulators.sailings import SailingLoads, sailing_update_fields
from simulators.social import compose_post, draw_sentiments
from simulators.timeline import (
    DAY_MS,
    HOUR_MS,
    SECOND_MS,
    ambient_share,
    search_share,
    social_share,
    utc_of,
)
from simulators.trips import MAX_TRIP_LEAD_MS, TripPlan, ambient_pings, trip_pings

if TYPE_CHECKING:
    from simulators.world import World

PendingEvent = tuple[int, int, type[Event], dict[str, Any]]
"""An event to be built: time (ms), sequence number (ties), class and fields."""

_ROME = ZoneInfo("Europe/Rome")
_SYNC_STRIDE_MS = 7_919 * SECOND_MS
_TRIP_WINDOW_MS = 3 * HOUR_MS
_DAILY_SYNC_MS = 7 * DAY_MS
_HOUR_STREAM = 101
_SHORT_CROSSING_MIN = 90
AMBIENT, SOCIAL, SEARCH, TRIPS, STEPS = range(5)
"""Activities, each with its own random stream per hour."""


@dataclass(frozen=True, slots=True)
class SyncStep:
    sailing: int


@dataclass(frozen=True, slots=True)
class DepartStep:
    sailing: int


class Run:
    """The mutable state of one pass over the configured period."""

    def __init__(self, world: World, clock: ValidationClock) -> None:
        self.world = world
        self.config = world.config
        self.context = {"clock": clock}
        self.prefix = self.config.fingerprint()
        self.loads = SailingLoads(world.schedule)
        self.buffer: list[PendingEvent] = []
        self.steps: list[tuple[int, int, object]] = []
        self.sequence = 0
        self.bookings = 0
        self.emitted = 0
        self.published_until_ms = self.config.start_ms
        self.travellers: dict[int, dict[str, int]] = {}
        self.funnel_rates = FunnelRates(
            quote_probability=self.config.rates.quote_probability,
            cancel_probability=self.config.rates.cancel_probability,
            horizon_ms=self.config.booking_horizon_days * DAY_MS,
        )

    # -- the outbox the activity modules write to

    def event(self, time_ms: int, cls: type[Event], fields: dict[str, Any]) -> None:
        self.sequence += 1
        self.buffer.append((time_ms, self.sequence, cls, fields))

    def step(self, time_ms: int, step: object) -> None:
        self.sequence += 1
        heapq.heappush(self.steps, (time_ms, self.sequence, step))

    def booking_ref(self) -> str:
        self.bookings += 1
        return f"bk-{self.prefix}-{self.bookings:08d}"

    # -- the hourly loop

    def rng(self, hour: int, activity: int) -> np.random.Generator:
        day, hour_of_day = divmod(hour, 24)
        seed = np.random.SeedSequence([self.config.seed, _HOUR_STREAM, day, hour_of_day, activity])
        return np.random.Generator(np.random.PCG64(seed))

    def events(self) -> Iterator[Event]:
        start = self.config.start_ms
        end = start + self.config.days * DAY_MS
        for hour in range(self.config.days * 24):
            hour_start = start + hour * HOUR_MS
            hour_end = min(hour_start + HOUR_MS, end)
            if hour % 24 == 0:
                self._start_day(hour, hour_start)
            self._plan_hour(hour, hour_start)
            self._carry_out_steps(hour, hour_end)
            self.buffer.sort()
            cut = bisect_left(self.buffer, hour_end, key=lambda pending: pending[0])
            ready, self.buffer = self.buffer[:cut], self.buffer[cut:]
            yield from (self._build(pending) for pending in ready)

    def _build(self, pending: PendingEvent) -> Event:
        time_ms, _, cls, fields = pending
        self.emitted += 1
        fields["event_id"] = f"ev-{self.prefix}-{self.emitted:09d}"
        fields["event_time"] = utc_of(time_ms)
        return cls.model_validate(fields, context=self.context)

    # -- what happens once a day

    def _start_day(self, hour: int, day_start: int) -> None:
        """Publish the sailings entering the booking window; plan syncs and departures."""
        s = self.world.schedule
        window_end = day_start + self.funnel_rates.horizon_ms
        fresh = s.departing_between(self.published_until_ms, window_end)
        self.loads.sync_background(fresh, day_start, np.zeros(len(fresh)))
        for i in fresh:
            self.event(
                day_start,
                SailingUpdate,
                sailing_update_fields(self.loads, int(i), day_start, "scheduled"),
            )
        self.published_until_ms = max(self.published_until_ms, window_end)
        offset = self.config.seed % DAY_MS
        day = hour // 24
        for i in s.departing_between(day_start, window_end):
            sync_at = day_start + (int(i) * _SYNC_STRIDE_MS + offset) % DAY_MS
            departure = int(s.departure_ms[i])
            # daily in the last week before departure, every third day before that
            due = departure - day_start < _DAILY_SYNC_MS or (day + int(i)) % 3 == 0
            if due and sync_at < departure - HOUR_MS:
                self.step(sync_at, SyncStep(int(i)))
            if departure < day_start + DAY_MS:
                self.step(departure, DepartStep(int(i)))

    # -- what customers do in an hour

    def _plan_hour(self, hour: int, hour_start: int) -> None:
        local_hour = utc_of(hour_start).astimezone(_ROME).hour
        month = utc_of(hour_start).month
        self._ambient(hour, hour_start, local_hour)
        self._social(hour, hour_start, local_hour)
        self._searches(hour, hour_start, local_hour, month)
        self._trips(hour, hour_start)

    def _who_and_when(
        self,
        rng: np.random.Generator,
        expected: float,
        cumulative: np.ndarray[Any, Any],
        hour_start: int,
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        count = int(rng.poisson(max(expected, 0.0)))
        draws = rng.random(count) * cumulative[-1]
        who = np.minimum(np.searchsorted(cumulative, draws, side="right"), len(cumulative) - 1)
        when = hour_start + rng.integers(0, HOUR_MS, count)
        return who.astype(np.int64), when.astype(np.int64)

    def _ambient(self, hour: int, hour_start: int, local_hour: int) -> None:
        rng = self.rng(hour, AMBIENT)
        sharing = self.world.sharing
        rate = self.config.rates.ambient_pings_per_day * ambient_share(local_hour)
        count = int(rng.poisson(len(sharing) * rate))
        who = sharing[rng.integers(0, len(sharing), count)]
        when = hour_start + rng.integers(0, HOUR_MS, count)
        ids = [customer_id(int(i)) for i in who]
        for time_ms, fields in ambient_pings(rng, self.world.customers, who, when, ids):
            self.event(time_ms, LocationPing, fields)

    def _social(self, hour: int, hour_start: int, local_hour: int) -> None:
        rng = self.rng(hour, SOCIAL)
        weights = self.world.social_weights
        expected = weights[-1] * self.config.rates.social_scale * social_share(local_hour)
        who, when = self._who_and_when(rng, expected, weights, hour_start)
        customers = self.world.customers
        sentiments = draw_sentiments(rng, customers.brand_affinity[who])
        for k, i in enumerate(who):
            route = self.world.routes[int(customers.favourite_routes[i, 0])]
            post = compose_post(rng, language_code(customers, int(i)), sentiments[k], route)
            self.event(int(when[k]), SocialPost, {"customer_id": customer_id(int(i)), **post})

    def _searches(self, hour: int, hour_start: int, local_hour: int, month: int) -> None:
        rng = self.rng(hour, SEARCH)
        weights = self.world.search_weights
        per_customer = self.config.rates.search_sessions_per_day / max(
            float(weights[-1]) / len(weights), 1e-9
        )
        expected = weights[-1] * per_customer * demand_factor(month) * search_share(local_hour)
        who, when = self._who_and_when(rng, expected, weights, hour_start)
        start_sessions(
            rng, self.world.customers, self.world.routes, who, when, self.funnel_rates, self
        )

    def _trips(self, hour: int, hour_start: int) -> None:
        """Trips to the sailings leaving three hours after this hour."""
        rng = self.rng(hour, TRIPS)
        s = self.world.schedule
        interval = int(self.config.rates.ping_interval_s * SECOND_MS)
        window = s.departing_between(
            hour_start + _TRIP_WINDOW_MS, hour_start + HOUR_MS + _TRIP_WINDOW_MS
        )
        for i in window:
            route = self.world.routes[int(s.route[i])]
            departure = int(s.departure_ms[i])
            short = route.duration_min <= _SHORT_CROSSING_MIN
            for traveller in self._travellers_of(rng, int(i)):
                plan = TripPlan(customer_id(traveller), port_named(route.origin), departure, short)
                for time_ms, fields in trip_pings(rng, plan, interval):
                    if time_ms >= departure - MAX_TRIP_LEAD_MS:
                        self.event(time_ms, LocationPing, fields)

    def _travellers_of(self, rng: np.random.Generator, sailing: int) -> list[int]:
        """Customers who booked this sailing in the run, and others who booked earlier."""
        s = self.world.schedule
        departure = int(s.departure_ms[sailing])
        day = s.departing_between(departure - DAY_MS // 2, departure + DAY_MS // 2)
        day_passengers = float(sum(self.loads.booked(int(j))[0] for j in day))
        share = self.loads.booked(sailing)[0] / max(day_passengers, 1.0)
        month = utc_of(departure).month
        expected = (
            self.config.rates.trips_per_day * self.config.customers * demand_factor(month) * share
        )
        fans = self.world.route_fans[int(s.route[sailing]) // 2]
        others = fans[rng.integers(0, len(fans), int(rng.poisson(expected)))]
        sharing = self.world.customers.location_sharing
        booked = [c for c in self.travellers.get(sailing, {}).values() if sharing[c]]
        return booked + [int(c) for c in others]

    # -- stateful steps, in time order

    def _carry_out_steps(self, hour: int, hour_end: int) -> None:
        rng = self.rng(hour, STEPS)
        while self.steps and self.steps[0][0] < hour_end:
            now, _, step = heapq.heappop(self.steps)
            self._carry_out(rng, now, step)

    def _carry_out(self, rng: np.random.Generator, now: int, step: object) -> None:
        loads = self.loads
        if isinstance(step, QuoteStep):
            do_quote(rng, now, step, loads, self.published_until_ms, self.world.customers, self)
        elif isinstance(step, BookStep):
            reference = do_book(rng, now, step, loads, self.funnel_rates, self)
            if reference is not None:
                self.travellers.setdefault(step.sailing, {})[reference] = step.customer
        elif isinstance(step, CancelStep):
            do_cancel(rng, now, step, loads, self)
            self.travellers.get(step.sailing, {}).pop(step.booking_ref, None)
        elif isinstance(step, SyncStep):
            release = rng.uniform(0.01, 0.05) if rng.random() < 0.08 else 0.0
            loads.sync_background(np.array([step.sailing]), now, np.array([release]))
            self.event(
                now, SailingUpdate, sailing_update_fields(loads, step.sailing, now, "scheduled")
            )
        elif isinstance(step, DepartStep):
            self.event(
                now, SailingUpdate, sailing_update_fields(loads, step.sailing, now, "departed")
            )
            self.travellers.pop(step.sailing, None)
        else:
            raise TypeError(f"unknown step {step!r}")
