from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from models.bootstrap import BootstrapResult
from models.errors import FeatureMismatchError, RegistryError
from models.features import FEATURE_NAMES, FeatureEncoder
from models.inputs import CandidateBatch, CustomerColumns
from models.registry import ModelRegistry, RegisteredModel
from models.scoring import Scorer
from models.training_set import simulated_training_set
from tests.unit.models.model_factories import add_candidate, candidates, online_row, register


def _tiny_booster(names: list[str]) -> lgb.Booster:
    rng = np.random.default_rng(0)
    x = rng.random((300, len(names)))
    y = (x[:, 0] + rng.random(300) > 1.0).astype(int)
    params = {"objective": "binary", "num_leaves": 4, "verbosity": -1, "num_threads": 1}
    return lgb.train(params, lgb.Dataset(x, y, feature_name=names), num_boost_round=3)


def _registered(
    tmp_path: Path, names: list[str], features: list[dict[str, Any]]
) -> RegisteredModel:
    registry = ModelRegistry(tmp_path)
    version = registry.register(_tiny_booster(names), features=features, metrics={}, data={})
    return registry.load(version)


def test_batch_scores_equal_row_scores(registered: RegisteredModel) -> None:
    scorer = Scorer(registered)
    rows = simulated_training_set(2_000, seed=31)
    matrix = rows.features
    batch = scorer.score(matrix)
    one_by_one = np.array([scorer.score(matrix[i : i + 1])[0] for i in range(len(matrix))])
    assert batch.shape == (len(matrix),) and batch.dtype == np.float64
    assert np.array_equal(batch, one_by_one)
    assert ((batch > 0.0) & (batch < 1.0)).all()
    encoded = scorer.score_candidates(rows.customers, rows.candidates)
    assert np.array_equal(encoded, batch)
    assert np.array_equal(scorer.score(matrix[:0]), np.empty(0))


def test_candidates_of_several_customers_score_in_one_call(registered: RegisteredModel) -> None:
    scorer = Scorer(registered, threads=1)
    customers = CustomerColumns.from_rows([online_row(), None, online_row(searches_24h=0)])
    many = candidates(40, customers=3)
    scores = scorer.score_candidates(customers, many)
    assert scores.shape == (40,) and np.isfinite(scores).all()
    singles = [scorer.score_candidates(customers, many.take([k]))[0] for k in range(40)]
    assert np.array_equal(scores, np.array(singles))
    batch = CandidateBatch()
    add_candidate(batch, customer=0)
    add_candidate(batch, customer=0, departure_ts=None, route_id=None, fare_eur=None)
    assert len(batch) == 2
    assert np.isfinite(scorer.score_candidates(customers, batch.build())).all()


def test_a_model_of_other_features_is_refused(tmp_path: Path) -> None:
    schema = FeatureEncoder().schema()
    names = list(FEATURE_NAMES)
    fewer = _registered(tmp_path / "a", names[:-1], schema[:-1])
    with pytest.raises(FeatureMismatchError, match="lacks offer_value_ratio"):
        Scorer(fewer)
    renamed = [*names[:-1], "offer_value"]
    other = _registered(
        tmp_path / "b", renamed, [*schema[:-1], {"name": "offer_value", "kind": "numeric"}]
    )
    with pytest.raises(FeatureMismatchError, match="unknown here: offer_value"):
        Scorer(other)
    swapped = [names[1], names[0], *names[2:]]
    reordered = _registered(tmp_path / "c", swapped, [schema[1], schema[0], *schema[2:]])
    with pytest.raises(FeatureMismatchError, match="another order"):
        Scorer(reordered)
    languages = [
        {**f, "categories": ["it", "en"]} if f["name"] == "language" else f for f in schema
    ]
    recoded = _registered(tmp_path / "d", names, languages)
    with pytest.raises(FeatureMismatchError, match="language has other categories"):
        Scorer(recoded)
    retyped = [
        {**f, "kind": "numeric", "categories": []} if f["name"] == "route" else f for f in schema
    ]
    with pytest.raises(FeatureMismatchError, match="route is numeric in the model"):
        Scorer(_registered(tmp_path / "e", names, retyped))
    assert isinstance(Scorer(_registered(tmp_path / "f", names, schema)), Scorer)


def test_a_matrix_of_the_wrong_width_is_refused(registered: RegisteredModel) -> None:
    scorer = Scorer(registered)
    with pytest.raises(FeatureMismatchError, match="34 feature columns"):
        scorer.score(np.zeros((3, 33), dtype=np.float32))


def test_the_scorer_loads_the_champion(tmp_path: Path, trained: BootstrapResult) -> None:
    registry = ModelRegistry(tmp_path)
    with pytest.raises(RegistryError, match="no champion"):
        Scorer.from_registry(registry)
    first = register(registry, trained)
    second = register(registry, trained)
    registry.promote(first)
    assert Scorer.from_registry(registry).version == first
    assert Scorer.from_registry(registry, second).version == second
