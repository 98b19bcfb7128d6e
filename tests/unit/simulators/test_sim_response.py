from __future__ import annotations

from typing import Any

import numpy as np

from simulators.customers import generate_customers
from simulators.response import (
    OfferContext,
    ResponseTraits,
    baseline_probabilities,
    baseline_probability,
    true_conversion_probabilities,
    true_conversion_probability,
    true_uplift,
    true_uplifts,
)
from simulators.routes import all_routes

N = 5_000


def _random_situation(seed: int) -> tuple[ResponseTraits, OfferContext]:
    customers = generate_customers(N, seed, all_routes())
    rng = np.random.Generator(np.random.PCG64(seed))
    traits = ResponseTraits.of(customers, np.arange(N))
    context = OfferContext(
        route=rng.integers(0, len(all_routes()), N),
        discount_pct=rng.choice([0.0, 5.0, 10.0, 20.0, 30.0], N),
        discount_eur=rng.choice([0.0, 10.0], N),
        fare_eur=rng.uniform(15, 150, N),
        hours_to_departure=rng.uniform(1, 500, N),
        distance_km=rng.uniform(0, 1_000, N),
        recently_searched=rng.random(N) < 0.3,
        recently_quoted=rng.random(N) < 0.1,
        channel=rng.integers(0, 4, N),
        local_hour=rng.integers(0, 24, N),
        month=rng.integers(1, 13, N),
    )
    return traits, context


def test_probabilities_are_probabilities_and_offers_help() -> None:
    traits, context = _random_situation(1)
    with_offer = true_conversion_probabilities(traits, context)
    without = baseline_probabilities(traits, context)
    assert with_offer.shape == without.shape == (N,)
    assert np.all((with_offer >= 0) & (with_offer <= 1) & (without >= 0) & (without <= 1))
    assert np.all(with_offer >= without)
    assert with_offer.mean() > without.mean()
    assert np.allclose(true_uplifts(traits, context), with_offer - without)
    assert 0.001 < without.mean() < 0.2


def test_a_bigger_discount_converts_more_all_else_equal() -> None:
    traits, context = _random_situation(2)
    previous = None
    for discount in (0.0, 5.0, 10.0, 20.0, 40.0):
        shifted = OfferContext(
            **{**_fields(context), "discount_pct": discount, "discount_eur": 0.0}
        )
        current = true_conversion_probabilities(traits, shifted)
        if previous is not None:
            assert np.all(current > previous)
        previous = current


def test_intent_proximity_and_quiet_hours_matter() -> None:
    traits, context = _random_situation(3)
    base = _fields(context) | {"discount_pct": 15.0, "local_hour": 12}
    searched = true_conversion_probabilities(
        traits, OfferContext(**base | {"recently_searched": True})
    )
    cold = true_conversion_probabilities(
        traits, OfferContext(**base | {"recently_searched": False})
    )
    assert np.all(searched > cold)
    night = true_uplifts(traits, OfferContext(**base | {"local_hour": 23}))
    noon = true_uplifts(traits, OfferContext(**base))
    assert np.all(night <= noon)


def test_vectorised_and_scalar_results_agree() -> None:
    traits, context = _random_situation(4)
    many = true_conversion_probabilities(traits, context)
    many_base = baseline_probabilities(traits, context)
    for k in range(0, N, 97):
        one_traits = ResponseTraits(
            **{f: np.asarray(getattr(traits, f))[k] for f in ResponseTraits.__dataclass_fields__}
        )
        one_context = OfferContext(**{f: np.asarray(v)[k] for f, v in _fields(context).items()})
        assert true_conversion_probability(one_traits, one_context) == many[k]
        assert baseline_probability(one_traits, one_context) == many_base[k]
        assert true_uplift(one_traits, one_context) >= 0.0


def _fields(context: OfferContext) -> dict[str, Any]:
    return {f: getattr(context, f) for f in OfferContext.__dataclass_fields__}
