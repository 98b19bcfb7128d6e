"""The data scientist's loop: read what the engine logged, train, evaluate, register.

- :func:`read_logged` compacts Feast's offline log, reads the decision, delivery-status,
  booking, campaign and erasure topics from their beginning, and builds the training set
  (:func:`models.logged.logged_training_set`, which leaves erased customers out);
- :func:`assess` evaluates a booster on the held-out (newest) decisions: the report's
  inputs (metrics beside the oracle and the champion, off-policy estimates on the
  logged exploration, population stability against the training rows);
- :func:`retrain` trains with a configuration, assesses, writes the report and registers
  the version with its parent (the champion it was trained to replace), its data window
  and the reference distributions live traffic is compared with;
- :class:`SimulatedWorld` is the oracle: in the simulated world the true chance of each
  candidate is known (:mod:`simulators.oracle`), so the report shows the oracle's AUC.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from features.sources import VIEW_SPECS, compact_offline_log, offline_dir
from features.store import feature_store
from models.drift import compare, reference_profile
from models.errors import FeatureMismatchError
from models.features import FeatureEncoder
from models.logged import LoggedTrainingSet, logged_training_set
from models.off_policy import Estimate, estimates, greedy_choice, on_policy
from models.registry import ModelRegistry, RegisteredModel
from models.report import DriftRow, OffPolicyRow, ReportFiles, ReportInputs, write_report
from models.scoring import Scorer
from models.training import Split, TrainedModel, TrainingConfig, train
from offers.reports.source import read_report_events
from offers.settings import Settings
from offers.topics import BOOKING, CAMPAIGNS, DECISIONS, DELIVERY_STATUS, ERASURES
from simulators.oracle import CandidateTruth, candidate_truth, simulated_customers
from simulators.reaction import ReactionRates

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Echo = Callable[[str], None]
LOG_TOPICS = (DECISIONS, DELIVERY_STATUS, BOOKING, CAMPAIGNS, ERASURES)
READ_TIMEOUT_S = 600.0


def read_logged(
    settings: Settings,
    *,
    feature_service: str,
    attribution_window: timedelta,
    echo: Echo = print,
) -> LoggedTrainingSet:
    """The training set of everything the topics and the offline log hold now."""
    store = feature_store(settings)
    merged = [
        compact_offline_log(spec, offline_dir(store, spec.push_source_name)) for spec in VIEW_SPECS
    ]
    echo(
        "offline log compacted: "
        + ", ".join(f"{c.view} {c.merged} parts into 1" for c in merged if c.merged)
        if any(c.merged for c in merged)
        else "offline log already compact"
    )
    events = read_report_events(
        settings.kafka_bootstrap, topics=LOG_TOPICS, timeout_s=READ_TIMEOUT_S
    )
    data = logged_training_set(
        store, events, attribution_window=attribution_window, service_name=feature_service
    )
    start, end = data.window()
    echo(
        f"{len(data.decisions):,} sent decisions with a known outcome, {len(data):,} candidate "
        f"rows, {int((data.labels == 1).sum()):,} conversions; decided {start:%Y-%m-%d %H:%M} "
        f"to {end:%Y-%m-%d %H:%M} UTC"
    )
    return data


@dataclass(frozen=True, slots=True)
class SimulatedWorld:
    """The simulated world the logs came from: its size and seed."""

    customers: int
    seed: int

    def truth(self, data: LoggedTrainingSet) -> CandidateTruth:
        """The true chance and net revenue of every candidate row of ``data``."""
        return candidate_truth(
            data.rows,
            data.decisions,
            data.campaigns,
            simulated_customers(self.customers, self.seed),
            ReactionRates(seed=self.seed),
        )


@dataclass(frozen=True, slots=True)
class Assessment:
    inputs: ReportInputs
    off_policy: list[Estimate]


def predict(booster: lgb.Booster, rows: npt.NDArray[np.float32]) -> FloatArray:
    if len(rows) == 0:
        return np.empty(0)
    return np.asarray(booster.predict(rows), dtype=np.float64)


def champion_scores(
    champion: RegisteredModel | None, rows: npt.NDArray[np.float32]
) -> FloatArray | None:
    """The champion's scores of ``rows``; None without a champion, or when it was trained
    on other features than the encoder makes (it cannot read these rows)."""
    if champion is None:
        return None
    try:
        scorer = Scorer(champion)
    except FeatureMismatchError:
        return None
    return scorer.score(rows)


def assess(
    data: LoggedTrainingSet,
    booster: lgb.Booster,
    test: BoolArray,
    *,
    title: str,
    champion: RegisteredModel | None = None,
    truth: CandidateTruth | None = None,
    reference: dict[str, Any] | None = None,
    facts: dict[str, Any] | None = None,
    seed: int = 7,
) -> Assessment:
    """``booster`` on the ``test`` rows of ``data``: the report's inputs and the
    off-policy estimates of its greedy policy, the champion's and the logged one."""
    chosen = data.chosen & test
    rows = data.rows[test].reset_index(drop=True)
    scores = predict(booster, data.features[test])
    picked_chosen = data.chosen[test]
    rival = champion_scores(champion, data.features[test])
    champion_name = champion.version if champion is not None else None
    found = [on_policy(rows, "logged (the engine's policy)", seed=seed)]
    found += estimates(rows, title, greedy_choice(rows, scores), scores, seed=seed)
    if rival is not None:
        found += estimates(
            rows, f"champion {champion_name}", greedy_choice(rows, rival), rival, seed=seed
        )
    drift = []
    if reference:
        drift = [
            DriftRow(s.name, s.psi, "test window")
            for s in compare(reference, data.features[test], scores)
        ]
    inputs = ReportInputs(
        title=title,
        labels=data.labels[chosen],
        predicted=scores[picked_chosen],
        oracle=truth.uplift[chosen] if truth is not None else None,
        champion=rival[picked_chosen] if rival is not None else None,
        champion_name=champion_name,
        feature_names=list(FeatureEncoder().names),
        importance_gain=np.asarray(booster.feature_importance("gain"), dtype=np.float64),
        off_policy=[
            OffPolicyRow(e.policy, e.estimator, e.value, e.low, e.high, e.decisions, e.matched)
            for e in found
        ],
        drift=drift,
        facts=facts or {},
    )
    return Assessment(inputs, found)


@dataclass(frozen=True, slots=True)
class Retrained:
    version: str
    trained: TrainedModel
    report: ReportFiles
    assessment: Assessment


def retrain(
    data: LoggedTrainingSet,
    config: TrainingConfig,
    registry: ModelRegistry,
    *,
    config_path: Path,
    world: SimulatedWorld | None = None,
    echo: Echo = print,
) -> Retrained:
    """Train on ``data``, assess on its newest decisions, register with the report."""
    trained = train(data, config)
    booster, split = trained.booster, trained.split
    echo(
        f"best iteration {booster.best_iteration} of at most {config.boosting.max_rounds}, "
        f"{trained.seconds:.1f} s"
    )
    champion_name = registry.champion()
    champion = registry.load(champion_name) if champion_name else None
    truth = world.truth(data) if world is not None else None
    fitted = split.fit & data.chosen
    reference = reference_profile(data.features[fitted], predict(booster, data.features[fitted]))
    described = _data_description(data, split, config, world)
    assessment = assess(
        data,
        booster,
        split.test,
        title="new model",
        champion=champion,
        truth=truth,
        reference=reference,
        facts={
            "training data": f"{described['window_start']} .. {described['validation_from']}",
            "test decisions from": described["test_from"],
            "rows fitted / validation / test": (
                f"{described['fit_rows']:,} / {described['validation_rows']:,} / "
                f"{described['test_rows']:,}"
            ),
            "best iteration": booster.best_iteration,
            "parent (champion)": champion_name or "none",
            "configuration": str(config_path),
            "seed": config.boosting.seed,
        },
        seed=config.boosting.seed,
    )
    with tempfile.TemporaryDirectory(prefix="offers-report-") as scratch:
        report = write_report(assessment.inputs, Path(scratch))
        version = registry.register(
            booster,
            features=FeatureEncoder().schema(),
            metrics=report.metrics,
            data=described,
            training={
                "parameters": config.parameters(),
                "best_iteration": booster.best_iteration,
                "training_seconds": round(trained.seconds, 2),
                "configuration": str(config_path),
            },
            parent=champion_name,
            monitoring=reference,
            report_dir=Path(scratch),
        )
    stored = registry.report_path(version)
    if stored is not None:
        report = ReportFiles(
            html=stored,
            images=tuple(stored.parent / p.name for p in report.images),
            metrics=report.metrics,
            metrics_json=stored.parent / report.metrics_json.name,
        )
    return Retrained(version, trained, report, assessment)


def _data_description(
    data: LoggedTrainingSet, split: Split, config: TrainingConfig, world: SimulatedWorld | None
) -> dict[str, Any]:
    return {
        "source": "logged decisions (Kafka) joined with Feast's offline log",
        "feature_service": config.data.feature_service,
        "attribution_window_days": config.data.attribution_window_days,
        "decisions": len(data.decisions),
        "candidate_rows": len(data),
        "positive_rate": round(float((data.labels[data.chosen] == 1).mean()), 5),
        **split.describe(data),
        **({"world_customers": world.customers, "world_seed": world.seed} if world else {}),
    }
