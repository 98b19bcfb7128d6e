"""The first scoring model, trained on the simulated world before the engine has logs.

:func:`bootstrap` draws a labelled training set from the simulator
(``models.training_set``), trains a LightGBM binary classifier on the customers outside
the holdout (with early stopping on a tenth of them) and evaluates it on the held-out
customers beside the oracle (the ground truth's own probabilities). Deterministic for a
seed: the data come from one seeded generator and LightGBM runs with
``deterministic=True``, row-wise histograms and a fixed number of threads.

    python -m models.bootstrap --rows 200000 --seed 7 [--registry DIR] [--promote]

prints the metrics as a table and as JSON, registers the model in the registry
(``--registry``, by default ``$OFFERS_MODEL_DIR`` or ``models/registry``) and, with
``--promote``, makes it the champion.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import typer

from models.evaluation import Evaluation, evaluate
from models.features import FeatureEncoder, FeatureMatrix
from models.registry import ModelRegistry, default_registry_dir
from models.training_set import TrainingSet, simulated_training_set

THREADS = 2
"""Fixed, so that a seed gives the same model on any machine."""
MAX_ROUNDS = 1_000
EARLY_STOPPING_ROUNDS = 40
VALIDATION_SHARE = 0.1
"""Share of the training customers whose rows decide when to stop boosting."""
VALIDATION_STREAM = 43


def training_parameters(seed: int) -> dict[str, Any]:
    """LightGBM parameters: a modest model (31 leaves) learning at 0.05."""
    return {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 100,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "cat_smooth": 10.0,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": THREADS,
        "verbosity": -1,
    }


def train(
    features: FeatureMatrix,
    labels: npt.NDArray[np.int8],
    validation: tuple[FeatureMatrix, npt.NDArray[np.int8]],
    seed: int,
) -> lgb.Booster:
    """A booster trained on ``features`` until the ``validation`` log loss stops improving."""
    encoder = FeatureEncoder()

    def dataset(x: FeatureMatrix, y: npt.NDArray[np.int8], **extra: Any) -> lgb.Dataset:
        return lgb.Dataset(
            x,
            label=y,
            feature_name=list(encoder.names),
            categorical_feature=list(encoder.categorical),
            free_raw_data=True,
            **extra,
        )

    training = dataset(features, labels)
    return lgb.train(
        training_parameters(seed),
        training,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[dataset(*validation, reference=training)],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    """A trained model, its evaluation on held-out customers and how it was made."""

    booster: lgb.Booster
    evaluation: Evaluation
    data: dict[str, Any]
    training: dict[str, Any]


def split(training_set: TrainingSet, seed: int) -> tuple[npt.NDArray[np.bool_], ...]:
    """Rows to fit on, rows to stop on (a share of the training customers), rows to test."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, VALIDATION_STREAM])))
    stopping_customers = rng.random(int(training_set.customer.max()) + 1) < VALIDATION_SHARE
    stopping = ~training_set.holdout & stopping_customers[training_set.customer]
    return ~training_set.holdout & ~stopping, stopping, training_set.holdout


def bootstrap(rows: int, seed: int) -> BootstrapResult:
    """Train and evaluate a model on ``rows`` simulated rows drawn from ``seed``."""
    started = time.perf_counter()
    data = simulated_training_set(rows, seed)
    drawn = time.perf_counter()
    fit, stopping, test = split(data, seed)
    x, y = data.features, data.labels
    booster = train(x[fit], y[fit], (x[stopping], y[stopping]), seed)
    trained = time.perf_counter()
    predicted = np.asarray(booster.predict(x[test]), dtype=np.float64)
    evaluation = evaluate(y[test], predicted, data.true_probability[test], float(y[fit].mean()))
    return BootstrapResult(
        booster=booster,
        evaluation=evaluation,
        data={
            **data.description,
            "fit_rows": int(fit.sum()),
            "stopping_rows": int(stopping.sum()),
            "test_rows": int(test.sum()),
        },
        training={
            "parameters": training_parameters(seed),
            "best_iteration": booster.best_iteration,
            "data_seconds": round(drawn - started, 2),
            "training_seconds": round(trained - drawn, 2),
        },
    )


def register(registry: ModelRegistry, result: BootstrapResult, *, promote: bool = False) -> str:
    """Store a trained bootstrap model as a new version of ``registry`` (and make it the
    champion with ``promote``); its version name."""
    version = registry.register(
        result.booster,
        features=FeatureEncoder().schema(),
        metrics=result.evaluation.to_dict(),
        data=result.data,
        training=result.training,
    )
    if promote:
        registry.promote(version)
    return version


def metrics_table(evaluation: Evaluation) -> str:
    """The evaluation as a Markdown table: the model beside the oracle and a constant."""
    e = evaluation
    lines = [
        "| held-out metric | model | oracle | constant |",
        "| --- | ---: | ---: | ---: |",
        f"| AUC | {e.auc:.4f} | {e.oracle_auc:.4f} | 0.5000 |",
        f"| share of the oracle's AUC margin over 0.5 | {e.auc_margin_ratio:.3f} | 1.000 | 0.000 |",
        f"| log loss | {e.log_loss:.4f} | {e.oracle_log_loss:.4f} | {e.constant_log_loss:.4f} |",
        f"| mean predicted vs observed {e.positive_rate:.4f} | {e.mean_predicted:.4f} "
        f"| {e.mean_true_probability:.4f} | |",
        f"| expected calibration error (10 bins) | {e.calibration_error:.4f} | | |",
        "",
        "| calibration bin | rows | mean predicted | observed |",
        "| ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {k} | {b.rows:,} | {b.mean_predicted:.4f} | {b.observed_rate:.4f} |"
        for k, b in enumerate(e.calibration, start=1)
    ]
    return "\n".join(lines)


def main(
    rows: Annotated[int, typer.Option(help="Rows of the simulated training set.")] = 200_000,
    seed: Annotated[int, typer.Option(help="Seed of the data and of LightGBM.")] = 7,
    registry: Annotated[
        Path | None,
        typer.Option(help="Registry directory (default $OFFERS_MODEL_DIR or models/registry)."),
    ] = None,
    promote: Annotated[bool, typer.Option(help="Make the new model the champion.")] = False,
) -> None:
    """Train the model on the simulated world, print its metrics, register it."""
    if rows < 1_000:
        raise typer.BadParameter(f"--rows must be at least 1,000, got {rows}")
    result = bootstrap(rows, seed)
    store = ModelRegistry(registry or default_registry_dir())
    metrics = result.evaluation.to_dict()
    version = register(store, result, promote=promote)
    report = {
        "version": version,
        "registry": str(store.directory),
        "champion": store.champion(),
        "metrics": metrics,
        "data": result.data,
        "training": {k: v for k, v in result.training.items() if k != "parameters"},
    }
    typer.echo(metrics_table(result.evaluation))
    typer.echo("")
    typer.echo(json.dumps(report, indent=2))


if __name__ == "__main__":
    typer.run(main)
