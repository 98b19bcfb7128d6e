from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from models.bootstrap import BootstrapResult
from models.cli import app
from models.registry import ModelRegistry
from tests.unit.models.model_factories import register


def test_versions_and_promote(tmp_path: Path, trained: BootstrapResult) -> None:
    registry = ModelRegistry(tmp_path)
    first, second = register(registry, trained), register(registry, trained)
    runner = CliRunner()
    promoted = runner.invoke(app, ["promote", "v2", "--registry", str(tmp_path)])
    assert promoted.exit_code == 0, promoted.output
    assert f"champion: {second}" in promoted.output
    listed = runner.invoke(app, ["versions", "--registry", str(tmp_path)])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].startswith(f"  {first}  AUC ") and lines[1].startswith(f"* {second}  AUC ")
    unknown = runner.invoke(app, ["promote", "v9", "--registry", str(tmp_path)])
    assert unknown.exit_code == 2 and "no model version 'v9'" in unknown.output
