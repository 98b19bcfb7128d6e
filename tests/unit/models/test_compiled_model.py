"""Models compiled with lleaves (``models.compiled``): the same predictions as LightGBM's
to 1e-6 on real feature rows (categorical features included), object code kept and read
back, and a compiled model that predicts otherwise refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.bootstrap import BootstrapResult, bootstrap
from models.compiled import (
    FLOAT32_MAX,
    TOLERANCE,
    cache_name,
    compile_booster,
    probe_matrix,
)
from models.errors import CompilationError
from models.registry import RegisteredModel
from models.scoring import Scorer
from models.training_set import simulated_training_set


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return simulated_training_set(5_000, seed=29).features


def test_the_compiled_scorer_agrees_with_lightgbm_on_real_rows(
    registered: RegisteredModel, rows: np.ndarray, tmp_path: Path
) -> None:
    scorer = Scorer(registered)
    before = scorer.score(rows)
    assert not scorer.compiled
    scorer.compile(tmp_path)
    assert scorer.compiled
    after = scorer.score(rows)
    assert np.max(np.abs(after - before)) <= TOLERANCE
    assert after.dtype == np.float64 and after.shape == (len(rows),)
    assert scorer.score(rows[:0]).shape == (0,)


def test_object_code_is_kept_and_read_back(
    registered: RegisteredModel, rows: np.ndarray, tmp_path: Path
) -> None:
    first = compile_booster(registered.booster, tmp_path)
    kept = tmp_path / cache_name(registered.booster.model_to_string())
    assert kept.is_file()
    stamp = kept.stat().st_mtime_ns
    again = compile_booster(registered.booster, tmp_path)
    assert kept.stat().st_mtime_ns == stamp  # read, not written again
    assert np.array_equal(first(rows), again(rows))


def test_a_compiled_model_that_predicts_otherwise_is_refused(
    registered: RegisteredModel, trained: BootstrapResult, tmp_path: Path
) -> None:
    other = bootstrap(3_000, seed=41).booster
    compile_booster(other, tmp_path)
    # the other model's object code, under this model's name
    shutil.copy(
        tmp_path / cache_name(other.model_to_string()),
        tmp_path / cache_name(registered.booster.model_to_string()),
    )
    with pytest.raises(CompilationError, match="differs from LightGBM by"):
        compile_booster(registered.booster, tmp_path)


def test_the_probe_takes_both_sides_of_every_split(registered: RegisteredModel) -> None:
    booster = registered.booster
    probe = probe_matrix(booster)
    names = booster.feature_name()
    splits = booster.trees_to_dataframe().dropna(subset=["split_feature"])
    numeric = splits[splits["decision_type"] == "<="]
    # a threshold beyond float32's range (LightGBM's 1e300) only parts values from NaN
    numeric = numeric[numeric["threshold"].abs() < FLOAT32_MAX]
    for name, threshold in zip(numeric["split_feature"], numeric["threshold"], strict=True):
        column = probe[:, names.index(name)]
        assert np.any(column <= threshold) and np.any(column > threshold), name
    categorical = splits[splits["decision_type"] == "=="]
    for name, categories in zip(
        categorical["split_feature"], categorical["threshold"], strict=True
    ):
        column = probe[:, names.index(name)]
        assert {float(c) for c in str(categories).split("||")} <= set(column.tolist()), name
    assert np.isnan(probe).all(axis=0).sum() == 0 and np.isnan(probe).any(axis=0).all()
