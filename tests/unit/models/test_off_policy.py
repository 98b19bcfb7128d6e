"""Off-policy estimates on a logged epsilon-greedy policy whose truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.off_policy import estimates, greedy_choice, on_policy

DECISIONS = 20_000
EXPLORATION = 0.2
TRUE_RATE = {"cmp-a": 0.10, "cmp-b": 0.30}


def logged(seed: int = 3) -> pd.DataFrame:
    """Two candidates per decision; the logged policy picks cmp-a greedily and explores
    with probability 0.2 (each candidate then half the time)."""
    rng = np.random.default_rng(seed)
    explore = rng.random(DECISIONS) < EXPLORATION
    pick_b = np.repeat(explore & (rng.random(DECISIONS) < 0.5), 2)
    campaign = np.tile(["cmp-a", "cmp-b"], DECISIONS)
    chosen = np.where(pick_b, campaign == "cmp-b", campaign == "cmp-a")
    greedy = EXPLORATION / 2 + (1 - EXPLORATION)
    propensity = np.where(pick_b, EXPLORATION / 2, greedy)
    rate = np.where(pick_b, TRUE_RATE["cmp-b"], TRUE_RATE["cmp-a"])
    outcome = np.repeat(rng.random(DECISIONS), 2) < rate
    return pd.DataFrame(
        {
            "decision_id": np.repeat([f"d{k}" for k in range(DECISIONS)], 2),
            "campaign_id": campaign,
            "chosen": chosen,
            "label": np.where(chosen, outcome.astype(int), -1),
            "logged_propensity": np.where(chosen, propensity, np.nan),
            "net_value_eur": 10.0,
        }
    )


def test_greedy_choice_picks_the_highest_probability_times_value_per_decision() -> None:
    rows = pd.DataFrame(
        {
            "decision_id": ["d1", "d1", "d2", "d2", "d3"],
            "campaign_id": ["x", "y", "x", "y", "x"],
            "net_value_eur": [10.0, 30.0, 10.0, 10.0, -5.0],
        }
    )
    picked = greedy_choice(rows, np.array([0.5, 0.2, 0.3, 0.3, 0.9]))
    # d1: 5 < 6, y wins; d2: a tie goes to the lower campaign id; d3: worth nothing
    assert picked.tolist() == [False, True, True, False, False]


@pytest.mark.parametrize("estimator", ["IPS", "SNIPS", "DR"])
def test_a_policy_never_run_is_estimated_from_the_exploration(estimator: str) -> None:
    rows = logged()
    always_b = (rows["campaign_id"] == "cmp-b").to_numpy()
    # a reward model that is off by a lot: DR must still be right, the propensities are
    predicted = np.full(len(rows), 0.2)
    [found] = [
        e for e in estimates(rows, "always b", always_b, predicted) if e.estimator == estimator
    ]
    assert found.low <= TRUE_RATE["cmp-b"] <= found.high
    assert found.value == pytest.approx(TRUE_RATE["cmp-b"], abs=0.03)
    assert found.decisions == DECISIONS
    assert found.matched == int((rows["chosen"] & (rows["campaign_id"] == "cmp-b")).sum())


def test_the_logged_policy_is_measured_as_what_it_got() -> None:
    truth = 0.9 * TRUE_RATE["cmp-a"] + 0.1 * TRUE_RATE["cmp-b"]
    observed = on_policy(logged())
    assert observed.value == pytest.approx(truth, abs=0.01)
    half_width = 1.96 * np.sqrt(truth * (1 - truth) / DECISIONS)
    assert observed.low == pytest.approx(observed.value - half_width, abs=0.001)
    assert observed.high == pytest.approx(observed.value + half_width, abs=0.001)


def test_the_better_policy_is_estimated_higher() -> None:
    rows = logged()
    predicted = np.full(len(rows), 0.2)
    by_policy = {
        name: next(e for e in estimates(rows, name, picked, predicted) if e.estimator == "SNIPS")
        for name, picked in (
            ("always a", (rows["campaign_id"] == "cmp-a").to_numpy()),
            ("always b", (rows["campaign_id"] == "cmp-b").to_numpy()),
        )
    }
    assert by_policy["always b"].low > by_policy["always a"].high
