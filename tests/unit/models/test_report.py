"""The model evaluation report: its metrics beside scikit-learn's, its files and its page."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]  # no type hints

from models.curves import (
    PLOTS,
    calibration_figure,
    lift_table,
    precision_recall_figure,
    roc_figure,
)
from models.report import (
    DriftRow,
    OffPolicyRow,
    ReportFiles,
    ReportInputs,
    psi_reading,
    render_html,
    report_metrics,
    scorers,
    write_report,
)

FloatArray = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int8]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LARGE = 50_000
SMALL = 4_000
TITLE = "offer_scoring v3-20261202T101500Z <candidate> & co"
FEATURES = ("nearest_port_km", "dwell_s", "speed_mps", "hour_local", "days_to_sailing")


def world(rows: int, seed: int) -> tuple[Labels, FloatArray]:
    """Labels drawn from true probabilities (the oracle) of a rare-ish conversion."""
    rng = np.random.default_rng(seed)
    truth = 1.0 / (1.0 + np.exp(-rng.normal(-1.5, 1.2, rows)))
    labels = (rng.random(rows) < truth).astype(np.int8)
    return labels, truth


def noisy(truth: FloatArray, scale: float, seed: int) -> FloatArray:
    """A model that knows the truth up to noise on the log-odds."""
    rng = np.random.default_rng(seed)
    log_odds = np.log(truth / (1.0 - truth)) + rng.normal(0.0, scale, len(truth))
    return np.asarray(1.0 / (1.0 + np.exp(-log_odds)), dtype=np.float64)


def report_inputs(labels: Labels, predicted: FloatArray, **overrides: Any) -> ReportInputs:
    """Inputs with no oracle, champion, off-policy, drift or facts unless given."""
    fields: dict[str, Any] = {
        "title": "offer_scoring test",
        "labels": labels,
        "predicted": predicted,
        "oracle": None,
        "champion": None,
        "champion_name": None,
        "feature_names": FEATURES,
        "importance_gain": np.array([120.0, 80.0, 0.0, 35.5, 10.0]),
    }
    return ReportInputs(**(fields | overrides))


@pytest.fixture(scope="module")
def large() -> tuple[Labels, FloatArray]:
    return world(LARGE, seed=11)


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> ReportFiles:
    """A report with every section: oracle, champion, off-policy, drift and facts."""
    labels, truth = world(SMALL, seed=5)
    inputs = report_inputs(
        labels,
        noisy(truth, 0.5, seed=6),
        title=TITLE,
        oracle=truth,
        champion=noisy(truth, 1.0, seed=7),
        champion_name="v2-20261101T080000Z",
        off_policy=(
            OffPolicyRow("logged", "mean", 0.081, 0.075, 0.088, 9_000, 9_000),
            OffPolicyRow("candidate v3", "IPS", 0.094, 0.080, 0.109, 9_000, 2_310),
            OffPolicyRow("candidate v3", "SNIPS", 0.092, 0.082, 0.103, 9_000, 2_310),
            OffPolicyRow("candidate v3", "DR", 0.093, 0.085, 0.101, 9_000, 2_310),
        ),
        drift=(
            DriftRow("dwell_s", 0.04, "test window"),
            DriftRow("score", 0.31, "live traffic"),
            DriftRow("speed_mps", 0.17, "test window"),
        ),
        facts={"rows": 120_000, "seed": 7, "parent": "v2-20261101T080000Z", "window": "30 d"},
    )
    return write_report(inputs, tmp_path_factory.mktemp("report") / "v3")


def test_auc_is_sklearns_and_the_oracles_when_the_model_is_the_oracle(
    large: tuple[Labels, FloatArray],
) -> None:
    labels, truth = large
    predicted = noisy(truth, 0.8, seed=12)
    metrics = report_metrics(report_inputs(labels, predicted, oracle=truth))
    assert metrics["auc"] == pytest.approx(roc_auc_score(labels, predicted), abs=1e-12)
    assert 0.5 < metrics["auc"] < metrics["oracle_auc"]
    assert metrics["auc_ratio_to_oracle"] < 1.0
    perfect = report_metrics(report_inputs(labels, truth, oracle=truth))
    assert perfect["auc"] == pytest.approx(perfect["oracle_auc"], abs=1e-12)
    assert perfect["auc_ratio_to_oracle"] == pytest.approx(1.0)
    assert perfect["log_loss"] == pytest.approx(perfect["oracle_log_loss"])


def test_calibration_error_is_small_when_calibrated_and_large_when_shifted(
    large: tuple[Labels, FloatArray],
) -> None:
    labels, truth = large
    calibrated = report_metrics(report_inputs(labels, truth))
    shifted = report_metrics(report_inputs(labels, np.clip(truth + 0.15, 0.0, 1.0)))
    assert calibrated["expected_calibration_error"] < 0.02
    assert shifted["expected_calibration_error"] > 0.1


def test_lift_table_ranks_highest_scores_first_and_captures_every_positive(
    large: tuple[Labels, FloatArray],
) -> None:
    labels, truth = large
    table = report_metrics(report_inputs(labels, truth))["lift_table"]
    assert len(table) == 10
    assert [d["decile"] for d in table] == list(range(1, 11))
    assert sum(d["rows"] for d in table) == LARGE
    means = [d["mean_predicted"] for d in table]
    assert means == sorted(means, reverse=True)
    assert table[0]["lift"] > 1.5 > 1.0 > table[-1]["lift"]
    shares = [d["cumulative_share_of_positives"] for d in table]
    assert shares == sorted(shares)
    assert shares[-1] == 1.0
    uninformative = lift_table(labels, np.full(LARGE, 0.3))
    assert uninformative[0].lift == pytest.approx(1.0, abs=0.1)


def test_metrics_are_plain_json_and_none_without_oracle_or_champion(
    large: tuple[Labels, FloatArray],
) -> None:
    labels, truth = large
    metrics = report_metrics(report_inputs(labels, truth))
    assert json.loads(json.dumps(metrics)) == metrics
    assert metrics["rows"] == LARGE
    assert metrics["positive_rate"] == pytest.approx(labels.mean())
    for key in ("oracle_auc", "oracle_log_loss", "champion_auc", "auc_ratio_to_oracle"):
        assert metrics[key] is None
    assert metrics["lift_top_decile"] == metrics["lift_table"][0]["lift"]


def test_write_report_draws_every_plot_as_a_png(full_report: ReportFiles) -> None:
    assert [p.name for p in full_report.images] == [plot.file for plot in PLOTS]
    assert {p.name for p in full_report.images} >= {
        "roc.png",
        "pr.png",
        "calibration.png",
        "importance.png",
        "scores.png",
        "lift.png",
    }
    for image in full_report.images:
        content = image.read_bytes()
        assert content[:8] == PNG_SIGNATURE, image
        assert len(content) > 10_000, image


def test_the_page_shows_title_metrics_and_plots(full_report: ReportFiles) -> None:
    page = full_report.html.read_text(encoding="utf-8")
    metrics = full_report.metrics
    assert html.escape(TITLE) in page
    assert "<candidate>" not in page
    for key in ("auc", "oracle_auc", "champion_auc", "log_loss", "expected_calibration_error"):
        assert f"{metrics[key]:.4f}" in page, key
    assert "champion v2-20261101T080000Z" in page
    assert metrics["champion_name"] == "v2-20261101T080000Z"
    assert metrics["oracle_auc"] > metrics["auc"] > metrics["champion_auc"] > 0.5
    for plot in PLOTS:
        assert f'<img src="{plot.file}"' in page
    assert "<script" not in page
    assert "http" not in page
    assert json.loads(full_report.metrics_json.read_text(encoding="utf-8")) == metrics


def test_the_page_shows_off_policy_drift_and_facts(full_report: ReportFiles) -> None:
    page = full_report.html.read_text(encoding="utf-8")
    for text in ("SNIPS", "candidate v3", "0.0800 – 0.1090", "2,310", "logged exploration"):
        assert text in page, text
    assert page.index("score") < page.index("speed_mps") < page.index("dwell_s</td>")
    for reading in ("major shift", "moderate shift", "stable"):
        assert f'<td class="text">{reading}</td>' in page
    assert "120,000" in page and "30 d" in page
    for missing in ("No off-policy", "No drift", "No champion", "No oracle", "No facts"):
        assert missing not in page


def test_a_report_without_optional_data_says_so() -> None:
    labels, truth = world(SMALL, seed=21)
    inputs = report_inputs(labels, noisy(truth, 0.5, seed=22))
    metrics = report_metrics(inputs)
    page = render_html(inputs, metrics)
    for missing in (
        "No off-policy estimates were given.",
        "No drift measurements were given.",
        "No champion was given",
        "No oracle",
        "No facts were given.",
    ):
        assert missing in page, missing
    assert metrics["champion_name"] is None
    only_the_model = scorers(inputs)
    assert [s.name for s in only_the_model] == ["model"]
    for draw in (roc_figure, precision_recall_figure, calibration_figure):
        assert draw(labels, only_the_model).axes


@pytest.mark.parametrize(
    ("psi", "reading"),
    [(0.02, "stable"), (0.1, "moderate shift"), (0.25, "moderate shift"), (0.4, "major shift")],
)
def test_psi_readings(psi: float, reading: str) -> None:
    assert psi_reading(psi) == reading


def test_inputs_of_different_lengths_are_refused() -> None:
    labels, truth = world(100, seed=31)
    with pytest.raises(ValueError, match="predicted has 99 rows but labels has 100"):
        report_inputs(labels, truth[:99])
    with pytest.raises(ValueError, match="champion has 101 rows but labels has 100"):
        report_inputs(labels, truth, champion=np.append(truth, 0.5))
    with pytest.raises(ValueError, match="oracle has 50 rows but labels has 100"):
        report_inputs(labels, truth, oracle=truth[:50])
    with pytest.raises(ValueError, match="importance_gain has 2 values but feature_names has 5"):
        report_inputs(labels, truth, importance_gain=np.array([1.0, 2.0]))


def test_inputs_need_both_classes_and_probabilities() -> None:
    labels, truth = world(100, seed=32)
    with pytest.raises(ValueError, match="both classes"):
        report_inputs(np.zeros(100, dtype=np.int8), truth)
    with pytest.raises(ValueError, match="0 or 1"):
        report_inputs(labels * 2, truth)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        report_inputs(labels, truth + 1.0)
