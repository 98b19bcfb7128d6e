"""The curves of the model evaluation report (``models.report``): the lift table and
the PNG plots, one matplotlib figure each.

:func:`write_plots` draws every plot of :data:`PLOTS` (file name, heading, caption)
into a directory. Each figure function returns a new :class:`matplotlib.figure.Figure`,
drawn without pyplot (no global state, no display needed); :func:`save_png` writes one.
The curves and bins come from scikit-learn:

- :func:`roc_figure` (``roc.png``): ROC curves, AUC in the legend, the chance diagonal;
- :func:`precision_recall_figure` (``pr.png``): precision-recall curves, with the
  positive rate (what a random ordering gets);
- :func:`calibration_figure` (``calibration.png``): a reliability diagram (observed
  rate against mean predicted probability in equal-count bins) above a histogram of the
  model's predictions;
- :func:`score_distribution_figure` (``scores.png``): the predictions of converted and
  not converted rows;
- :func:`lift_figure` (``lift.png``): lift by decile of predicted score
  (:func:`lift_table`), beside the cumulative share of conversions the top deciles hold;
- :func:`importance_figure` (``importance.png``): the features with the most gain, as
  horizontal bars.

A scorer is a :class:`Scored`: a name for the legend, its probabilities on the rows and
its colour; the model comes first, then the champion and the oracle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from sklearn.calibration import (  # type: ignore[import-untyped]  # sklearn has no type hints
    calibration_curve,
)
from sklearn.metrics import (  # type: ignore[import-untyped]  # sklearn has no type hints
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from models.evaluation import Labels

FloatArray = npt.NDArray[np.float64]

DPI = 100
CALIBRATION_BINS = 10
HISTOGRAM_BINS = 40
TOP_FEATURES = 20
DECILES = 10
CHANCE_STYLE: dict[str, Any] = {"color": "grey", "linestyle": ":", "linewidth": 1}


@dataclass(frozen=True, slots=True)
class Scored:
    """One scorer's probabilities on the report's rows, drawn in ``color`` (and dashed
    when ``dashed``, as for the oracle)."""

    name: str
    probabilities: FloatArray
    color: str
    dashed: bool = False

    @property
    def linestyle(self) -> str:
        return "--" if self.dashed else "-"


@dataclass(frozen=True, slots=True)
class LiftDecile:
    """The rows of one decile of predicted score (decile 1 holds the highest scores)."""

    decile: int
    rows: int
    mean_predicted: float
    observed_rate: float
    lift: float
    """Observed rate / overall positive rate."""
    cumulative_share_of_positives: float
    """Share of all positives in this decile and the ones above it."""


def lift_table(
    labels: Labels, predicted: npt.ArrayLike, deciles: int = DECILES
) -> list[LiftDecile]:
    """``deciles`` groups of equal row count by predicted score, highest scores first."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    overall, positives = float(y.mean()), float(y.sum())
    captured = 0.0
    table = []
    for k, part in enumerate(np.array_split(np.argsort(-p, kind="stable"), deciles), start=1):
        if len(part) == 0:
            continue
        observed = float(y[part].mean())
        captured += float(y[part].sum())
        table.append(
            LiftDecile(
                decile=k,
                rows=len(part),
                mean_predicted=float(p[part].mean()),
                observed_rate=observed,
                lift=observed / overall,
                cumulative_share_of_positives=captured / positives,
            )
        )
    return table


@dataclass(frozen=True, slots=True)
class Plot:
    """One PNG of the report and the words around it."""

    file: str
    heading: str
    caption: str


PLOTS = (
    Plot(
        "roc.png",
        "ROC curve",
        "How well each scorer ranks converters above the others at every threshold; "
        "the dotted diagonal is a random ordering.",
    ),
    Plot(
        "pr.png",
        "Precision and recall",
        "The conversion rate of the rows above a threshold against the share of "
        "converters they hold.",
    ),
    Plot(
        "calibration.png",
        "Calibration",
        "Observed conversion rate against mean predicted probability in bins of equal "
        "row count (on the diagonal: calibrated), above the histogram of the model's "
        "predictions.",
    ),
    Plot(
        "scores.png",
        "Score distribution",
        "The model's predictions for rows that converted and rows that did not: the "
        "less they overlap, the better the ranking.",
    ),
    Plot(
        "lift.png",
        "Lift",
        "Conversion rate of each tenth of the rows by predicted score, relative to the "
        "overall rate, and the share of all conversions in the top tenths.",
    ),
    Plot(
        "importance.png",
        "Feature importance",
        "Share of the total split gain of the features the model relies on most.",
    ),
)


def write_plots(
    directory: Path,
    labels: Labels,
    scorers: Sequence[Scored],
    feature_names: Sequence[str],
    gain: npt.ArrayLike,
) -> tuple[Path, ...]:
    """Draw every plot of :data:`PLOTS` into ``directory``, in that order; the first of
    ``scorers`` is the model (its lift, its score distribution)."""
    model = scorers[0].probabilities
    lift = lift_table(labels, model)
    draw: dict[str, Callable[[], Figure]] = {
        "roc.png": lambda: roc_figure(labels, scorers),
        "pr.png": lambda: precision_recall_figure(labels, scorers),
        "calibration.png": lambda: calibration_figure(labels, scorers),
        "scores.png": lambda: score_distribution_figure(labels, model),
        "lift.png": lambda: lift_figure(
            [d.lift for d in lift], [d.cumulative_share_of_positives for d in lift]
        ),
        "importance.png": lambda: importance_figure(feature_names, gain),
    }
    return tuple(save_png(draw[plot.file](), directory / plot.file) for plot in PLOTS)


def save_png(figure: Figure, path: Path) -> Path:
    """Write ``figure`` to ``path`` as a PNG at :data:`DPI` dots per inch; ``path``."""
    figure.savefig(path, format="png", dpi=DPI)
    return path


def roc_figure(labels: Labels, scorers: Sequence[Scored]) -> Figure:
    """True positive rate against false positive rate for each scorer, AUC in the legend."""
    figure = Figure(figsize=(6.4, 5.6), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    for s in scorers:
        false_positive, true_positive, _ = roc_curve(labels, s.probabilities)
        area = float(roc_auc_score(labels, s.probabilities))
        axes.plot(
            false_positive,
            true_positive,
            color=s.color,
            linestyle=s.linestyle,
            label=f"{s.name} (AUC {area:.3f})",
        )
    axes.plot([0, 1], [0, 1], label="chance (AUC 0.500)", **CHANCE_STYLE)
    axes.set(
        title="ROC curve on the held-out rows",
        xlabel="false positive rate (share of non-converters above the threshold)",
        ylabel="true positive rate (share of converters above the threshold)",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    return figure


def precision_recall_figure(labels: Labels, scorers: Sequence[Scored]) -> Figure:
    """Precision against recall for each scorer, average precision in the legend."""
    figure = Figure(figsize=(6.4, 5.6), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    for s in scorers:
        precision, recall, _ = precision_recall_curve(labels, s.probabilities)
        average = float(average_precision_score(labels, s.probabilities))
        axes.plot(
            recall,
            precision,
            color=s.color,
            linestyle=s.linestyle,
            drawstyle="steps-post",
            label=f"{s.name} (AP {average:.3f})",
        )
    rate = float(np.mean(labels))
    axes.axhline(rate, label=f"random ordering (positive rate {rate:.3f})", **CHANCE_STYLE)
    axes.set(
        title="Precision-recall curve on the held-out rows",
        xlabel="recall (share of converters reached)",
        ylabel="precision (conversion rate of the rows reached)",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    axes.legend(loc="upper right")
    axes.grid(alpha=0.3)
    return figure


def calibration_figure(labels: Labels, scorers: Sequence[Scored]) -> Figure:
    """Reliability diagram of each scorer (equal-count bins) over a histogram of the
    first scorer's predictions; both axes end a little past the largest bin."""
    figure = Figure(figsize=(6.4, 7.0), dpi=DPI, layout="constrained")
    reliability, histogram = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    upper = 0.0
    for s in scorers:
        observed, predicted = calibration_curve(
            labels, s.probabilities, n_bins=CALIBRATION_BINS, strategy="quantile"
        )
        reliability.plot(
            predicted,
            observed,
            marker="o",
            color=s.color,
            linestyle=s.linestyle,
            label=s.name,
        )
        upper = max(upper, float(np.max(predicted)), float(np.max(observed)))
    upper = min(1.0, 1.1 * upper) if upper > 0 else 1.0
    reliability.plot([0, upper], [0, upper], label="perfect calibration", **CHANCE_STYLE)
    reliability.set(
        title=f"Calibration ({CALIBRATION_BINS} bins of equal row count)",
        ylabel="observed conversion rate",
        xlim=(0, upper),
        ylim=(0, upper),
    )
    reliability.legend(loc="upper left")
    reliability.grid(alpha=0.3)
    first = scorers[0]
    histogram.hist(
        np.clip(first.probabilities, 0.0, upper),
        bins=HISTOGRAM_BINS,
        range=(0.0, upper),
        color=first.color,
        alpha=0.7,
    )
    histogram.set(
        xlabel="mean predicted probability",
        ylabel=f"rows ({first.name})",
    )
    histogram.grid(alpha=0.3)
    return figure


def importance_figure(
    feature_names: Sequence[str], gain: npt.ArrayLike, top: int = TOP_FEATURES
) -> Figure:
    """The ``top`` features by total gain, largest first, as a share of all the gain."""
    values = np.asarray(gain, dtype=np.float64)
    order = np.argsort(-values, kind="stable")[:top]
    total = float(values.sum())
    shares = values[order] / total * 100.0 if total > 0 else values[order]
    names = [feature_names[k] for k in order]
    figure = Figure(figsize=(7.5, max(3.0, 0.32 * len(order) + 1.5)), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(order))[::-1]
    axes.barh(positions, shares, color="tab:blue")
    axes.set_yticks(positions, names)
    axes.set(
        title=f"Feature importance (top {len(order)} of {len(values)} by gain)",
        xlabel="share of the total split gain (%)" if total > 0 else "split gain",
    )
    axes.grid(axis="x", alpha=0.3)
    return figure


def score_distribution_figure(labels: Labels, predicted: npt.ArrayLike) -> Figure:
    """Histograms (as densities) of the predictions of converted and not converted rows."""
    scores = np.asarray(predicted, dtype=np.float64)
    positive = np.asarray(labels).astype(bool)
    edges = np.histogram_bin_edges(scores, bins=HISTOGRAM_BINS)
    figure = Figure(figsize=(6.4, 4.8), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    for rows, name, color in (
        (~positive, "not converted", "tab:grey"),
        (positive, "converted", "tab:red"),
    ):
        axes.hist(
            scores[rows],
            bins=edges.tolist(),
            density=True,
            alpha=0.55,
            color=color,
            label=f"{name} ({int(rows.sum()):,} rows)",
        )
    axes.set(
        title="Predicted probability by outcome",
        xlabel="predicted probability",
        ylabel="density (each outcome's area is 1)",
    )
    axes.legend(loc="upper right")
    axes.grid(alpha=0.3)
    return figure


def lift_figure(lift: Sequence[float], cumulative_share: Sequence[float]) -> Figure:
    """Lift of each decile of predicted score (highest first) and the share of all
    conversions in the top deciles, beside what a random ordering gets."""
    deciles = np.arange(1, len(lift) + 1)
    figure = Figure(figsize=(10.0, 4.6), dpi=DPI, layout="constrained")
    by_decile, gains = figure.subplots(1, 2)
    bars = by_decile.bar(deciles, lift, color="tab:blue")
    by_decile.bar_label(bars, fmt="%.2f", fontsize=8)
    by_decile.axhline(1.0, label="no lift (random ordering)", **CHANCE_STYLE)
    by_decile.set(
        title="Lift by decile of predicted score",
        xlabel="decile (1 = highest scores)",
        ylabel="observed rate / overall rate",
        xticks=deciles,
    )
    by_decile.legend(loc="upper right")
    by_decile.grid(axis="y", alpha=0.3)
    contacted = np.concatenate([[0.0], deciles / len(deciles) * 100.0])
    captured = np.concatenate([[0.0], np.asarray(cumulative_share, dtype=np.float64) * 100.0])
    gains.plot(contacted, captured, marker="o", color="tab:blue", label="model")
    gains.plot([0, 100], [0, 100], label="random ordering", **CHANCE_STYLE)
    gains.set(
        title="Cumulative share of conversions",
        xlabel="share of rows, highest scores first (%)",
        ylabel="share of all conversions (%)",
        xlim=(0, 100),
        ylim=(0, 101),
    )
    gains.legend(loc="lower right")
    gains.grid(alpha=0.3)
    return figure
