"""Policies compared at equal send volume by the simulator's truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.comparison import compare_policies, comparison_table
from simulators.oracle import CandidateTruth


def moments(count: int = 2_000, seed: int = 4) -> tuple[pd.DataFrame, CandidateTruth]:
    """Two candidate offers per moment, worth 10 and 12 EUR, whose true chances differ."""
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame(
        {
            "decision_id": np.repeat([f"d{k}" for k in range(count)], 2),
            "campaign_id": np.tile(["cmp-a", "cmp-b"], count),
            "net_value_eur": np.tile([10.0, 12.0], count),
        }
    )
    uplift = rng.beta(1, 8, 2 * count)
    return rows, CandidateTruth(uplift, np.full(2 * count, 80.0))


def test_every_policy_sends_the_same_volume_and_a_good_model_beats_rules() -> None:
    rows, truth = moments()
    noisy = np.clip(truth.uplift + np.random.default_rng(1).normal(0, 0.03, len(rows)), 0, 1)
    results = {
        r.policy: r
        for r in compare_policies(
            rows, truth, {"model": noisy, "blind": np.full(len(rows), 0.1)}, volume=500
        )
    }
    assert list(results) == ["rules", "model", "blind", "oracle"]
    assert {r.messages for r in results.values()} == {500}
    assert results["model"].conversions_per_message > 1.5 * results["rules"].conversions_per_message
    assert results["oracle"].conversions >= results["model"].conversions
    # a constant probability ranks as the rules do
    assert results["blind"].conversions == pytest.approx(results["rules"].conversions)
    model = results["model"]
    assert model.incremental_revenue_eur == pytest.approx(model.conversions * 80.0)
    table = comparison_table(list(results.values()))
    assert "| model | 500 |" in table and "x |" in table


def test_the_volume_must_fit_the_moments() -> None:
    rows, truth = moments(10)
    with pytest.raises(ValueError, match="volume must be 1..10"):
        compare_policies(rows, truth, {}, volume=11)
