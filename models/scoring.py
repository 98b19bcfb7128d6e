"""A registered model ready to score: the booster and the encoder of its features.

:class:`Scorer` refuses a model trained on other features than ``models.features``
(other names, order, kinds or category vocabularies), since it would read the wrong
columns without a word. :meth:`Scorer.score` scores a whole matrix in one LightGBM
``predict`` call: the decision agent encodes every candidate of a micro-batch and scores
them together, which costs a fraction of one call per candidate (``bench/scoring.py``).
After :meth:`Scorer.compile` it scores with the model compiled to native code
(``models.compiled``), which agrees with LightGBM to 1e-6 and costs a quarter as much.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from models.compiled import Predict, compile_booster
from models.errors import FeatureMismatchError, RegistryError
from models.features import FeatureEncoder, FeatureMatrix
from models.inputs import Candidates, CustomerColumns
from models.registry import FeatureSchema, ModelRegistry, RegisteredModel

FloatArray = npt.NDArray[np.float64]


def feature_differences(
    trained: tuple[FeatureSchema, ...], expected: tuple[FeatureSchema, ...]
) -> list[str]:
    """What differs between a model's features and the encoder's, in words (empty if
    nothing does)."""
    trained_names = [f.name for f in trained]
    expected_names = [f.name for f in expected]
    missing = [name for name in expected_names if name not in trained_names]
    extra = [name for name in trained_names if name not in expected_names]
    problems = []
    if missing:
        problems.append(f"it lacks {', '.join(missing)}")
    if extra:
        problems.append(f"it has features unknown here: {', '.join(extra)}")
    if problems:
        return problems
    if trained_names != expected_names:
        return ["it has the same features in another order"]
    for model_feature, feature in zip(trained, expected, strict=True):
        if model_feature.kind != feature.kind:
            problems.append(
                f"{feature.name} is {model_feature.kind} in the model, {feature.kind} here"
            )
        elif model_feature.categories != feature.categories:
            problems.append(f"{feature.name} has other categories in the model")
    return problems


class Scorer:
    """Scores candidates with one registered model."""

    def __init__(
        self, model: RegisteredModel, encoder: FeatureEncoder | None = None, *, threads: int = 0
    ) -> None:
        """``threads``: LightGBM's threads per ``predict`` call (0: its default)."""
        self.encoder = encoder or FeatureEncoder()
        expected = tuple(FeatureSchema.model_validate(f) for f in self.encoder.schema())
        problems = feature_differences(model.meta.features, expected)
        if problems:
            raise FeatureMismatchError(
                f"model {model.version} was trained on other features: " + "; ".join(problems)
            )
        self.version = model.version
        self.trees: int = model.booster.num_trees()
        self._booster = model.booster
        self._width = len(self.encoder.names)
        self._threads = threads
        self._compiled: Predict | None = None

    @property
    def compiled(self) -> bool:
        """Whether :meth:`score` runs the compiled model."""
        return self._compiled is not None

    def compile(self, cache_dir: Path | None = None) -> None:
        """Score with the model compiled by lleaves from now on (its object code cached in
        ``cache_dir``); blocking, seconds for a new model. Raises
        ``models.errors.CompilationError`` and keeps LightGBM if it cannot."""
        self._compiled = compile_booster(self._booster, cache_dir)

    @classmethod
    def from_registry(
        cls, registry: ModelRegistry, version: str | None = None, *, threads: int = 0
    ) -> Scorer:
        """A scorer of ``version`` of ``registry``, by default of its champion."""
        name = version or registry.champion()
        if name is None:
            raise RegistryError(f"no champion model in {registry.directory}; promote a version")
        return cls(registry.load(name), threads=threads)

    def score(self, features: FeatureMatrix) -> FloatArray:
        """Conversion probability of each row of the model's matrix: one ``predict`` call."""
        if features.ndim != 2 or features.shape[1] != self._width:
            raise FeatureMismatchError(
                f"expected a matrix of {self._width} feature columns, got shape {features.shape}"
            )
        if len(features) == 0:
            return np.empty(0, dtype=np.float64)
        compiled = self._compiled
        if compiled is not None:
            return compiled(features)
        if self._threads > 0:
            scores = self._booster.predict(features, num_threads=self._threads)
        else:
            scores = self._booster.predict(features)
        return np.asarray(scores, dtype=np.float64)

    def score_candidates(self, customers: CustomerColumns, candidates: Candidates) -> FloatArray:
        """Encode the candidates and score them in one call."""
        return self.score(self.encoder.encode(customers, candidates))
