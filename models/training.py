"""Training the scoring model on logged decisions: a configuration file, a split by
decision time, LightGBM with early stopping.

The configuration (``models/configs/offer_scoring.toml``, read by
:func:`load_config`) names the feature service the rows are joined with, the attribution
window, the shares of the split, the boosting's limits and seed, and LightGBM's own
parameters, passed as they are. A mistake in it is a :class:`TrainingConfigError`
naming the file and the field.

:func:`time_split` orders the logged decisions by decision time: the oldest are fitted
on, the next ones decide when boosting stops, the newest are the held-out test. All the
candidates of a decision fall on the same side, so nothing of a test decision is seen in
training. The model learns from the chosen (sent) candidates only: those have an
outcome.

Reproducible: the same rows and configuration give the same model (LightGBM's
``deterministic``, row-wise histograms and a fixed thread count are in the default
configuration, and ``seed`` seeds everything LightGBM draws).
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.errors import ModelError
from models.features import FeatureEncoder
from models.logged import LoggedTrainingSet

BoolArray = npt.NDArray[np.bool_]
DEFAULT_CONFIG = Path(__file__).resolve().parent / "configs" / "offer_scoring.toml"


class TrainingConfigError(ModelError):
    """The training configuration cannot be used; the message names the field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    feature_service: str = Field(min_length=1)
    attribution_window_days: float = Field(gt=0, le=90)

    @property
    def attribution_window(self) -> timedelta:
        return timedelta(days=self.attribution_window_days)


class SplitConfig(_Section):
    validation_share: float = Field(gt=0, lt=0.5)
    test_share: float = Field(gt=0, lt=0.5)

    @model_validator(mode="after")
    def _room_to_fit(self) -> SplitConfig:
        if self.validation_share + self.test_share > 0.6:
            raise ValueError("validation_share + test_share must leave at least 40 % to fit on")
        return self


class BoostingConfig(_Section):
    max_rounds: int = Field(ge=1, le=100_000)
    early_stopping_rounds: int = Field(ge=1)
    log_every: int = Field(ge=0)
    seed: int


class TrainingConfig(_Section):
    data: DataConfig
    split: SplitConfig
    boosting: BoostingConfig
    lightgbm: dict[str, Any]

    @model_validator(mode="after")
    def _binary_objective(self) -> TrainingConfig:
        objective = self.lightgbm.get("objective")
        if objective not in ("binary", "cross_entropy", "xentropy"):
            raise ValueError(
                f"lightgbm.objective must be binary or cross_entropy (a probability), "
                f"not {objective!r}"
            )
        reserved = {"seed", "num_iterations", "num_boost_round", "early_stopping_round"}
        clashing = sorted(reserved & set(self.lightgbm))
        if clashing:
            raise ValueError(
                f"lightgbm: set {', '.join(clashing)} in [boosting] (seed, max_rounds, "
                "early_stopping_rounds), not here"
            )
        return self

    def parameters(self) -> dict[str, Any]:
        """LightGBM's parameters: the ``[lightgbm]`` table and the seed."""
        return {**self.lightgbm, "seed": self.boosting.seed}


def load_config(path: Path = DEFAULT_CONFIG) -> TrainingConfig:
    """The training configuration in the TOML file ``path``."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrainingConfigError(f"cannot read the training configuration {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TrainingConfigError(f"{path} is not valid TOML: {exc}") from exc
    try:
        return TrainingConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors()
        )
        raise TrainingConfigError(f"{path}: {problems}") from None


@dataclass(frozen=True, slots=True)
class Split:
    """Masks over the rows of a training set: fitted on, stopping the boosting, test."""

    fit: BoolArray
    validation: BoolArray
    test: BoolArray
    validation_from: datetime
    test_from: datetime

    def describe(self, data: LoggedTrainingSet) -> dict[str, Any]:
        """Rows, decisions and time window of each part (for the registry)."""
        chosen = data.chosen
        start, end = data.window()
        return {
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "validation_from": self.validation_from.isoformat(),
            "test_from": self.test_from.isoformat(),
            "fit_rows": int((self.fit & chosen).sum()),
            "validation_rows": int((self.validation & chosen).sum()),
            "test_rows": int((self.test & chosen).sum()),
            "test_candidate_rows": int(self.test.sum()),
        }


def time_split(data: LoggedTrainingSet, config: SplitConfig) -> Split:
    """The split of ``data``'s decisions by decision time (see the module's notes)."""
    decisions = data.rows["decision_id"].to_numpy()
    moments = data.decided_s
    first_row = {d: k for k, d in reversed(list(enumerate(decisions)))}
    order = sorted(first_row, key=lambda d: (moments[first_row[d]], d))
    count = len(order)
    test_at = count - max(1, round(count * config.test_share))
    validation_at = test_at - max(1, round(count * config.validation_share))
    if validation_at < 1:
        raise ModelError(f"{count} decisions are too few to split into fit, validation and test")
    part = {d: 0 if i < validation_at else 1 if i < test_at else 2 for i, d in enumerate(order)}
    side = np.fromiter((part[d] for d in decisions), dtype=np.int8, count=len(decisions))
    times = data.rows["decided_at"]
    return Split(
        fit=side == 0,
        validation=side == 1,
        test=side == 2,
        validation_from=times.iloc[first_row[order[validation_at]]].to_pydatetime(),
        test_from=times.iloc[first_row[order[test_at]]].to_pydatetime(),
    )


@dataclass(frozen=True, slots=True)
class TrainedModel:
    booster: lgb.Booster
    split: Split
    seconds: float
    evaluations: dict[str, Any]
    """LightGBM's validation loss per round."""


def train(data: LoggedTrainingSet, config: TrainingConfig) -> TrainedModel:
    """A booster fitted on the chosen rows of the oldest decisions, boosted until the
    validation decisions' loss stops improving."""
    split = time_split(data, config.split)
    chosen = data.chosen
    fit, validation = split.fit & chosen, split.validation & chosen
    labels = data.labels
    for name, mask in (("fit", fit), ("validation", validation)):
        if len(np.unique(labels[mask])) < 2:
            raise ModelError(
                f"the {name} decisions ({int(mask.sum())}) need both conversions and "
                "non-conversions; log more decisions or widen the split"
            )
    encoder = FeatureEncoder()

    def dataset(mask: BoolArray, **extra: Any) -> lgb.Dataset:
        return lgb.Dataset(
            data.features[mask],
            label=labels[mask],
            feature_name=list(encoder.names),
            categorical_feature=list(encoder.categorical),
            free_raw_data=True,
            **extra,
        )

    fitted = dataset(fit)
    history: dict[str, Any] = {}
    callbacks: list[Callable[..., Any]] = [
        lgb.early_stopping(config.boosting.early_stopping_rounds, verbose=False),
        lgb.record_evaluation(history),
    ]
    if config.boosting.log_every:
        callbacks.append(lgb.log_evaluation(config.boosting.log_every))
    started = time.perf_counter()
    booster = lgb.train(
        config.parameters(),
        fitted,
        num_boost_round=config.boosting.max_rounds,
        valid_sets=[dataset(validation, reference=fitted)],
        valid_names=["validation"],
        callbacks=callbacks,
    )
    return TrainedModel(booster, split, time.perf_counter() - started, history)
