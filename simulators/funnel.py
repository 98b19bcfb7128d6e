"""The booking funnel: search, quote, book and, now and then, cancel.

A session starts with a search for one of the customer's favourite routes (sometimes
another route, sometimes the return direction) and a travel date; some searches lead to
a quote for a sailing near that date at its current fare, some quotes to a booking. A
booking takes seats on the sailing (raising its load factor and fare) and a cancellation
gives them back. Steps after the search are stateful, so they are handed to the run as
timed steps and carried out in time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from offers.contracts import BookingEvent, Event, SailingUpdate
from simulators.customers import Customers, customer_id
from simulators.routes import Route
from simulators.sailings import SailingLoads, sailing_update_fields
from simulators.timeline import DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS, utc_of

SALES_CHANNELS: tuple[str, ...] = ("app", "web", "call_center", "agency")
_SALES_SHARES = (0.55, 0.35, 0.07, 0.03)
_LAST_BOOKING_BEFORE_MS = 30 * MINUTE_MS


@dataclass(frozen=True, slots=True)
class QuoteStep:
    customer: int
    route: int
    target_ms: int
    passengers: int
    cars: int
    sales_channel: str


@dataclass(frozen=True, slots=True)
class BookStep:
    customer: int
    sailing: int
    passengers: int
    cars: int
    price_eur: float
    sales_channel: str


@dataclass(frozen=True, slots=True)
class CancelStep:
    customer: int
    sailing: int
    passengers: int
    cars: int
    booking_ref: str
    sales_channel: str


FunnelStep = QuoteStep | BookStep | CancelStep


class Outbox(Protocol):
    """Where the funnel puts what it produces."""

    def event(self, time_ms: int, cls: type[Event], fields: dict[str, Any]) -> None: ...

    def step(self, time_ms: int, step: object) -> None: ...

    def booking_ref(self) -> str: ...


@dataclass(frozen=True, slots=True)
class FunnelRates:
    quote_probability: float
    cancel_probability: float
    horizon_ms: int


def start_sessions(
    rng: np.random.Generator,
    customers: Customers,
    routes: tuple[Route, ...],
    who: npt.NDArray[np.int64],
    times: npt.NDArray[np.int64],
    rates: FunnelRates,
    out: Outbox,
) -> None:
    """A search by each customer in ``who`` at ``times``; some continue to a quote."""
    count = len(who)
    pick = rng.random(count)
    favourite = customers.favourite_routes[who, (pick >= 0.6).astype(np.int64)].astype(np.int64)
    other = rng.integers(0, len(routes) // 2, count) * 2
    route = np.where(pick < 0.8, favourite, other) + (rng.random(count) < 0.25)
    lead = np.clip(rng.gamma(1.5, 8.0, count) * DAY_MS, 0.3 * DAY_MS, rates.horizon_ms - HOUR_MS)
    target = times + lead.astype(np.int64)
    sales = rng.choice(len(SALES_CHANNELS), size=count, p=_SALES_SHARES)
    quoting = rng.random(count) < rates.quote_probability
    delay = rng.integers(20 * SECOND_MS, 240 * SECOND_MS, count)
    for k in range(count):
        i = int(who[k])
        passengers = int(customers.party_size[i])
        cars = int(customers.has_car[i])
        out.event(
            int(times[k]),
            BookingEvent,
            {
                "customer_id": customer_id(i),
                "action": "search",
                "route_id": routes[int(route[k])].route_id,
                "departure_date": _midnight(int(target[k])),
                "passengers": passengers,
                "cars": cars,
                "sales_channel": SALES_CHANNELS[int(sales[k])],
            },
        )
        if quoting[k]:
            out.step(
                int(times[k] + delay[k]),
                QuoteStep(
                    i,
                    int(route[k]),
                    int(target[k]),
                    passengers,
                    cars,
                    SALES_CHANNELS[int(sales[k])],
                ),
            )


def _midnight(ms: int) -> datetime:
    return utc_of(ms // DAY_MS * DAY_MS)


def book_probability(price_sensitivity: float, fare_ratio: float, propensity: float) -> float:
    """Chance that a quote turns into a booking.

    ``0.3 * exp(-1.5 * sensitivity * max(fare_ratio - 0.85, 0)) * (0.6 + 0.4 min(p, 2) / 2)``
    where ``fare_ratio`` is the fare over the sailing's seasonal fare.
    """
    price = np.exp(-1.5 * price_sensitivity * max(fare_ratio - 0.85, 0.0))
    return float(0.3 * price * (0.6 + 0.2 * min(propensity, 2.0)))


def do_quote(
    rng: np.random.Generator,
    now_ms: int,
    step: QuoteStep,
    loads: SailingLoads,
    published_until_ms: int,
    customers: Customers,
    out: Outbox,
) -> None:
    """Quote a sailing near the wished date (abandon if none has room)."""
    s = loads.schedule
    candidates = s.departing_between(
        max(step.target_ms - DAY_MS, now_ms + HOUR_MS),
        min(step.target_ms + DAY_MS, published_until_ms),
    )
    candidates = candidates[s.route[candidates] == step.route]
    open_ = [int(i) for i in candidates if loads.has_room(int(i), step.passengers, step.cars)]
    if not open_:
        return
    sailing = open_[int(rng.integers(len(open_)))]
    price = loads.price(sailing, now_ms, step.passengers, step.cars)
    out.event(now_ms, BookingEvent, _fields(step, "quote", sailing, price, loads))
    ratio = loads.fare(sailing, now_ms) / float(s.seasonal_fare[sailing])
    chance = book_probability(
        float(customers.price_sensitivity[step.customer]),
        ratio,
        float(customers.travel_propensity[step.customer]),
    )
    if rng.random() < chance:
        when = now_ms + int(rng.integers(60 * SECOND_MS, 900 * SECOND_MS))
        out.step(
            when,
            BookStep(step.customer, sailing, step.passengers, step.cars, price, step.sales_channel),
        )


def do_book(
    rng: np.random.Generator,
    now_ms: int,
    step: BookStep,
    loads: SailingLoads,
    rates: FunnelRates,
    out: Outbox,
) -> str | None:
    """Book the quoted sailing if it still has room; returns the booking reference."""
    departure = int(loads.schedule.departure_ms[step.sailing])
    if departure - now_ms < _LAST_BOOKING_BEFORE_MS or not loads.has_room(
        step.sailing, step.passengers, step.cars
    ):
        return None
    reference = out.booking_ref()
    loads.add_customer_booking(step.sailing, step.passengers, step.cars)
    fields = _fields(step, "book", step.sailing, step.price_eur, loads)
    out.event(now_ms, BookingEvent, {**fields, "booking_ref": reference})
    _sailing_changed(rng, now_ms, step.sailing, loads, out)
    latest = departure - 2 * HOUR_MS
    if rng.random() < rates.cancel_probability and latest > now_ms + HOUR_MS:
        when = int(rng.integers(now_ms + HOUR_MS, latest))
        out.step(
            when,
            CancelStep(
                step.customer,
                step.sailing,
                step.passengers,
                step.cars,
                reference,
                step.sales_channel,
            ),
        )
    return reference


def do_cancel(
    rng: np.random.Generator, now_ms: int, step: CancelStep, loads: SailingLoads, out: Outbox
) -> None:
    """Cancel a booking and give its seats back."""
    loads.add_customer_booking(step.sailing, -step.passengers, -step.cars)
    fields = _fields(step, "cancel", step.sailing, None, loads)
    out.event(now_ms, BookingEvent, {**fields, "booking_ref": step.booking_ref})
    _sailing_changed(rng, now_ms, step.sailing, loads, out)


def _sailing_changed(
    rng: np.random.Generator, now_ms: int, sailing: int, loads: SailingLoads, out: Outbox
) -> None:
    when = now_ms + int(rng.integers(SECOND_MS, 3 * SECOND_MS))
    out.event(when, SailingUpdate, sailing_update_fields(loads, sailing, when, "scheduled"))


def _fields(
    step: FunnelStep,
    action: str,
    sailing: int,
    price: float | None,
    loads: SailingLoads,
) -> dict[str, Any]:
    s = loads.schedule
    fields: dict[str, Any] = {
        "customer_id": customer_id(step.customer),
        "action": action,
        "route_id": s.routes[int(s.route[sailing])].route_id,
        "sailing_id": s.sailing_ids[sailing],
        "departure_date": _midnight(int(s.departure_ms[sailing])),
        "passengers": step.passengers,
        "cars": step.cars,
        "sales_channel": step.sales_channel,
    }
    if price is not None:
        fields["price_eur"] = price
    return fields
