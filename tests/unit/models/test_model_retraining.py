"""Training from logged rows: the configuration file, the split by decision time, early
stopping and reproducibility (rows made from the simulated world, no services)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.logged import LoggedTrainingSet
from models.training import (
    DEFAULT_CONFIG,
    TrainingConfig,
    TrainingConfigError,
    load_config,
    time_split,
    train,
)
from models.training_set import simulated_training_set

START = datetime(2026, 7, 1, tzinfo=UTC)


def logged_rows(count: int = 6_000, seed: int = 5) -> LoggedTrainingSet:
    """Simulated rows as if logged: every third decision also weighed a second offer."""
    drawn = simulated_training_set(count, seed)
    decision = np.arange(count) - (np.arange(count) % 3 == 2)  # rows 3k+1, 3k+2 share one
    chosen = np.arange(count) % 3 != 2
    rows = pd.DataFrame(
        {
            "decision_id": [f"dec-{d:06d}" for d in decision],
            "campaign_id": np.where(chosen, "cmp-a", "cmp-b"),
            "decided_at": [START + timedelta(minutes=int(d)) for d in decision],
            "chosen": chosen,
            "label": np.where(chosen, drawn.labels, -1),
            "logged_propensity": np.where(chosen, 0.9, np.nan),
            "net_value_eur": 10.0,
        }
    )
    return LoggedTrainingSet(rows, drawn.features, {}, {})


@pytest.fixture(scope="module")
def data() -> LoggedTrainingSet:
    return logged_rows()


@pytest.fixture(scope="module")
def config() -> TrainingConfig:
    quiet = load_config()
    return quiet.model_copy(
        update={"boosting": quiet.boosting.model_copy(update={"log_every": 0, "max_rounds": 300})}
    )


def test_the_shipped_configuration_loads() -> None:
    config = load_config(DEFAULT_CONFIG)
    assert config.data.feature_service == "offer_scoring_v2"
    assert config.parameters()["objective"] == "binary"
    assert config.parameters()["seed"] == config.boosting.seed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('objective = "binary"', 'objective = "regression"'), "lightgbm.objective must be"),
        (("seed = 7", "seed = 7\nsurprise = 1"), "boosting.surprise: Extra inputs"),
        (("test_share = 0.25", "test_share = 0.55"), "split.test_share"),
        (("test_share = 0.25", "test_share = 0.49"), "at least 40 % to fit on"),
        (("[lightgbm]", "[lightgbm]\nnum_iterations = 5"), "set num_iterations in [boosting]"),
        (("[data]", "[data"), "is not valid TOML"),
    ],
)
def test_a_configuration_mistake_names_the_file_and_the_field(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(DEFAULT_CONFIG.read_text().replace(*change, 1))
    with pytest.raises(TrainingConfigError, match="broken.toml") as caught:
        load_config(path)
    assert message in str(caught.value)


def test_a_missing_configuration_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingConfigError, match="cannot read the training configuration"):
        load_config(tmp_path / "absent.toml")


def test_the_split_is_by_decision_time_and_keeps_each_decision_whole(
    data: LoggedTrainingSet, config: TrainingConfig
) -> None:
    split = time_split(data, config.split)
    moments = data.decided_s
    assert moments[split.fit].max() < moments[split.validation].min()
    assert moments[split.validation].max() < moments[split.test].min()
    assert (
        not (split.fit & split.validation).any()
        and (split.fit | split.validation | split.test).all()
    )
    sides = pd.DataFrame({"d": data.rows["decision_id"], "side": split.fit * 1 + split.test * 2})
    assert (sides.groupby("d")["side"].nunique() == 1).all()
    decisions = data.rows["decision_id"].nunique()
    test_decisions = data.rows["decision_id"][split.test].nunique()
    assert test_decisions == round(decisions * config.split.test_share)


def test_training_stops_early_and_learns_something(
    data: LoggedTrainingSet, config: TrainingConfig
) -> None:
    trained = train(data, config)
    booster = trained.booster
    assert 1 <= booster.best_iteration < config.boosting.max_rounds
    losses = trained.evaluations["validation"]["binary_logloss"]
    assert min(losses) < losses[0]
    described = trained.split.describe(data)
    assert described["fit_rows"] + described["validation_rows"] + described["test_rows"] == int(
        data.chosen.sum()
    )


def test_the_same_rows_and_configuration_give_the_same_model(
    data: LoggedTrainingSet, config: TrainingConfig
) -> None:
    first = train(data, config).booster.model_to_string()
    again = train(data, config).booster.model_to_string()
    assert first == again
