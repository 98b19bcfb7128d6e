"""The evaluation report of a trained conversion model: a directory a data scientist opens
after training, with ``report.html``, the PNG plots it shows and ``metrics.json``.

What goes in is a :class:`ReportInputs`: the held-out rows' labels (1 = the customer
converted after the offer) and the model's probabilities on them, optionally the
oracle's (the true probabilities, which only the simulator knows) and the current
champion's on the same rows, the model's gain per feature, off-policy estimates
(:class:`OffPolicyRow`), population stability of features (:class:`DriftRow`) and free
facts (rows, window, version, parent, best iteration, seed, ...). Building one checks
it: labels of 0 and 1 with both present, probabilities in [0, 1], and one value per row
(or per feature) everywhere, else :class:`ValueError`.

- ``report_metrics(inputs: ReportInputs) -> dict[str, Any]``: plain JSON-able numbers:
  ``rows``, ``positive_rate``, for the model ``auc``, ``average_precision``,
  ``log_loss``, ``brier``, ``expected_calibration_error`` (10 bins of equal row count,
  row-weighted mean of |mean predicted - observed|), ``mean_predicted`` and
  ``lift_top_decile``; the same names prefixed ``oracle_`` and ``champion_`` (``None``
  without that scorer); ``auc_ratio_to_oracle`` (AUC / oracle AUC) and
  ``auc_margin_ratio`` ((AUC - 0.5) / (oracle AUC - 0.5), as in ``models.evaluation``);
  ``champion_name``; and ``lift_table``: 10 deciles by predicted score, highest first,
  each with ``rows``, ``mean_predicted``, ``observed_rate``, ``lift`` (observed rate /
  overall rate) and ``cumulative_share_of_positives``.
- ``write_report(inputs: ReportInputs, directory: Path) -> ReportFiles``: creates
  ``directory`` and writes the plots of ``models.curves`` (``roc.png``, ``pr.png``,
  ``calibration.png``, ``scores.png``, ``lift.png``, ``importance.png``),
  ``report.html`` (facts, metrics of the model beside the oracle and the champion, the
  plots, the lift table, the off-policy and drift tables; a section without data says
  so) and ``metrics.json``.

The HTML needs nothing but the PNG files beside it: no script, no external style sheet,
every text escaped.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import (  # type: ignore[import-untyped]  # sklearn has no type hints
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

from models.curves import PLOTS, Scored, lift_table, write_plots
from models.evaluation import Labels, calibration, expected_calibration_error

FloatArray = npt.NDArray[np.float64]
Probabilities = npt.NDArray[np.floating[Any]]

PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
MODEL_COLOR, CHAMPION_COLOR, ORACLE_COLOR = "tab:blue", "tab:orange", "tab:green"


@dataclass(frozen=True, slots=True)
class OffPolicyRow:
    """One estimate of a policy's conversions per message on logged exploration data,
    with its 95 % interval; ``rows`` decisions, ``matched`` of them where the policy
    would have chosen what was logged (when known)."""

    policy: str
    estimator: str
    value: float
    low: float
    high: float
    rows: int
    matched: int | None = None


@dataclass(frozen=True, slots=True)
class DriftRow:
    """Population stability index of one feature (or of the score) between the training
    data and ``compared_with`` (e.g. "test window", "live traffic")."""

    name: str
    psi: float
    compared_with: str


@dataclass(frozen=True, slots=True, eq=False)
class ReportInputs:
    """Everything the report shows; checked when built (see the module's docstring)."""

    title: str
    labels: Labels
    predicted: Probabilities
    oracle: Probabilities | None
    champion: Probabilities | None
    champion_name: str | None
    feature_names: Sequence[str]
    importance_gain: npt.NDArray[np.floating[Any]]
    off_policy: Sequence[OffPolicyRow] = ()
    drift: Sequence[DriftRow] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        if labels.ndim != 1:
            raise ValueError(f"labels must be one-dimensional, got shape {labels.shape}")
        if not np.isin(labels, (0, 1)).all():
            raise ValueError("labels must be 0 or 1")
        positives = int(labels.sum())
        if positives in (0, len(labels)):
            raise ValueError(
                f"labels need both classes, got {positives} positive of {len(labels)} rows"
            )
        for name, values in (
            ("predicted", self.predicted),
            ("oracle", self.oracle),
            ("champion", self.champion),
        ):
            if values is not None:
                check_probabilities(name, np.asarray(values, dtype=np.float64), len(labels))
        if len(self.importance_gain) != len(self.feature_names):
            raise ValueError(
                f"importance_gain has {len(self.importance_gain)} values "
                f"but feature_names has {len(self.feature_names)}"
            )


def check_probabilities(name: str, values: FloatArray, rows: int) -> None:
    """Raise :class:`ValueError` unless ``values`` holds ``rows`` probabilities."""
    if values.shape != (rows,):
        raise ValueError(f"{name} has {len(values)} rows but labels has {rows}")
    if not (np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()):
        raise ValueError(f"{name} must hold probabilities in [0, 1]")


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """What :func:`write_report` wrote: the page, its plots, the metrics and their file."""

    html: Path
    images: tuple[Path, ...]
    metrics: dict[str, Any]
    metrics_json: Path


def scorer_metrics(labels: Labels, probabilities: npt.ArrayLike) -> dict[str, float]:
    """Ranking, loss and calibration of one scorer's ``probabilities``."""
    p = np.asarray(probabilities, dtype=np.float64)
    return {
        "auc": float(roc_auc_score(labels, p)),
        "average_precision": float(average_precision_score(labels, p)),
        "log_loss": float(log_loss(labels, p, labels=[0, 1])),
        "brier": float(brier_score_loss(labels, p)),
        "expected_calibration_error": expected_calibration_error(calibration(labels, p)),
        "mean_predicted": float(p.mean()),
        "lift_top_decile": lift_table(labels, p)[0].lift,
    }


def report_metrics(inputs: ReportInputs) -> dict[str, Any]:
    """The report's numbers as plain JSON-able data (keys in the module's docstring)."""
    model = scorer_metrics(inputs.labels, inputs.predicted)
    metrics: dict[str, Any] = {
        "rows": len(inputs.labels),
        "positive_rate": float(np.mean(inputs.labels)),
        **model,
    }
    for prefix, values in (("oracle_", inputs.oracle), ("champion_", inputs.champion)):
        other = scorer_metrics(inputs.labels, values) if values is not None else None
        metrics |= {prefix + key: other[key] if other else None for key in model}
    oracle_auc = metrics["oracle_auc"]
    metrics["auc_ratio_to_oracle"] = model["auc"] / oracle_auc if oracle_auc else None
    metrics["auc_margin_ratio"] = (
        (model["auc"] - 0.5) / (oracle_auc - 0.5) if oracle_auc and oracle_auc != 0.5 else None
    )
    metrics["champion_name"] = inputs.champion_name if inputs.champion is not None else None
    metrics["lift_table"] = [asdict(d) for d in lift_table(inputs.labels, inputs.predicted)]
    return metrics


def champion_label(inputs: ReportInputs) -> str:
    """The champion's name in the legends and the metrics table."""
    return f"champion {inputs.champion_name}" if inputs.champion_name else "champion"


def psi_reading(psi: float) -> str:
    """The usual reading of a population stability index."""
    if math.isnan(psi):
        return "unknown"
    if psi < PSI_MODERATE:
        return "stable"
    if psi <= PSI_MAJOR:
        return "moderate shift"
    return "major shift"


def scorers(inputs: ReportInputs) -> list[Scored]:
    """The model, then the champion and the oracle when given, for the plots."""
    drawn = [Scored("model", np.asarray(inputs.predicted, dtype=np.float64), MODEL_COLOR)]
    if inputs.champion is not None:
        probabilities = np.asarray(inputs.champion, dtype=np.float64)
        drawn.append(Scored(champion_label(inputs), probabilities, CHAMPION_COLOR))
    if inputs.oracle is not None:
        probabilities = np.asarray(inputs.oracle, dtype=np.float64)
        drawn.append(Scored("oracle", probabilities, ORACLE_COLOR, dashed=True))
    return drawn


def write_report(inputs: ReportInputs, directory: Path) -> ReportFiles:
    """Write the report of ``inputs`` to ``directory`` (created if missing; files of an
    earlier report there are replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    metrics = report_metrics(inputs)
    images = write_plots(
        directory, inputs.labels, scorers(inputs), inputs.feature_names, inputs.importance_gain
    )
    page = directory / "report.html"
    page.write_text(render_html(inputs, metrics), encoding="utf-8")
    metrics_json = directory / "metrics.json"
    metrics_json.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return ReportFiles(html=page, images=images, metrics=metrics, metrics_json=metrics_json)


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0 1em; }
th, td { border: 1px solid #ccc; padding: 4px 10px; }
th { background: #f3f3f3; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
p.note { color: #555; }
figure { display: inline-block; vertical-align: top; max-width: 100%; margin: 0 1em 1.2em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { max-width: 640px; color: #555; font-size: 0.9em; }
tr.stable td:last-child { background: #e6f4ea; }
tr.moderate td:last-child { background: #fff4d6; }
tr.major td:last-child { background: #fde2e1; }
"""


def number(value: float | None, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals, or a dash when missing."""
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.{digits}f}"


def fact(value: Any) -> str:
    """A fact's value as text: thousands separated, floats to six significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str)
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()) -> str:
    """An HTML table of text cells (escaped here); a cell is numeric when it parses as a
    number; ``classes`` are per-row CSS classes."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for k, row in enumerate(rows):
        cells = "".join(f'<td class="{cell_class(c)}">{html.escape(c)}</td>' for c in row)
        row_class = f' class="{html.escape(classes[k])}"' if k < len(classes) else ""
        body.append(f"<tr{row_class}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def cell_class(text: str) -> str:
    try:
        float(text.replace(",", "").rstrip("%"))
    except ValueError:
        return "text"
    return "number"


def note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def facts_section(inputs: ReportInputs) -> str:
    if not inputs.facts:
        return "<h2>Facts</h2>" + note("No facts were given.")
    rows = [(str(key), fact(value)) for key, value in inputs.facts.items()]
    return "<h2>Facts</h2>" + table(("fact", "value"), rows)


METRIC_ROWS = (
    ("AUC", "auc"),
    ("average precision", "average_precision"),
    ("log loss", "log_loss"),
    ("Brier score", "brier"),
    ("expected calibration error (10 equal-count bins)", "expected_calibration_error"),
    ("mean predicted probability", "mean_predicted"),
    ("lift in the top decile", "lift_top_decile"),
)


def metrics_section(inputs: ReportInputs, m: Mapping[str, Any]) -> str:
    columns = [("model", "")]
    if inputs.oracle is not None:
        columns.append(("oracle", "oracle_"))
    if inputs.champion is not None:
        columns.append((champion_label(inputs), "champion_"))
    rows = [
        [label, *(number(m[prefix + key]) for _, prefix in columns)] for label, key in METRIC_ROWS
    ]
    blanks = [""] * (len(columns) - 1)
    if inputs.oracle is not None:
        rows.append(["AUC / oracle AUC", number(m["auc_ratio_to_oracle"]), *blanks])
        rows.append(["(AUC − 0.5) / (oracle AUC − 0.5)", number(m["auc_margin_ratio"]), *blanks])
    parts = [
        "<h2>Metrics</h2>",
        note(
            f"{m['rows']:,} held-out rows; observed conversion rate {number(m['positive_rate'])} "
            "(compare with the mean predicted probability)."
        ),
        table(("metric", *(name for name, _ in columns)), rows),
    ]
    if inputs.oracle is None:
        parts.append(note("No oracle: the true probabilities are known only on simulated data."))
    if inputs.champion is None:
        parts.append(note("No champion was given, so there is no comparison with one."))
    return "".join(parts)


def plots_section() -> str:
    figures_html = "".join(
        f'<figure><img src="{html.escape(p.file)}" alt="{html.escape(p.heading)}">'
        f"<figcaption><strong>{html.escape(p.heading)}.</strong> "
        f"{html.escape(p.caption)}</figcaption></figure>"
        for p in PLOTS
    )
    return "<h2>Plots</h2>" + figures_html


def lift_section(m: Mapping[str, Any]) -> str:
    rows = [
        (
            str(d["decile"]),
            f"{d['rows']:,}",
            number(d["mean_predicted"]),
            number(d["observed_rate"]),
            number(d["lift"], 2),
            f"{d['cumulative_share_of_positives']:.1%}",
        )
        for d in m["lift_table"]
    ]
    header = ("decile", "rows", "mean predicted", "observed rate", "lift", "cumulative share")
    return (
        "<h2>Lift by decile</h2>"
        + note(
            "Rows in ten groups of equal size by predicted score, highest first. Lift is the "
            "group's conversion rate over the overall rate; the cumulative share is the share "
            "of all conversions in this group and the ones above it."
        )
        + table(header, rows)
    )


def off_policy_section(estimates: Sequence[OffPolicyRow]) -> str:
    parts = [
        "<h2>Off-policy estimates</h2>",
        note(
            "Conversions per message each policy would have had, estimated on logged "
            "exploration decisions (each row of the log is a decision the engine took with a "
            "known probability). IPS weights the logged outcomes where the policy agrees with "
            "the log by one over that probability (unbiased, noisy); SNIPS divides by the sum "
            "of those weights (slightly biased, steadier); DR starts from a model's predicted "
            "conversion and corrects it with the weighted errors (unbiased if either the "
            "probabilities or the model are right). Intervals are 95 %."
        ),
    ]
    if not estimates:
        return "".join([*parts, note("No off-policy estimates were given.")])
    with_matched = any(e.matched is not None for e in estimates)
    header = ["policy", "estimator", "conversions per message", "95 % interval", "decisions"]
    rows = []
    for e in estimates:
        row = [e.policy, e.estimator, number(e.value), f"{number(e.low)} – {number(e.high)}"]
        row.append(f"{e.rows:,}")
        if with_matched:
            row.append(f"{e.matched:,}" if e.matched is not None else "—")
        rows.append(row)
    if with_matched:
        header.append("decisions where the policy agrees with the log")
    return "".join([*parts, table(header, rows)])


def drift_section(drift: Sequence[DriftRow]) -> str:
    parts = [
        "<h2>Drift</h2>",
        note(
            "Population stability index (PSI) of each feature between the training data and "
            f"other data, largest first: below {PSI_MODERATE} stable, {PSI_MODERATE} to "
            f"{PSI_MAJOR} a moderate shift, above {PSI_MAJOR} a major shift."
        ),
    ]
    if not drift:
        return "".join([*parts, note("No drift measurements were given.")])
    ordered = sorted(drift, key=lambda d: -d.psi)
    rows = [(d.name, d.compared_with, number(d.psi), psi_reading(d.psi)) for d in ordered]
    classes = [psi_reading(d.psi).split()[0] for d in ordered]
    return "".join([*parts, table(("feature", "compared with", "PSI", "reading"), rows, classes)])


def render_html(inputs: ReportInputs, metrics: Mapping[str, Any]) -> str:
    """The report's page, its plots referred to by file name."""
    title = html.escape(inputs.title)
    sections = [
        facts_section(inputs),
        metrics_section(inputs, metrics),
        plots_section(),
        lift_section(metrics),
        off_policy_section(inputs.off_policy),
        drift_section(inputs.drift),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )
