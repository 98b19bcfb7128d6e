"""Each fault scenario on a stack of its own (it stops the broker or Redis, or kills
workers, which no other test should live through), and the figures of every scenario,
printed at the end of the run and, when ``CHAOS_RESULTS`` names a file, written there as
a markdown table (``make chaos`` writes ``docs/chaos-results.md``)."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from offers.demo_setup import engine_settings
from offers.settings import Settings
from offers.stack import LocalStack
from tests.integration.chaos.harness import current_scale
from tests.integration.decision_runs import trained_registry
from tests.integration.stacks import stack_settings_in

RESULTS_VARIABLE = "CHAOS_RESULTS"
FIGURES = pytest.StashKey[dict[str, dict[str, Any]]]()

Record = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class ChaosStack:
    stack: LocalStack
    settings: Settings
    """The engine's settings on this stack: event-time decisions, the trained champion,
    a short session timeout so that a killed worker's partitions move on quickly."""
    root: Path


@pytest.fixture(scope="module")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosStack]:
    root = tmp_path_factory.mktemp("chaos")
    with LocalStack(stack_settings_in(root), root) as stack:
        registry = trained_registry(root / "registry")
        settings = engine_settings(stack.configured(), registry.directory).model_copy(
            update={"worker_session_timeout_seconds": 6.0}
        )
        yield ChaosStack(stack, settings, root)


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Record:
    """Keeps a scenario's figures for the summary."""
    figures = request.config.stash.setdefault(FIGURES, {})

    def keep(scenario: str, values: dict[str, Any]) -> None:
        figures[scenario] = {"scale": current_scale().name, **values}

    return keep


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    figures = config.stash.get(FIGURES, {})
    if not figures:
        return
    table = markdown_table(figures)
    terminalreporter.write_sep("=", "fault scenarios: figures")
    terminalreporter.write_line(table)
    target = os.environ.get(RESULTS_VARIABLE)
    if target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        heading = (
            f"# Fault scenarios: figures of the last run\n\n"
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
            f"{os.cpu_count()} cores, scale `{next(iter(figures.values()))['scale']}`.\n\n"
        )
        path.write_text(heading + table + "\n")
        path.with_suffix(".json").write_text(json.dumps(figures, indent=2, default=str) + "\n")


COLUMNS = (
    "events", "poison", "faults", "lost", "duplicate_sends", "cap_breaches",
    "budget_breaches", "agent_crashes", "recovery_s",
)  # fmt: skip


def markdown_table(figures: dict[str, dict[str, Any]]) -> str:
    """One row per scenario: the common figures, then what else it measured."""
    rows = ["| scenario | " + " | ".join(COLUMNS) + " | other |", "|---" * (len(COLUMNS) + 2) + "|"]
    for scenario, values in sorted(figures.items()):
        cells = [_cell(values.get(column, "")) for column in COLUMNS]
        other = ", ".join(
            f"{key} {_cell(value)}"
            for key, value in values.items()
            if key not in COLUMNS and key != "scale"
        )
        rows.append(f"| {scenario} | " + " | ".join(cells) + f" | {other} |")
    return "\n".join(rows)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
