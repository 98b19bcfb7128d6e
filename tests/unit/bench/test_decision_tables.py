"""The decision benchmark's tables (``bench.decision_latency._print_tables``)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.decision_latency import _print_tables


def part(p99: float, sustained: bool) -> dict[str, Any]:
    return {
        "p50_ms": p99 / 4,
        "p95_ms": p99 / 2,
        "p99_ms": p99,
        "worker_cpu_ms_per_event": 2.5,
        "sustained": sustained,
        "load_1m": 2.4,
        "lag_max": 900,
        "lag_end": 10,
    }


def test_a_rate_only_two_workers_ran_and_the_holds_are_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [
        {"rate": 200.0, "engine": part(300.0, True), "decisions": {"send/send_now": 5}},
        {"rate": 5_000.0, "engine_x2": part(9_000.0, False), "decisions": {}},
    ]
    highest = {
        "engine": {
            "rate": 300.0,
            "stopped": "not sustained at 450/s",
            "held": {
                "seconds": 60,
                "rate": 200.0,
                "tries": [
                    {"rate": 300.0, "p99_ms": 4_000.0, "lag_max": 5_000, "sustained": False},
                    {"rate": 200.0, "p99_ms": 350.0, "lag_max": 800, "sustained": True},
                ],
            },
        }
    }
    _print_tables(rows, highest)
    printed = capsys.readouterr().out
    assert "| 5000 | – | – | – | – / – | – / – | – |" in printed
    assert (
        "| engine | 300 | not sustained at 450/s | 200 for 60 s "
        "| 300/s no (4,000, 5,000), 200/s yes (350, 800) |"
    ) in printed
