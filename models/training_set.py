"""A labelled training set drawn from the simulated world and its ground truth.

:func:`simulated_training_set` samples customers from the simulated population, draws
moments at which the engine would consider offers for them (a trigger at a time of the
year and of the day), what the online store would hold for them then
(``models.histories``, ``models.signals``, which say what they approximate) and one to
eight candidate offers per moment. A candidate offers a route (after a search or on a
trip to a port, most often the searched or travelled one, else any route), a departure,
a channel (any of the four) and a campaign's offer (:data:`OFFER_SHARES`); the offered
sailing's load and fare follow the simulator's booking curve
(``sailings.background_load``) and fare rule (``sailings.fare_eur``). The rows are encoded
by ``models.features.FeatureEncoder`` from online feature columns of the shape the online
reader returns, as at serving time. Each row's label is a Bernoulli draw of the ground
truth, ``simulators.response.true_conversion_probabilities``, which is kept beside it as
the oracle's score.

The ground truth reads traits the engine never sees (price sensitivity, propensity to
travel, family, favourite routes, preferred channel) and the customer's true position
(also when it is not shared); the features only approximate them. It knows discounts in
percent and in EUR, so an onboard voucher counts as a EUR discount of half its amount
and an upgrade as a discount of what it is worth to the customer (``simulators.response``). Its
"recently searched / quoted" are the booking view's 24-hour searches and quotes.

Deterministic for a seed: every draw comes from one PCG64 generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from models.features import FeatureEncoder, FeatureMatrix
from models.histories import (
    BoolArray,
    FloatArray,
    IntArray,
    Lead,
    Moments,
    draw_histories,
    funnel_columns,
)
from models.inputs import Candidates, CustomerColumns
from models.signals import location_columns, social_columns
from models.vocabulary import (
    CHANNELS,
    OFFER_KIND_CODES,
    OFFER_KINDS,
    ROUTE_ORIGIN_LAT,
    ROUTE_ORIGIN_LON,
    ROUTES,
    TRIGGER_CODES,
    TRIGGERS,
)
from offers.campaigns.offer import OfferKind, Upgrade
from offers.campaigns.targeting import Trigger
from simulators import customers as population
from simulators.customers import generate_customers
from simulators.geo import haversine_km
from simulators.response import (
    UPGRADE_WORTH_EUR,
    VOUCHER_VALUE_SHARE,
    OfferContext,
    ResponseTraits,
    true_conversion_probabilities,
)
from simulators.routes import all_routes, demand_factor, fare_factor
from simulators.sailings import background_load, fare_eur
from simulators.timeline import DAY_MS, HOUR_MS, ambient_share, ms_of, search_share, social_share

TRAINING_STREAM = 41
"""Mixed into the seed so that the training draws differ from the world's."""
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
TRIGGER_SHARES: dict[Trigger, float] = {
    Trigger.GEOFENCE_ENTER: 0.20,
    Trigger.ABANDONED_QUOTE: 0.15,
    Trigger.SEARCH: 0.25,
    Trigger.POSITIVE_SOCIAL_MENTION: 0.10,
    Trigger.FARE_DROP: 0.15,
    Trigger.CAPACITY_RELEASED: 0.15,
}
"""How often each trigger starts a decision (GEOFENCE_ENTER only for shared locations)."""
OFFER_SHARES: dict[OfferKind, float] = {
    OfferKind.PERCENT_DISCOUNT: 0.45,
    OfferKind.FIXED_DISCOUNT: 0.25,
    OfferKind.UPGRADE: 0.15,
    OfferKind.ONBOARD_VOUCHER: 0.15,
}
PERCENTS = np.array([5, 10, 15, 20, 25, 30, 40, 50], dtype=np.float64)
FIXED_EUR = np.array([5, 10, 15, 20, 30, 50], dtype=np.float64)
VOUCHER_EUR = np.array([5, 10, 15, 20, 30], dtype=np.float64)
UPGRADE_COST_EUR: dict[Upgrade, float] = {
    Upgrade.RESERVED_SEAT: 3.0,
    Upgrade.PRIORITY_BOARDING: 2.0,
    Upgrade.CABIN: 20.0,
    Upgrade.PREMIUM_CABIN: 40.0,
}
"""What an upgrade costs the business, EUR."""
UPGRADES: dict[Upgrade, tuple[float, float]] = {
    upgrade: (UPGRADE_WORTH_EUR[upgrade], cost) for upgrade, cost in UPGRADE_COST_EUR.items()
}
"""What an upgrade is worth to the customer (the ground truth's) and costs the business."""
MAX_CANDIDATES = 8
LEAD_ROUTE_SHARE = 0.6
"""Share of the candidates of a search or a trip that offer the searched or travelled route."""
_BASE_FARE = np.array([route.base_fare_eur for route in all_routes()])
_FARE_FACTOR = np.array([fare_factor(month) for month in range(1, 13)])
_DEMAND = np.array([demand_factor(month) for month in range(1, 13)])


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """Encoded rows with their labels and the oracle's probabilities."""

    features: FeatureMatrix
    labels: npt.NDArray[np.int8]
    true_probability: FloatArray
    customer: IntArray
    """Index of each row's customer in the simulated population."""
    holdout: BoolArray
    """Rows of customers held out for evaluation (no customer is on both sides)."""
    customers: CustomerColumns
    candidates: Candidates
    description: dict[str, Any]

    def __len__(self) -> int:
        return len(self.labels)


def simulated_training_set(
    rows: int, seed: int, *, customers: int | None = None, holdout_share: float = 0.2
) -> TrainingSet:
    """``rows`` labelled candidates of ``customers`` simulated customers (by default one
    per eight rows, at least 1,000: the population of a ``WorldConfig`` of that seed and
    size), with ``holdout_share`` of the customers held out."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, TRAINING_STREAM])))
    routes = all_routes()
    count = customers if customers is not None else max(1_000, rows // 8)
    people = generate_customers(count, seed, routes)
    held_out = rng.random(count) < holdout_share
    per_moment = 1 + np.minimum(rng.poisson(1.5, rows), MAX_CANDIDATES - 1)
    moments_needed = int(np.searchsorted(np.cumsum(per_moment), rows)) + 1
    moments = draw_moments(rng, people, moments_needed)
    location, positions, trip = location_columns(rng, people, routes, moments)
    funnel, search = funnel_columns(
        rng, people, routes, moments, draw_histories(rng, people, routes)
    )
    online = {**location, **social_columns(rng, people, moments), **funnel}
    of = np.repeat(np.arange(moments_needed), per_moment[:moments_needed])[:rows]
    candidates, truth = _candidates(rng, moments, of, (search, trip))
    who = moments.customer[of]
    context = OfferContext(
        **truth,
        distance_km=haversine_km(
            positions.lat[of],
            positions.lon[of],
            ROUTE_ORIGIN_LAT[candidates.route],
            ROUTE_ORIGIN_LON[candidates.route],
        ),
        recently_searched=np.nan_to_num(online["searches_24h"][of]) > 0,
        recently_quoted=np.nan_to_num(online["quotes_24h"][of]) > 0,
    )
    probability = true_conversion_probabilities(ResponseTraits.of(people, who), context)
    labels = (rng.random(rows) < probability).astype(np.int8)
    customer_columns = CustomerColumns.from_columns(online)
    description = {
        "source": "simulated world (models.training_set)",
        "seed": seed,
        "rows": rows,
        "customers": count,
        "moments": moments_needed,
        "holdout_share": holdout_share,
        "positive_rate": round(float(labels.mean()), 5),
        "mean_true_probability": round(float(probability.mean()), 5),
    }
    return TrainingSet(
        features=FeatureEncoder().encode(customer_columns, candidates),
        labels=labels,
        true_probability=probability,
        customer=who,
        holdout=held_out[who],
        customers=customer_columns,
        candidates=candidates,
        description=description,
    )


def draw_moments(rng: np.random.Generator, people: population.Customers, count: int) -> Moments:
    """Who is considered for offers, on which trigger, when (any day of 2026).

    The local hour follows the simulator's activity profile of the trigger's signal
    (searches, posts, pings); fare and capacity changes come at any hour."""
    customer = rng.integers(0, len(people), count)
    shares = np.array([TRIGGER_SHARES[Trigger(name)] for name in TRIGGERS])
    trigger = rng.choice(len(TRIGGERS), size=count, p=shares / shares.sum())
    geofence = TRIGGER_CODES[Trigger.GEOFENCE_ENTER]
    hidden = (trigger == geofence) & ~people.location_sharing[customer]
    others = np.where(np.arange(len(TRIGGERS)) == geofence, 0.0, shares)
    trigger[hidden] = rng.choice(len(TRIGGERS), size=int(hidden.sum()), p=others / others.sum())
    hour = np.empty(count, dtype=np.int64)
    for code, name in enumerate(TRIGGERS):
        profile = _hour_profile(Trigger(name))
        chosen = trigger == code
        hour[chosen] = rng.choice(24, size=int(chosen.sum()), p=profile)
    day = rng.integers(0, 365, count)
    # local time is taken as UTC+1 (Italy in winter) to place the request on the clock
    request = (
        ms_of(YEAR_START) + day * DAY_MS + (hour - 1) * HOUR_MS + rng.integers(0, HOUR_MS, count)
    )
    return Moments(
        customer=customer.astype(np.int64),
        trigger=trigger.astype(np.int64),
        request_ms=request.astype(np.int64),
        local_hour=hour,
        month=_months(request),
    )


def _hour_profile(trigger: Trigger) -> FloatArray:
    share = {
        Trigger.SEARCH: search_share,
        Trigger.ABANDONED_QUOTE: search_share,
        Trigger.POSITIVE_SOCIAL_MENTION: social_share,
        Trigger.GEOFENCE_ENTER: ambient_share,
    }.get(trigger)
    weights = np.array([share(h) if share else 1.0 for h in range(24)])
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _months(ms: IntArray) -> IntArray:
    return np.asarray(
        ms.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64) % 12 + 1,
        dtype=np.int64,
    )


def _candidates(
    rng: np.random.Generator, moments: Moments, of: IntArray, leads: tuple[Lead, ...]
) -> tuple[Candidates, dict[str, Any]]:
    """The candidates of the moments ``of`` each row, and their ground-truth context."""
    rows = len(of)
    route = rng.integers(0, len(ROUTES), rows)
    hours = np.clip(rng.gamma(1.5, 8.0, rows), 0.3, 20.9) * 24.0
    for lead in leads:
        chosen = (lead.route[of] >= 0) & (rng.random(rows) < LEAD_ROUTE_SHARE)
        route = np.where(chosen, lead.route[of], route)
        hours = np.where(chosen, lead.hours[of], hours)
    request = moments.request_ms[of]
    departure = request + (hours * HOUR_MS).astype(np.int64)
    month = _months(departure)
    fare, load = _sailing_state(rng, route, month, departure, request, moments.trigger[of])
    channel = rng.integers(0, len(CHANNELS), rows)
    offer = _offers(rng, route, fare)
    candidates = Candidates(
        customer=of,
        request_ts=request / 1000.0,
        trigger=moments.trigger[of],
        channel=channel,
        local_hour=moments.local_hour[of].astype(np.float64),
        route=route,
        departure_ts=departure / 1000.0,
        fare_eur=fare,
        load_factor_pax=load,
        offer_kind=offer["kind"],
        offer_percent=offer["percent"],
        offer_amount_eur=offer["amount"],
        offer_cost_eur=offer["cost"],
    )
    simulated_channel = np.array([population.CHANNELS.index(name) for name in CHANNELS])
    truth = {
        "route": route,
        "discount_pct": offer["discount_pct"],
        "discount_eur": offer["discount_eur"],
        "fare_eur": fare,
        "hours_to_departure": hours,
        "channel": simulated_channel[channel],
        "local_hour": moments.local_hour[of],
        "month": month,
    }
    return candidates, truth


def _sailing_state(
    rng: np.random.Generator,
    route: IntArray,
    month: IntArray,
    departure: IntArray,
    request: IntArray,
    trigger: IntArray,
) -> tuple[FloatArray, FloatArray]:
    """Fare and passenger load of each offered sailing at the request: the simulator's
    booking curve plus a share booked by simulated customers, and its fare rule."""
    rows = len(route)
    popularity = np.clip(rng.lognormal(0.0, 0.25, rows), 0.4, 1.8)
    ahead = departure - request
    # the booking curve depends on the time left to the departure only
    load = background_load(popularity, _DEMAND[month - 1], ahead, 0) + rng.uniform(0, 0.08, rows)
    released = trigger == TRIGGER_CODES[Trigger.CAPACITY_RELEASED]
    load = np.clip(load - released * rng.uniform(0.01, 0.05, rows), 0.0, 1.0)
    weekday = (departure // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
    weekend = np.where(weekday >= 4, 1.1, 1.0)
    seasonal = np.round(_BASE_FARE[route] * _FARE_FACTOR[month - 1] * weekend, 2)
    return fare_eur(seasonal, load, ahead / DAY_MS), load


def _offers(rng: np.random.Generator, route: IntArray, fare: FloatArray) -> dict[str, Any]:
    """The campaign offer of each candidate (codes and values, as the engine sees them)
    and its value in the ground truth's terms (``discount_pct``, ``discount_eur``)."""
    rows = len(route)
    shares = np.array([OFFER_SHARES[OfferKind(name)] for name in OFFER_KINDS])
    kind = rng.choice(len(OFFER_KINDS), size=rows, p=shares / shares.sum())
    percent_, fixed_, upgrade_, voucher_ = (
        kind == OFFER_KIND_CODES[k]
        for k in (
            OfferKind.PERCENT_DISCOUNT,
            OfferKind.FIXED_DISCOUNT,
            OfferKind.UPGRADE,
            OfferKind.ONBOARD_VOUCHER,
        )
    )
    percent = rng.choice(PERCENTS, rows)
    fixed = rng.choice(FIXED_EUR, rows)
    voucher = rng.choice(VOUCHER_EUR, rows)
    worth, upgrade_cost = np.array(list(UPGRADES.values())).T
    upgrade = rng.integers(0, len(UPGRADES), rows)
    # a percent discount's cost per redemption: the percent of the base fare of two people
    percent_cost = np.round(percent / 100.0 * _BASE_FARE[route] * 2.0, 2)
    return {
        "kind": kind.astype(np.int64),
        "percent": np.where(percent_, percent, np.nan),
        "amount": np.select([fixed_, voucher_], [fixed, voucher], np.nan),
        "cost": np.select(
            [percent_, fixed_, voucher_, upgrade_],
            [percent_cost, fixed, np.round(0.6 * voucher, 2), upgrade_cost[upgrade]],
        ),
        "discount_pct": np.where(percent_, percent, 0.0),
        "discount_eur": np.select(
            [fixed_, voucher_, upgrade_],
            [np.minimum(fixed, fare), VOUCHER_VALUE_SHARE * voucher, worth[upgrade]],
            0.0,
        ),
    }
