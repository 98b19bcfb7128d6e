"""Shared fixtures of the scoring-model tests: one small trained model per session."""

from __future__ import annotations

import pytest

from models.bootstrap import BootstrapResult, bootstrap
from models.registry import ModelRegistry, RegisteredModel
from tests.unit.models.model_factories import register

TRAINING_ROWS = 20_000
TRAINING_SEED = 3


@pytest.fixture(scope="session")
def trained() -> BootstrapResult:
    """The bootstrap model trained on 20,000 simulated rows."""
    return bootstrap(TRAINING_ROWS, TRAINING_SEED)


@pytest.fixture(scope="session")
def registered(
    tmp_path_factory: pytest.TempPathFactory, trained: BootstrapResult
) -> RegisteredModel:
    """The trained model, registered in a registry of its own and loaded back."""
    registry = ModelRegistry(tmp_path_factory.mktemp("registry"))
    return registry.load(register(registry, trained))
