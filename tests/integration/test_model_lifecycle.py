"""The data scientist's commands on a stack of their own: logged decisions in Kafka,
features in Feast, then ``offers model train``, ``evaluate``, ``promote`` and
``rollback``.

The log is made to measure: each customer's searches of the last 24 hours decide their
chance to convert, and after each decision the customer's row is overwritten with a
value that gives the outcome away (50 searches for a converter, none otherwise). A model
that saw that value would be perfect; the point-in-time join must keep it out.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from features.sources import CUSTOMER_BOOKING_VIEW, SAILING_STATE_VIEW
from features.store import apply_feature_repo, feature_store, push_rows
from models.cli import app
from models.registry import ModelRegistry
from offers.contracts import Event
from offers.settings import Settings, get_settings
from offers.stack import LocalStack
from tests.integration.decision_runs import trained_registry
from tests.integration.kafka_io import produce
from tests.integration.stacks import stack_settings_in
from tests.integration.test_feast_store import feature_row
from tests.integration.test_logged_training_set import (
    OLBIA,
    SAILING,
    UPGRADE,
    booked,
    decision,
    delivered,
    published,
)

CUSTOMERS = 1_500
START = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


def chance(searches: int) -> float:
    return 1.0 / (1.0 + math.exp(3.0 - 0.9 * searches))


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    root: Path = tmp_path_factory.mktemp("lifecycle")
    with LocalStack(stack_settings_in(root), root) as stack:
        trained_registry(root / "registry")
        live = stack.configured().model_copy(
            update={"feast_data_dir": root / "feast", "model_dir": root / "registry"}
        )
        apply_feature_repo(live)
        yield live


@pytest.fixture(scope="module")
def logged(settings: Settings) -> dict[str, float]:
    """The log in Kafka and Feast; returns each decision's true chance."""
    rng = np.random.default_rng(5)
    store = feature_store(settings)
    events: list[Event] = [published(OLBIA), published(UPGRADE)]
    before, after, sailings, truth = [], [], [], {}
    for k in range(CUSTOMERS):
        customer = f"c-{k:05d}"
        at = START + timedelta(minutes=4 * k)
        searches = int(rng.integers(0, 7))
        converted = bool(rng.random() < chance(searches))
        chosen, other = (OLBIA, UPGRADE) if k % 2 else (UPGRADE, OLBIA)
        sent = decision(
            customer,
            chosen,
            other,
            event_time=at,
            decided_at=at,
            expires_at=at + timedelta(hours=24),
            exploration=k % 5 == 0,
            propensity=0.1 if k % 5 == 0 else 0.9,
        ).model_copy(update={"decision_id": f"dec-{k:05d}", "event_id": f"dec-{k:05d}"})
        truth[sent.decision_id] = chance(searches)
        events += [sent, delivered(sent).model_copy(update={"event_time": at})]
        if converted:
            events.append(booked(sent, at + timedelta(hours=2)))
        before.append(
            feature_row(
                CUSTOMER_BOOKING_VIEW, customer, at - timedelta(minutes=5), searches_24h=searches
            )
        )
        after.append(
            feature_row(
                CUSTOMER_BOOKING_VIEW,
                customer,
                at + timedelta(minutes=1),
                searches_24h=50 if converted else 0,
            )
        )
        if k % 50 == 0:
            sailings.append(
                feature_row(
                    SAILING_STATE_VIEW,
                    SAILING,
                    at - timedelta(minutes=1),
                    route_id="LIV-OLB",
                    origin_port="LIV",
                    departure_ts=int((at + timedelta(days=2)).timestamp()),
                    fare_eur=50.0 + k % 7,
                    load_factor_pax=0.5,
                )
            )
    # the world goes on: the last offers expire before the log ends
    closing = booked(sent, at + timedelta(days=2)).model_copy(
        update={"event_id": "bk-closing", "booking_ref": "ref-closing", "offer_decision_id": None}
    )
    for rows, source in (
        (before, "customer_booking_push"),
        (after, "customer_booking_push"),
        (sailings, "sailing_state_push"),
    ):
        push_rows(store, source, rows)
    produce(settings.kafka_bootstrap, [*events, closing])
    return truth


def run(settings: Settings, *args: str) -> str:
    environment = {
        "OFFERS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "OFFERS_REDIS_URL": settings.redis_url,
        "OFFERS_FEAST_DATA_DIR": str(settings.feast_data_dir),
        "OFFERS_MODEL_DIR": str(settings.model_dir),
    }
    get_settings.cache_clear()  # the command reads these, not what another test cached
    try:
        result = CliRunner().invoke(app, list(args), env=environment, catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output


def test_train_learns_from_the_log_without_the_leak_and_registers_a_reported_version(
    settings: Settings, logged: dict[str, float]
) -> None:
    registry = ModelRegistry(Path(str(settings.model_dir)))
    parent = registry.champion()

    printed = run(settings, "train")

    assert f"{CUSTOMERS:,} sent decisions with a known outcome" in printed
    assert "validation's binary_logloss" in printed  # progress, as LightGBM boosts
    version = registry.versions()[-1]
    assert f"registered: {version} (parent {parent})" in printed
    meta = registry.meta(version)
    assert meta.parent == parent
    assert meta.data["window_start"].startswith("2026-06-01T06:00")
    assert meta.data["decisions"] == CUSTOMERS
    assert meta.monitoring["rows"] == meta.data["fit_rows"]
    # the searches known at the decision rank as the truth does (its AUC is 0.86 on a
    # large sample); the leaked value would separate converters perfectly
    assert 0.75 < meta.metrics["auc"] < 0.95
    report = registry.report_path(version)
    assert report is not None and report.is_file()
    assert {p.name for p in report.parent.glob("*.png")} >= {"roc.png", "calibration.png"}
    assert "conversions per message, off-policy" in printed
    assert "IPS" in printed and "SNIPS" in printed and "DR" in printed


def test_evaluate_promote_and_roll_back(
    settings: Settings, logged: dict[str, float], tmp_path: Path
) -> None:
    registry = ModelRegistry(Path(str(settings.model_dir)))
    if len(registry.versions()) < 2:
        run(settings, "train")
    first, latest = registry.champion(), registry.versions()[-1]

    evaluated = run(settings, "evaluate", latest, "--out", str(tmp_path / "report"))
    assert "AUC" in evaluated and (tmp_path / "report" / "report.html").is_file()

    assert f"champion: {latest} (was {first})" in run(settings, "promote", latest)
    assert registry.champion() == latest
    assert f"champion: {first} (rolled back from {latest})" in run(settings, "rollback")
    assert registry.champion() == first
