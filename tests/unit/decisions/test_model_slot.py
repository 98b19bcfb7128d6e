"""The model slot: the champion scores as its scorer, its drift is measured on the rows it
scores (encoded once), and a new champion starts a new measurement."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from models.drift import SCORE, reference_profile
from models.features import FEATURE_NAMES, FeatureEncoder, FeatureMatrix
from models.inputs import Candidates, CustomerColumns
from models.registry import ModelRegistry
from models.scoring import Scorer
from models.training_set import TrainingSet, simulated_training_set
from streams.decisions.model_slot import ModelSlot
from streams.metrics import StreamMetrics


@dataclass(frozen=True, slots=True)
class Trained:
    booster: lgb.Booster
    rows: TrainingSet


@dataclass(frozen=True, slots=True)
class Versions:
    registry: ModelRegistry
    monitored: str
    other_monitored: str
    unmonitored: str
    damaged_reference: str


@pytest.fixture(scope="module")
def trained() -> Trained:
    """A small model of the encoder's features, trained on simulated rows."""
    rows = simulated_training_set(3_000, seed=17)
    encoder = FeatureEncoder()
    data = lgb.Dataset(
        rows.features,
        label=rows.labels,
        feature_name=list(encoder.names),
        categorical_feature=list(encoder.categorical),
    )
    params = {"objective": "binary", "num_leaves": 8, "verbosity": -1, "num_threads": 1}
    return Trained(lgb.train(params, data, num_boost_round=10), rows)


@pytest.fixture
def versions(tmp_path: Path, trained: Trained) -> Versions:
    registry = ModelRegistry(tmp_path)
    scores = trained.booster.predict(trained.rows.features)
    profile = reference_profile(trained.rows.features, np.asarray(scores, dtype=np.float64))

    def register(monitoring: dict[str, object] | None) -> str:
        return registry.register(
            trained.booster,
            features=FeatureEncoder().schema(),
            metrics={},
            data={"rows": len(trained.rows)},
            monitoring=monitoring,
        )

    return Versions(
        registry,
        monitored=register(profile),
        other_monitored=register(profile),
        unmonitored=register(None),
        damaged_reference=register({"format": 99}),
    )


def _champion(versions: Versions, version: str) -> ModelSlot:
    versions.registry.promote(version)
    slot = ModelSlot(versions.registry)
    assert slot.refresh()
    return slot


def test_the_champion_scores_as_its_scorer_and_its_rows_are_counted(
    versions: Versions, trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    slot = _champion(versions, versions.monitored)
    rows = trained.rows
    expected = Scorer(versions.registry.load(versions.monitored)).score_candidates(
        rows.customers, rows.candidates
    )
    encoded: list[int] = []
    encode = FeatureEncoder.encode

    def counted(
        self: FeatureEncoder, customers: CustomerColumns, candidates: Candidates
    ) -> FeatureMatrix:
        encoded.append(len(candidates))
        return encode(self, customers, candidates)

    monkeypatch.setattr(FeatureEncoder, "encode", counted)
    assert slot.models is not None and slot.drift is not None
    scores = slot.models.score(rows.customers, rows.candidates)
    assert np.array_equal(scores, expected)
    assert encoded == [len(rows)]
    assert slot.drift.version == versions.monitored and slot.drift.rows == len(rows)
    results = slot.drift.stability()
    assert [r.name for r in results] == [*FEATURE_NAMES, SCORE]
    assert all(r.psi == pytest.approx(0.0, abs=1e-9) for r in results)  # the training rows


def test_a_new_champion_starts_a_new_measurement(versions: Versions, trained: Trained) -> None:
    registry, rows = versions.registry, trained.rows
    slot = _champion(versions, versions.monitored)
    assert slot.models is not None
    slot.models.score(rows.customers, rows.candidates)
    first = slot.drift
    registry.shadow(versions.other_monitored)
    assert slot.refresh()
    assert slot.drift is first and first is not None and first.rows == len(rows)
    registry.promote(versions.other_monitored)
    assert slot.refresh()
    assert slot.drift is not None and slot.drift is not first
    assert slot.drift.version == versions.other_monitored and slot.drift.rows == 0
    registry.promote(versions.unmonitored)
    assert slot.refresh() and slot.drift is None
    assert slot.models is not None and slot.models.version == versions.unmonitored
    expected = Scorer(registry.load(versions.unmonitored)).score_candidates(
        rows.customers, rows.candidates
    )
    assert np.array_equal(slot.models.score(rows.customers, rows.candidates), expected)


def test_a_damaged_reference_leaves_the_scores_alone(versions: Versions, trained: Trained) -> None:
    slot = _champion(versions, versions.damaged_reference)
    assert slot.drift is None and slot.models is not None
    scores = slot.models.score(trained.rows.customers, trained.rows.candidates)
    assert len(scores) == len(trained.rows)


def test_drift_gauges_show_the_current_champion_only(versions: Versions, trained: Trained) -> None:
    metrics = StreamMetrics()
    slot = _champion(versions, versions.monitored)
    assert slot.models is not None and slot.drift is not None
    slot.models.score(trained.rows.customers, trained.rows.candidates)

    def psi_shown(version: str, feature: str) -> float | None:
        labels = {"model_version": version, "feature": feature}
        return metrics.registry.get_sample_value("offers_model_feature_psi", labels)

    def rows_shown(version: str) -> float | None:
        labels = {"model_version": version}
        return metrics.registry.get_sample_value("offers_model_drift_rows", labels)

    psi = {r.name: r.psi for r in slot.drift.stability()}
    metrics.record_drift(versions.monitored, psi, slot.drift.rows)
    assert psi_shown(versions.monitored, SCORE) == psi[SCORE]
    assert rows_shown(versions.monitored) == len(trained.rows)
    metrics.record_drift(versions.other_monitored, {}, 0)
    assert psi_shown(versions.monitored, SCORE) is None
    assert rows_shown(versions.monitored) is None
    assert rows_shown(versions.other_monitored) == 0
    metrics.record_drift(None, {}, 0)
    assert rows_shown(versions.other_monitored) is None


def test_a_champion_swapped_in_scores_at_once_and_compiled_when_ready(
    versions: Versions, trained: Trained
) -> None:
    rows = trained.rows
    expected = trained.booster.predict(rows.features)
    versions.registry.promote(versions.unmonitored)
    slot = ModelSlot(versions.registry, compile_models=True)
    assert slot.refresh()
    assert slot.models is not None
    first = slot.models.score(rows.customers, rows.candidates)  # LightGBM or compiled
    assert np.max(np.abs(first - expected)) <= 1e-6
    compiling = slot.compiling[versions.unmonitored]
    compiling.join(timeout=120)
    assert not compiling.is_alive()
    assert slot._champion is not None and slot._champion.compiled
    compiled = slot.models.score(rows.customers, rows.candidates)
    assert np.max(np.abs(compiled - expected)) <= 1e-6
    # the object code is kept in the version's folder for the next worker
    assert list((versions.registry.directory / versions.unmonitored).glob("lleaves-*.o"))
    assert not slot.refresh()  # nothing changed: no second compilation
    assert list(slot.compiling) == [versions.unmonitored]
