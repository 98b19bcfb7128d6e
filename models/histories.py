"""What the online store would hold for simulated customers at the moment of a trigger.

For each moment (a customer, a trigger, a time), the functions here and in
``models.signals`` draw the customer's recent activity from the simulator's own rates and
functions and return it twice: as the online feature columns the engine would read
(names of ``features.fields``, ``None`` or NaN where the customer has no row in a view)
and as the facts the ground-truth response model needs (where the customer really is,
whether they searched or quoted recently, which route a search or a trip was for). This
module holds the moments and the booking view; ``models.signals`` the location and social
views.

Taken from the simulator as it is: the customer population and traits
(``simulators.customers``), the search sessions and their routes and travel dates
(``simulators.funnel.start_sessions``), the chance that a quote becomes a booking
(``funnel.book_probability``), the sentiment of posts (``social.draw_sentiments``), the
everyday position around home (``geo.jitter_km``) and the rates of ``ActivityRates``.

Approximated, not replayed event by event:

- booking history: sessions over a tenure of 30 to 730 days at the customer's search
  rate (average month), quotes, bookings and cancellations drawn as binomials with the
  simulator's probabilities; a booking's price is the favourite route's base fare times
  a seasonal factor times the party (cars at 90 %); the last booking is the latest of
  uniformly spread bookings;
- the 24-hour funnel: the sessions of the day before the request, with their quotes and
  bookings taken as done before the request; a SEARCH trigger's own search has no quote
  yet, an ABANDONED_QUOTE trigger's own session ends in a quote without a booking;
- windowed features are as of the request: in production the views are computed at the
  customer's latest event, so a 24-hour count can be days old; that staleness is not
  simulated;
- location (only customers who share it): a GEOFENCE_ENTER trigger puts the customer at
  the edge of the geofence of a port of one of their favourite routes, arriving for a
  departure 20 to 100 minutes later, with about 8 to 20 pings in the hour; otherwise the
  last ping is an everyday ping near home, a few hours old; ``dwell_s`` is 0;
- social: posts of 7 days at the customer's posting rate; the lexicon scores the
  simulator's posts exactly +1, -1 and 0 by their true sentiment, and each post names one
  brand plus the ``#mobylines`` tag three times in ten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from models.vocabulary import ROUTE_CODES, ROUTES, TRIGGER_CODES
from offers.campaigns.targeting import Trigger
from offers.contracts import Event
from simulators.customers import Customers
from simulators.funnel import FunnelRates, book_probability, start_sessions
from simulators.routes import Route, demand_factor
from simulators.sailings import fare_eur
from simulators.timeline import DAY_MS, HOUR_MS, MINUTE_MS, ms_of
from simulators.world import ActivityRates

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Columns = dict[str, Any]

RATES = ActivityRates()
_MEAN_DEMAND = float(np.mean([demand_factor(month) for month in range(1, 13)]))
SEARCH = TRIGGER_CODES[Trigger.SEARCH]
ABANDONED_QUOTE = TRIGGER_CODES[Trigger.ABANDONED_QUOTE]
GEOFENCE_ENTER = TRIGGER_CODES[Trigger.GEOFENCE_ENTER]
POSITIVE_SOCIAL_MENTION = TRIGGER_CODES[Trigger.POSITIVE_SOCIAL_MENTION]


@dataclass(frozen=True, slots=True)
class Moments:
    """Triggers: entry ``t`` of every array is one (customer, trigger, time)."""

    customer: IntArray
    """Index of the customer in the population."""
    trigger: IntArray
    """Code in ``models.vocabulary.TRIGGERS``."""
    request_ms: IntArray
    local_hour: IntArray
    month: IntArray
    """Month (1-12) of the request."""

    def __len__(self) -> int:
        return len(self.customer)


@dataclass(frozen=True, slots=True)
class Lead:
    """A route a moment points at, and the hours from the request to its departure."""

    route: IntArray
    """Code in ``models.vocabulary.ROUTES``, -1 where the moment points at none."""
    hours: FloatArray


@dataclass(frozen=True, slots=True)
class Histories:
    """The booking history of each customer of the population (not of each moment)."""

    sessions: IntArray
    bookings: IntArray
    cancellations: IntArray
    spend_eur: FloatArray
    last_booking_days: FloatArray
    """Days from the last booking to a request, NaN without bookings."""
    price_eur: FloatArray
    """Typical price of one of the customer's bookings."""


def draw_histories(
    rng: np.random.Generator, people: Customers, routes: tuple[Route, ...]
) -> Histories:
    """Booking histories over each customer's tenure (see the module's approximations)."""
    count = len(people)
    tenure = rng.uniform(30.0, 730.0, count)
    relative = people.travel_propensity / float(people.travel_propensity.mean())
    sessions = rng.poisson(RATES.search_sessions_per_day * relative * tenure * _MEAN_DEMAND)
    quotes = rng.binomial(sessions, RATES.quote_probability)
    ratio = fare_eur(1.0, rng.uniform(0.2, 0.9, count), 10.0)
    chance = np.array(
        [
            book_probability(float(s), float(r), float(p))
            for s, r, p in zip(
                people.price_sensitivity, ratio, people.travel_propensity, strict=True
            )
        ]
    )
    bookings = rng.binomial(quotes, chance)
    cancellations = rng.binomial(bookings, RATES.cancel_probability)
    base_fare = np.array([route.base_fare_eur for route in routes])[people.favourite_routes[:, 0]]
    party = people.party_size + 0.9 * people.has_car
    price = np.round(base_fare * rng.uniform(0.7, 1.6, count) * party, 2)
    latest = tenure * rng.beta(1.0, np.maximum(bookings, 1))
    return Histories(
        sessions=sessions,
        bookings=bookings,
        cancellations=cancellations,
        spend_eur=np.round((bookings - cancellations) * price, 2),
        last_booking_days=np.where(bookings > 0, latest, np.nan),
        price_eur=price,
    )


class _SessionLog:
    """An outbox for ``start_sessions`` that keeps the route, travel date and quote of each
    session (in the order of the customers given)."""

    def __init__(self) -> None:
        self.routes: list[int] = []
        self.departure_ms: list[int] = []
        self.quoted: list[bool] = []

    def event(self, time_ms: int, cls: type[Event], fields: dict[str, Any]) -> None:
        self.routes.append(ROUTE_CODES[fields["route_id"]])
        self.departure_ms.append(ms_of(fields["departure_date"]))
        self.quoted.append(False)

    def step(self, time_ms: int, step: object) -> None:
        self.quoted[-1] = True

    def booking_ref(self) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class _Sessions:
    moment: IntArray
    time_ms: IntArray
    route: IntArray
    departure_ms: IntArray
    quoted: BoolArray
    booked: BoolArray
    own: BoolArray
    """The session of the trigger itself."""


def _sessions(
    rng: np.random.Generator,
    people: Customers,
    routes: tuple[Route, ...],
    moments: Moments,
    quote_probability: float,
    which: IntArray,
    offsets_ms: IntArray,
) -> tuple[IntArray, IntArray, BoolArray]:
    """Route, travel date and quote of a search by the customer of each moment ``which``."""
    log = _SessionLog()
    rates = FunnelRates(quote_probability, RATES.cancel_probability, 21 * DAY_MS)
    times = moments.request_ms[which] - offsets_ms
    start_sessions(rng, people, routes, moments.customer[which], times, rates, log)
    return (
        np.array(log.routes, np.int64),
        np.array(log.departure_ms, np.int64),
        np.array(log.quoted, bool),
    )


def _day_sessions(
    rng: np.random.Generator, people: Customers, routes: tuple[Route, ...], moments: Moments
) -> _Sessions:
    """The search sessions of the 24 hours before each moment, the trigger's own included."""
    relative = people.travel_propensity / float(people.travel_propensity.mean())
    demand = np.array([demand_factor(int(m)) for m in range(1, 13)])[moments.month - 1]
    rate = RATES.search_sessions_per_day * relative[moments.customer] * demand
    background = np.repeat(np.arange(len(moments)), rng.poisson(rate))
    searched = np.flatnonzero(moments.trigger == SEARCH)
    abandoned = np.flatnonzero(moments.trigger == ABANDONED_QUOTE)
    groups = (
        (background, RATES.quote_probability, rng.integers(0, DAY_MS, len(background))),
        (searched, 0.0, rng.integers(0, 10 * MINUTE_MS, len(searched))),
        (abandoned, 1.0, rng.integers(30 * MINUTE_MS, 3 * HOUR_MS, len(abandoned))),
    )
    parts = [
        (which, offsets, *_sessions(rng, people, routes, moments, q, which, offsets))
        for which, q, offsets in groups
    ]
    which = np.concatenate([p[0] for p in parts])
    quoted = np.concatenate([p[4] for p in parts])
    customer = moments.customer[which]
    ratio = fare_eur(1.0, rng.uniform(0.2, 0.9, len(which)), 10.0)
    chance = np.array(
        [
            book_probability(
                float(people.price_sensitivity[c]), float(r), float(people.travel_propensity[c])
            )
            for c, r in zip(customer, ratio, strict=True)
        ]
    )
    own = np.concatenate(
        [np.zeros(len(background), bool), np.ones(len(searched) + len(abandoned), bool)]
    )
    booked = quoted & ~own & (rng.random(len(which)) < chance)
    return _Sessions(
        moment=which,
        time_ms=moments.request_ms[which] - np.concatenate([p[1] for p in parts]),
        route=np.concatenate([p[2] for p in parts]),
        departure_ms=np.concatenate([p[3] for p in parts]),
        quoted=quoted,
        booked=booked,
        own=own,
    )


def funnel_columns(
    rng: np.random.Generator,
    people: Customers,
    routes: tuple[Route, ...],
    moments: Moments,
    histories: Histories,
) -> tuple[Columns, Lead]:
    """The booking view of each moment, and the route and travel date of its own search."""
    s = _day_sessions(rng, people, routes, moments)
    size = len(moments)
    searches = np.bincount(s.moment, minlength=size)
    quotes = np.bincount(s.moment, weights=s.quoted, minlength=size)
    booked = np.bincount(s.moment, weights=s.booked, minlength=size)
    abandoned = quotes - booked
    counts = np.zeros((size, len(ROUTES)))
    np.add.at(counts, (s.moment, s.route), 1.0 + s.quoted)
    recent_booking = np.full(size, -np.inf)
    np.maximum.at(recent_booking, s.moment[s.booked], s.time_ms[s.booked].astype(np.float64))
    c = moments.customer
    history_ms = moments.request_ms - histories.last_booking_days[c] * DAY_MS
    last_ms = np.fmax(np.where(np.isfinite(recent_booking), recent_booking, np.nan), history_ms)
    present = (histories.sessions[c] > 0) | (searches > 0)
    columns: Columns = {
        "searches_24h": searches,
        "quotes_24h": quotes,
        "abandoned_quotes_24h": abandoned,
        "last_booking_ts": np.where(np.isfinite(last_ms), np.floor(last_ms / 1000.0), 0.0),
        "bookings_total": histories.bookings[c] + booked,
        "spend_total_eur": histories.spend_eur[c] + booked * histories.price_eur[c],
        "cancellations_total": histories.cancellations[c],
    }
    for name in list(columns):
        columns[name] = np.where(present, np.asarray(columns[name], np.float64), np.nan)
    columns["routes_24h"], columns["route_counts_24h"] = _route_lists(counts, present)
    lead = Lead(np.full(size, -1, np.int64), np.full(size, np.nan))
    mine = np.flatnonzero(s.own)
    lead.route[s.moment[mine]] = s.route[mine]
    slot = rng.uniform(6.0, 23.0, len(mine))
    hours = (s.departure_ms[mine] - moments.request_ms[s.moment[mine]]) / HOUR_MS + slot
    lead.hours[s.moment[mine]] = np.maximum(hours, 1.0)
    return columns, lead


def _route_lists(
    counts: FloatArray, present: BoolArray
) -> tuple[list[list[str] | None], list[list[int] | None]]:
    """``routes_24h`` (sorted) and ``route_counts_24h`` of each row of ``counts``."""
    order = sorted(range(len(ROUTES)), key=ROUTES.__getitem__)
    ordered = counts[:, order]
    names: list[list[str] | None] = []
    numbers: list[list[int] | None] = []
    for row, here in zip(ordered, present, strict=True):
        if not here:
            names.append(None)
            numbers.append(None)
            continue
        nonzero = np.flatnonzero(row)
        names.append([ROUTES[order[k]] for k in nonzero])
        numbers.append([int(n) for n in row[nonzero]])
    return names, numbers
