"""How good a model's probabilities are: ranking (AUC), log loss and calibration, each
beside what the oracle (the ground truth's probabilities) and a constant predictor get
on the same rows.

Plain numpy: AUC is the Mann-Whitney statistic with tied scores sharing their mean rank.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Labels = npt.NDArray[np.integer[Any]] | npt.NDArray[np.bool_]

EPSILON = 1e-15
CALIBRATION_BINS = 10


def auc(labels: Labels, scores: npt.ArrayLike) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (ties count half)."""
    positive = np.asarray(labels).astype(bool)
    values = np.asarray(scores, dtype=np.float64)
    positives = int(positive.sum())
    negatives = len(positive) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both positive and negative labels")
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_rank = ends - (counts - 1) / 2.0  # 1-based mean rank of each distinct score
    rank_sum = float(mean_rank[inverse][positive].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def log_loss(labels: Labels, probabilities: npt.ArrayLike) -> float:
    """Mean negative log-likelihood of ``labels`` under ``probabilities``."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), EPSILON, 1.0 - EPSILON)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """Rows whose predicted probability falls in one quantile bin."""

    rows: int
    mean_predicted: float
    observed_rate: float


def calibration(
    labels: Labels, probabilities: npt.ArrayLike, bins: int = CALIBRATION_BINS
) -> list[CalibrationBin]:
    """Mean predicted probability and observed rate in ``bins`` bins of equal size by
    predicted probability, lowest first."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    return [
        CalibrationBin(len(part), float(p[part].mean()), float(y[part].mean()))
        for part in np.array_split(order, bins)
        if len(part)
    ]


def expected_calibration_error(table: list[CalibrationBin]) -> float:
    """Row-weighted mean of |mean predicted - observed| over the bins."""
    rows = sum(b.rows for b in table)
    return sum(b.rows * abs(b.mean_predicted - b.observed_rate) for b in table) / rows


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A model's scores on held-out rows, beside the oracle's and a constant's."""

    rows: int
    positive_rate: float
    auc: float
    oracle_auc: float
    auc_margin_ratio: float
    """(AUC - 0.5) / (oracle AUC - 0.5): the share of the oracle's margin over chance."""
    log_loss: float
    oracle_log_loss: float
    constant_log_loss: float
    """Log loss of predicting the training set's positive rate for every row."""
    mean_predicted: float
    mean_true_probability: float
    calibration_error: float
    calibration: list[CalibrationBin]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for JSON), the calibration bins as dicts."""
        return asdict(self)


def evaluate(
    labels: Labels,
    predicted: npt.ArrayLike,
    true_probability: npt.ArrayLike,
    training_rate: float,
) -> Evaluation:
    """The evaluation of ``predicted`` on rows with ``labels`` and the oracle's
    ``true_probability``; ``training_rate`` is the constant predictor's probability."""
    p = np.asarray(predicted, dtype=np.float64)
    truth = np.asarray(true_probability, dtype=np.float64)
    model_auc, oracle_auc = auc(labels, p), auc(labels, truth)
    table = calibration(labels, p)
    return Evaluation(
        rows=len(p),
        positive_rate=float(np.mean(labels)),
        auc=model_auc,
        oracle_auc=oracle_auc,
        auc_margin_ratio=(model_auc - 0.5) / (oracle_auc - 0.5),
        log_loss=log_loss(labels, p),
        oracle_log_loss=log_loss(labels, truth),
        constant_log_loss=log_loss(labels, np.full(len(p), training_rate)),
        mean_predicted=float(p.mean()),
        mean_true_probability=float(truth.mean()),
        calibration_error=expected_calibration_error(table),
        calibration=table,
    )
