"""Population stability of features and scores: reference profiles, PSI from counts, and
the monitor of recent traffic."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from models import drift
from models.drift import (
    SCORE,
    DriftMonitor,
    DriftWindow,
    ReferenceProfile,
    compare,
    profile_counts,
    psi,
    reference_profile,
    stability,
)
from models.features import FEATURE_NAMES, FEATURES, ModelFeature
from models.training_set import simulated_training_set

FEATURES_XCG = (
    ModelFeature("x", "numeric", "a normal value"),
    ModelFeature("colour", "categorical", "one of three colours", ("red", "green", "blue")),
    ModelFeature("gap", "numeric", "a uniform value, sometimes missing"),
)
COLOURS = (0.5, 0.3, 0.2)
Sample = tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]


def sample(
    rows: int,
    seed: int,
    *,
    shift: float = 0.0,
    colours: tuple[float, float, float] = COLOURS,
    missing: float = 0.1,
) -> Sample:
    """Rows of FEATURES_XCG and their scores (a logistic function of ``x``)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, rows)
    colour = rng.choice(3, size=rows, p=colours).astype(np.float64)
    gap = np.where(rng.random(rows) < missing, np.nan, rng.random(rows))
    matrix = np.column_stack([x, colour, gap]).astype(np.float32)
    return matrix, 1.0 / (1.0 + np.exp(-x))


def psi_of(results: list[drift.Stability]) -> dict[str, float]:
    return {result.name: result.psi for result in results}


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return reference_profile(*sample(20_000, seed=1), FEATURES_XCG)


def test_psi_of_equal_shares_is_zero_and_empty_bins_are_floored() -> None:
    assert psi([0.5, 0.3, 0.2, 0.0], [0.5, 0.3, 0.2, 0.0]) == 0.0
    appearing = psi([0.9, 0.1, 0.0], [0.8, 0.1, 0.1])
    expected = (0.8 - 0.9) * np.log(0.8 / 0.9) + (0.1 - 1e-4) * np.log(0.1 / 1e-4)
    assert appearing == pytest.approx(expected)
    with pytest.raises(ValueError, match="shapes"):
        psi([0.5, 0.5], [1.0])


def test_a_sample_against_itself_and_its_twin_is_stable(reference: dict[str, Any]) -> None:
    same = compare(reference, *sample(20_000, seed=1))
    assert [r.name for r in same] == ["x", "colour", "gap", SCORE]
    assert all(r.psi == pytest.approx(0.0, abs=1e-12) and r.rows == 20_000 for r in same)
    twin = psi_of(compare(reference, *sample(20_000, seed=2)))
    assert max(twin.values()) < 0.01


def test_a_shifted_normal_is_a_major_shift(reference: dict[str, Any]) -> None:
    shifted = psi_of(compare(reference, *sample(20_000, seed=3, shift=1.0)))
    assert shifted["x"] > 0.25 and shifted[SCORE] > 0.25
    assert shifted["colour"] < 0.01 and shifted["gap"] < 0.01


def test_a_categorical_shift_is_detected(reference: dict[str, Any]) -> None:
    shifted = psi_of(compare(reference, *sample(20_000, seed=4, colours=(0.2, 0.3, 0.5))))
    assert shifted["colour"] > 0.25
    assert shifted["x"] < 0.01 and shifted["gap"] < 0.01


def test_a_change_of_the_missing_share_is_detected(reference: dict[str, Any]) -> None:
    shifted = psi_of(compare(reference, *sample(20_000, seed=5, missing=0.4)))
    assert shifted["gap"] > 0.25
    assert shifted["x"] < 0.01 and shifted["colour"] < 0.01


def test_the_profile_holds_deciles_codes_and_missing_shares(
    reference: dict[str, Any],
) -> None:
    x, colour, gap = reference["features"]
    assert reference["rows"] == 20_000 and reference["bins"] == 10
    assert len(x["edges"]) == 9 and x["missing"] == 0.0
    assert x["shares"] == pytest.approx([0.1] * 10, abs=1e-3)
    assert x["edges"][4] == pytest.approx(0.0, abs=0.05)
    assert "edges" not in colour and colour["shares"] == pytest.approx(COLOURS, abs=0.02)
    assert gap["missing"] == pytest.approx(0.1, abs=0.01)
    assert sum(gap["shares"]) + gap["missing"] == pytest.approx(1.0)


def test_many_equal_values_stay_in_one_bin() -> None:
    values = np.zeros((1_000, 1), dtype=np.float32)
    values[900:, 0] = np.arange(100)
    profile = reference_profile(values, np.linspace(0, 1, 1_000), FEATURES_XCG[:1])
    column = profile["features"][0]
    assert column["edges"] == [0.0]
    assert column["shares"] == [0.901, 0.099]


def test_the_profile_is_json_and_the_same_for_the_same_data() -> None:
    rows = simulated_training_set(2_000, seed=21)
    profile = reference_profile(rows.features, rows.true_probability, FEATURES)
    text = json.dumps(profile, allow_nan=False)
    assert json.loads(text) == profile
    assert reference_profile(rows.features, rows.true_probability, FEATURES) == profile
    assert ReferenceProfile.from_json(profile).to_json() == profile
    assert [f["name"] for f in profile["features"]] == list(FEATURE_NAMES)
    assert profile["score"]["name"] == SCORE and len(profile["score"]["edges"]) == 9


def test_unknown_codes_count_as_missing(reference: dict[str, Any]) -> None:
    matrix, scores = sample(100, seed=6)
    matrix[:, 1] = np.array([0, 1, 2, 3, -1] * 20, dtype=np.float32)
    counts = profile_counts(reference, matrix, scores)
    assert counts[1, :4].tolist() == [20, 20, 20, 40]


def test_counts_add_up_over_batches_and_chunks(
    reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    matrix, scores = sample(5_000, seed=7)
    whole = profile_counts(reference, matrix, scores)
    halves = profile_counts(reference, matrix[:1_234], scores[:1_234]) + profile_counts(
        reference, matrix[1_234:], scores[1_234:]
    )
    assert np.array_equal(whole, halves)
    assert (whole.sum(axis=1) == 5_000).all()
    monkeypatch.setattr(drift, "CHUNK_ROWS", 999)
    assert np.array_equal(profile_counts(reference, matrix, scores), whole)
    assert stability(reference, np.zeros_like(whole)) == []


def test_other_shapes_and_damaged_profiles_are_refused(reference: dict[str, Any]) -> None:
    matrix, scores = sample(10, seed=8)
    with pytest.raises(ValueError, match="3 columns"):
        compare(reference, matrix[:, :2], scores)
    with pytest.raises(ValueError, match="10 scores"):
        compare(reference, matrix, scores[:5])
    with pytest.raises(ValueError, match="format"):
        ReferenceProfile.from_json({**reference, "format": 2})
    x = dict(reference["features"][0])
    x["edges"] = list(reversed(x["edges"]))
    damaged = {**reference, "features": [x, *reference["features"][1:]]}
    with pytest.raises(ValueError, match="increasing"):
        ReferenceProfile.from_json(damaged)


def test_the_monitor_reports_nothing_below_its_minimum_rows(
    reference: dict[str, Any],
) -> None:
    monitor = DriftMonitor(reference, DriftWindow(rows=4_000, buckets=4, min_rows=1_000))
    matrix, scores = sample(1_000, seed=9)
    monitor.observe(matrix[:999], scores[:999])
    monitor.observe(matrix[:0], scores[:0])
    assert monitor.rows == 999 and monitor.stability() == []
    monitor.observe(matrix[999:], scores[999:])
    results = monitor.stability()
    assert [r.name for r in results] == ["x", "colour", "gap", SCORE]
    assert all(r.rows == 1_000 for r in results)
    assert results == compare(reference, matrix, scores)


def test_the_window_forgets_old_rows(reference: dict[str, Any]) -> None:
    monitor = DriftMonitor(reference, DriftWindow(rows=4_000, buckets=4, min_rows=1_000))
    for seed in range(20):
        monitor.observe(*sample(250, seed=100 + seed))
    assert psi_of(monitor.stability())["x"] < 0.1
    shifted = sample(250, seed=200, shift=1.0)
    for _ in range(40):
        monitor.observe(*shifted)
        assert monitor.rows <= 4_000
    assert 3_000 <= monitor.rows
    now = psi_of(monitor.stability())
    only_shifted = psi_of(compare(reference, *shifted))
    assert now == pytest.approx(only_shifted)
    assert now["x"] > 0.25


def test_a_window_that_could_never_report_is_refused() -> None:
    with pytest.raises(ValueError, match="min_rows"):
        DriftWindow(rows=1_000, buckets=10, min_rows=950)
    with pytest.raises(ValueError, match="buckets"):
        DriftWindow(rows=1_000, buckets=1)
