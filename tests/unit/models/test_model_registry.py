from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

import models.registry as registry_module
from models.bootstrap import BootstrapResult
from models.errors import RegistryError
from models.features import FEATURE_NAMES, FeatureEncoder
from models.registry import ModelRegistry, default_registry_dir
from tests.unit.models.model_factories import register

MOMENT = datetime(2026, 7, 14, 10, 15, tzinfo=UTC)


def test_register_load_promote_champion_round_trip(
    tmp_path: Path, trained: BootstrapResult
) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    assert registry.versions() == [] and registry.champion() is None
    first = register(registry, trained, created_at=MOMENT)
    second = register(registry, trained)
    assert first == "v1-20260714T101500Z"
    assert second.startswith("v2-") and registry.versions() == [first, second]
    assert sorted(p.name for p in (tmp_path / "registry" / first).iterdir()) == [
        "meta.json",
        "model.txt",
    ]

    loaded = registry.load("v1")
    assert loaded.version == first
    meta = loaded.meta
    assert meta.version == first and meta.created_at == MOMENT
    assert meta.lightgbm_version == lgb.__version__
    assert meta.feature_names == FEATURE_NAMES
    assert [f.model_dump(mode="json") for f in meta.features] == FeatureEncoder().schema()
    assert meta.metrics["auc"] == pytest.approx(trained.evaluation.auc)
    assert meta.data["rows"] == trained.data["rows"]
    assert meta.training["best_iteration"] == trained.booster.best_iteration
    probe = np.random.default_rng(1).random((50, len(FEATURE_NAMES))).astype(np.float32)
    assert np.allclose(loaded.booster.predict(probe), trained.booster.predict(probe), atol=1e-12)
    text = (tmp_path / "registry" / first / "model.txt").read_text()
    assert text.startswith("tree") and "feature_names=" in text

    assert registry.promote("v1") == first
    assert registry.champion() == first
    assert (tmp_path / "registry" / "champion").read_text().strip() == first
    registry.promote(second)
    assert registry.champion() == second
    assert json.loads((tmp_path / "registry" / second / "meta.json").read_text())["version"] == (
        second
    )


def test_unknown_versions_and_a_dangling_champion_are_errors(
    tmp_path: Path, trained: BootstrapResult
) -> None:
    registry = ModelRegistry(tmp_path)
    with pytest.raises(RegistryError, match="no model version 'v1'"):
        registry.load("v1")
    version = register(registry, trained)
    with pytest.raises(RegistryError, match="no model version 'v7'"):
        registry.promote("v7")
    registry.promote(version)
    (tmp_path / "champion").write_text("v9-20260101T000000Z\n")
    with pytest.raises(RegistryError, match="not a version"):
        registry.champion()
    (tmp_path / version / "meta.json").write_text("{not json")
    with pytest.raises(RegistryError, match="damaged"):
        registry.load(version)


def test_a_half_written_version_is_never_listed(
    tmp_path: Path, trained: BootstrapResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = ModelRegistry(tmp_path)
    first = register(registry, trained)
    # a registration that dies after writing model.txt, before meta.json
    written: list[Path] = []
    real_write = registry_module._write

    def dying_write(path: Path, text: str) -> None:
        if path.name == "meta.json":
            assert registry.versions() == [first]  # model.txt is written, nothing is listed
            raise OSError("disk full")
        real_write(path, text)
        written.append(path)

    monkeypatch.setattr(registry_module, "_write", dying_write)
    with pytest.raises(OSError, match="disk full"):
        register(registry, trained)
    assert written and not written[0].exists()  # the staging directory is gone
    monkeypatch.undo()
    # what a killed process leaves behind is hidden and does not take a number
    leftover = tmp_path / ".staging-killed"
    leftover.mkdir()
    (leftover / "model.txt").write_text("tree\n")
    assert registry.versions() == [first]
    assert register(registry, trained).startswith("v2-")


def test_concurrent_registrations_get_distinct_numbers(
    tmp_path: Path, trained: BootstrapResult
) -> None:
    registry = ModelRegistry(tmp_path)
    names: list[str] = []
    threads = [
        threading.Thread(target=lambda: names.append(register(registry, trained))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(name.split("-")[0] for name in names) == ["v1", "v2", "v3", "v4"]
    assert registry.versions() == sorted(names, key=lambda name: int(name.split("-")[0][1:]))


def test_registering_a_booster_under_other_feature_names_is_refused(
    tmp_path: Path, trained: BootstrapResult
) -> None:
    features = FeatureEncoder().schema()[1:]
    with pytest.raises(RegistryError, match="features differ"):
        register(ModelRegistry(tmp_path), trained, features=features)
    assert ModelRegistry(tmp_path).versions() == []


def test_the_default_directory_comes_from_the_environment() -> None:
    assert default_registry_dir({"OFFERS_MODEL_DIR": "/srv/models"}) == Path("/srv/models")
    default = default_registry_dir({})
    assert default.name == "registry" and default.parent.name == "models"
