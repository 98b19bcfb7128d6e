from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

import models.registry as registry_module
from models.bootstrap import BootstrapResult
from models.errors import RegistryDamaged, RegistryError, ReportNotFound, RollbackRefused
from models.features import FEATURE_NAMES, FeatureEncoder
from models.registry import ModelRegistry, champion_stack, default_registry_dir
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


# Reports


def write_report(directory: Path) -> Path:
    """A report directory as the evaluation code makes it."""
    directory.mkdir(parents=True)
    (directory / "report.html").write_text("<html><img src='calibration.png'></html>")
    (directory / "calibration.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (directory / "metrics.json").write_text('{"auc": 0.7}')
    return directory


def test_a_report_is_copied_into_its_version(tmp_path: Path, trained: BootstrapResult) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    source = write_report(tmp_path / "made-by-evaluation")
    with_report = register(registry, trained, report_dir=source)
    without = register(registry, trained)
    folder = tmp_path / "registry" / with_report
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "model.txt", "report"]
    assert sorted(p.name for p in (folder / "report").iterdir()) == [
        "calibration.png",
        "metrics.json",
        "report.html",
    ]
    assert registry.report_path("v1") == folder / "report" / "report.html"
    assert registry.report_path(without) is None
    assert (folder / "report" / "metrics.json").read_text() == '{"auc": 0.7}'
    assert registry.report_file("v1", "calibration.png") == folder / "report" / "calibration.png"
    shutil.rmtree(source)  # the version keeps its own copy
    assert registry.report_path(with_report) is not None


def test_a_version_whose_report_fails_to_copy_is_never_listed(
    tmp_path: Path, trained: BootstrapResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = ModelRegistry(tmp_path)
    first = register(registry, trained)
    real_copy = registry_module._copy_report

    def dying_copy(source: Path, target: Path) -> None:
        real_copy(source, target)
        assert registry.versions() == [first]  # model and report written, nothing listed
        raise OSError("disk full")

    monkeypatch.setattr(registry_module, "_copy_report", dying_copy)
    with pytest.raises(OSError, match="disk full"):
        register(registry, trained, report_dir=write_report(tmp_path / "report-source"))
    assert registry.versions() == [first]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging-")]
    with pytest.raises(RegistryError, match="is not a directory"):
        register(registry, trained, report_dir=tmp_path / "missing")
    assert registry.versions() == [first]


@pytest.mark.parametrize(
    "name", ["../meta.json", "..", "meta.json", "report", "sub.png", "outside.png", "x.txt", ""]
)
def test_only_plain_files_of_a_report_are_given_out(
    tmp_path: Path, trained: BootstrapResult, name: str
) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    source = write_report(tmp_path / "source")
    (source / "sub.png").mkdir()
    version = register(registry, trained, report_dir=source)
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for you")
    (tmp_path / "registry" / version / "report" / "outside.png").symlink_to(secret)
    with pytest.raises(ReportNotFound):
        registry.report_file(version, name)


# Promotion history and rollback


class Clock:
    """Minutes from MOMENT, one per call."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> datetime:
        self.calls += 1
        return MOMENT + timedelta(minutes=self.calls)


def registry_of(tmp_path: Path, trained: BootstrapResult, count: int) -> list[str]:
    registry = ModelRegistry(tmp_path)
    return [register(registry, trained) for _ in range(count)]


def test_every_change_of_the_champion_is_a_history_line(
    tmp_path: Path, trained: BootstrapResult
) -> None:
    a, b = registry_of(tmp_path, trained, 2)
    clock = Clock()
    registry = ModelRegistry(tmp_path, clock=clock)
    assert registry.history() == []
    assert registry.promote("v1", actor="alice") == a
    assert registry.promote(b) == b
    assert registry.promote(b, actor="bob") == b  # already the champion: nothing changes
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "at": "2026-07-14T10:16:00Z",
            "action": "promote",
            "version": a,
            "previous": None,
            "actor": "alice",
        },
        {
            "at": "2026-07-14T10:17:00Z",
            "action": "promote",
            "version": b,
            "previous": a,
            "actor": "cli",
        },
    ]
    assert registry.rollback(actor="carol") == a
    entries = registry.history()
    assert [(e.action, e.version, e.previous, e.actor) for e in entries] == [
        ("promote", a, None, "alice"),
        ("promote", b, a, "cli"),
        ("rollback", a, b, "carol"),
    ]
    assert entries[-1].at == MOMENT + timedelta(minutes=3)


def test_rollback_pops_the_promotions(tmp_path: Path, trained: BootstrapResult) -> None:
    a, b, c, d = registry_of(tmp_path, trained, 4)
    registry = ModelRegistry(tmp_path)
    for version in (a, b, c):
        registry.promote(version)
    assert registry.rollback() == b and registry.champion() == b
    assert registry.rollback() == a and registry.champion() == a
    with pytest.raises(RollbackRefused, match=f"{a} is the first champion recorded"):
        registry.rollback()
    assert registry.champion() == a
    registry.promote(b)
    registry.promote(c)
    assert registry.rollback() == b
    registry.promote(d)
    assert [registry.rollback() for _ in range(2)] == [b, a]
    assert champion_stack(registry.history()) == [a]


def test_nothing_to_roll_back(tmp_path: Path, trained: BootstrapResult) -> None:
    with pytest.raises(RollbackRefused, match="no champion in .*: nothing to roll back"):
        ModelRegistry(tmp_path / "never-created").rollback()
    registry = ModelRegistry(tmp_path)
    a, b = registry_of(tmp_path, trained, 2)
    with pytest.raises(RollbackRefused, match="no champion in"):
        registry.rollback()
    # a champion set before the history was kept, or by hand
    (tmp_path / "champion").write_text(a + "\n")
    with pytest.raises(RollbackRefused, match=f"the champion {a} was set before .* any promo"):
        registry.rollback()
    registry.promote(b)  # records the champion it replaces: a
    assert registry.rollback() == a
    (tmp_path / "champion").write_text(b + "\n")
    with pytest.raises(RollbackRefused, match=f"the champion {b} was set outside the history"):
        registry.rollback()
    assert not (tmp_path / "challenger").exists()


def test_rollback_refuses_a_version_that_is_gone(tmp_path: Path, trained: BootstrapResult) -> None:
    a, b = registry_of(tmp_path, trained, 2)
    registry = ModelRegistry(tmp_path)
    registry.promote(a)
    registry.promote(b)
    shutil.rmtree(tmp_path / a)
    with pytest.raises(RollbackRefused, match=f"{a} is no longer in"):
        registry.rollback()
    assert registry.champion() == b and len(registry.history()) == 2


def test_promoting_the_challenger_ends_the_shadow_in_one_locked_change(
    tmp_path: Path, trained: BootstrapResult
) -> None:
    a, b = registry_of(tmp_path, trained, 2)
    registry = ModelRegistry(tmp_path)
    registry.promote(a)
    assert registry.shadow("v2") == b and registry.challenger() == b
    registry.promote(b)  # would block for ever if the lock were taken twice
    assert registry.champion() == b and registry.challenger() is None
    assert registry.rollback() == a and registry.challenger() is None
    assert registry.shadow(None) is None
    assert ModelRegistry(tmp_path / "never-created").shadow(None) is None


def test_a_damaged_version_is_neither_promoted_nor_shadowed(
    tmp_path: Path, trained: BootstrapResult
) -> None:
    a, b = registry_of(tmp_path, trained, 2)
    registry = ModelRegistry(tmp_path)
    registry.promote(a)
    (tmp_path / b / "model.txt").write_text("not a model")
    with pytest.raises(RegistryDamaged, match=f"model version {b} is damaged"):
        registry.promote(b)
    with pytest.raises(RegistryDamaged, match=f"model version {b} is damaged"):
        registry.shadow(b)
    assert registry.champion() == a and registry.challenger() is None
    assert len(registry.history()) == 1
    (tmp_path / "history.jsonl").write_text("{not json\n")
    with pytest.raises(RegistryDamaged, match="line 1 is damaged"):
        registry.history()


def test_concurrent_promotions_are_each_recorded_after_the_one_before(
    tmp_path: Path, trained: BootstrapResult
) -> None:
    names = registry_of(tmp_path, trained, 4)
    threads = [
        threading.Thread(target=ModelRegistry(tmp_path).promote, args=(name,), kwargs={"actor": n})
        for n, name in zip("abcd", names, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    history = ModelRegistry(tmp_path).history()
    assert sorted(entry.version for entry in history) == names
    assert history[0].previous is None
    assert [e.previous for e in history[1:]] == [e.version for e in history[:-1]]
    assert ModelRegistry(tmp_path).champion() == history[-1].version
