from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.bootstrap import BootstrapResult
from models.cli import app
from models.registry import ModelRegistry
from tests.unit.models.model_factories import register

WINDOW = {"window_start": "2026-06-01T00:00:00+00:00", "window_end": "2026-06-30T23:59:59+00:00"}


def run(registry: Path, *arguments: str, exit_code: int = 0) -> str:
    """The output of a command; an error's framed message as one line."""
    result = CliRunner().invoke(app, [*arguments, "--registry", str(registry)])
    assert result.exit_code == exit_code, result.output
    if exit_code == 0:
        return result.output
    return " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())


def test_versions_and_promote(tmp_path: Path, trained: BootstrapResult) -> None:
    registry = ModelRegistry(tmp_path)
    first = register(registry, trained)
    second = register(registry, trained, data={**trained.data, **WINDOW})
    assert run(tmp_path, "promote", "v2") == f"champion: {second} (was none)\n"
    lines = run(tmp_path, "versions").splitlines()
    assert lines[0].startswith(f"  {first}  AUC ") and "data" not in lines[0]
    assert lines[1].startswith(f"* {second}  AUC ")
    assert lines[1].endswith("  data 2026-06-01T00:00:00+00:00 .. 2026-06-30T23:59:59+00:00")
    assert run(tmp_path, "promote", first) == f"champion: {first} (was {second})\n"
    unknown = run(tmp_path, "promote", "v9", exit_code=2)
    assert "no model version 'v9'" in unknown


def test_rollback_and_history(tmp_path: Path, trained: BootstrapResult) -> None:
    registry = ModelRegistry(tmp_path)
    a, b, c = (register(registry, trained) for _ in range(3))
    for version in (a, b, c):
        run(tmp_path, "promote", version, "--actor", "dora")
    assert run(tmp_path, "rollback") == f"champion: {b} (rolled back from {c})\n"
    assert run(tmp_path, "rollback") == f"champion: {a} (rolled back from {b})\n"
    refused = run(tmp_path, "rollback", exit_code=2)
    assert "no earlier champion to roll back to" in refused
    lines = run(tmp_path, "history").splitlines()
    assert len(lines) == 5
    assert lines[0].endswith(f"  promote   {a}  (was none)  by dora")
    assert lines[2].endswith(f"  promote   {c}  (was {b})  by dora")
    assert lines[4].endswith(f"  rollback  {a}  (was {b})  by cli")
    assert lines[0].startswith(registry.history()[0].at.isoformat(timespec="seconds") + "  ")


def test_show(tmp_path: Path, trained: BootstrapResult) -> None:
    registry = ModelRegistry(tmp_path)
    first = register(registry, trained)
    source = tmp_path / "report-source"
    source.mkdir()
    (source / "report.html").write_text("<html></html>")
    second = register(
        registry, trained, parent=first, data={**trained.data, **WINDOW}, report_dir=source
    )
    registry.shadow(second)
    lines = run(tmp_path, "show", "v2").splitlines()
    fields = dict(line.split(":", 1) for line in lines)
    assert fields["version"].strip() == f"{second} (challenger)"
    assert fields["created_at"].strip() == registry.meta(second).created_at.isoformat()
    assert fields["parent"].strip() == first
    assert fields["data window"].strip() == (
        "2026-06-01T00:00:00+00:00 .. 2026-06-30T23:59:59+00:00"
    )
    assert fields["rows"].strip() == f"{trained.data['rows']:,}"
    metrics = fields["metrics"].strip()
    assert metrics.startswith(f"AUC {trained.evaluation.auc:.4f}  oracle AUC ")
    assert "  log loss " in metrics and "  ECE " in metrics
    assert fields["features"].strip() == str(len(registry.meta(second).features))
    assert fields["report"].strip() == str(tmp_path / second / "report" / "report.html")

    plain = dict(line.split(":", 1) for line in run(tmp_path, "show", first).splitlines())
    assert plain["version"].strip() == first
    assert plain["parent"].strip() == "none" and plain["report"].strip() == "none"
    assert plain["data window"].strip() == "not recorded"


@pytest.mark.parametrize("command", [["show", "v9"], ["promote", "v9"], ["shadow", "v9"]])
def test_an_unknown_version_is_a_bad_parameter(
    tmp_path: Path, trained: BootstrapResult, command: list[str]
) -> None:
    register(ModelRegistry(tmp_path), trained)
    output = run(tmp_path, *command, exit_code=2)
    assert "Invalid value" in output and "no model version 'v9'" in output


def test_shadow_and_an_empty_history(tmp_path: Path, trained: BootstrapResult) -> None:
    version = register(ModelRegistry(tmp_path), trained)
    assert run(tmp_path, "shadow", "v1") == f"challenger: {version}\n"
    assert run(tmp_path, "shadow") == "challenger: none\n"
    assert run(tmp_path, "history") == ""
    assert "nothing to roll back" in run(tmp_path, "rollback", exit_code=2)
