from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from simulators.cli import app

runner = CliRunner()


def test_digest_is_stable_and_depends_on_the_seed() -> None:
    first = runner.invoke(app, ["digest", "--seed", "5", "--max-events", "1500", "--json"])
    again = runner.invoke(app, ["digest", "--seed", "5", "--max-events", "1500", "--json"])
    other = runner.invoke(app, ["digest", "--seed", "6", "--max-events", "1500", "--json"])
    assert first.exit_code == 0, first.output
    assert orjson.loads(first.stdout) == orjson.loads(again.stdout)
    assert orjson.loads(first.stdout)["events"] == 1500
    assert orjson.loads(other.stdout)["sha256"] != orjson.loads(first.stdout)["sha256"]


def test_files_writes_the_counted_lines(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["files", str(tmp_path), "--seed", "2", "--max-events", "800", "--json"]
    )
    assert result.exit_code == 0, result.output
    counts = orjson.loads(result.stdout)["counts"]
    assert sum(counts.values()) == 800
    for topic, count in counts.items():
        assert len((tmp_path / f"{topic}.jsonl").read_bytes().splitlines()) == count


def test_profiles_reports_memory_and_time() -> None:
    result = runner.invoke(app, ["profiles", "--count", "5000", "--seed", "1", "--json"])
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["customers"] == 5000 and report["array_bytes"] < 5000 * 64


def test_bad_parameters_are_explained() -> None:
    result = runner.invoke(app, ["digest", "--customers", "10", "--seed", "1"])
    assert result.exit_code != 0
    assert "customers" in result.output
