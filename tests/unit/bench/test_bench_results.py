"""``make bench``'s summary (``bench/run.py``): each benchmark's JSON is read from its
output, and each target is judged from the figures of the benchmark that measures it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.run import NOT_MEASURED, TARGETS, Outcome, render, split_output

HOST = {"cpu": "Test CPU", "cores": 2, "memory_gib": 24.0, "python": "3.11", "system": "Linux"}


def decision_latency(
    engine: float, passthrough: float, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "highest_sustained": {
            "engine": {"rate": engine, "stopped": "not sustained"},
            "passthrough": {"rate": passthrough, "stopped": "max rate"},
        },
        "by_rate": rows,
    }


def row(rate: float, p99: float, sustained: bool = True) -> dict[str, Any]:
    return {"rate": rate, "engine": {"p50_ms": p99 / 3, "p99_ms": p99, "sustained": sustained}}


def judged(results: dict[str, Any]) -> dict[str, Outcome]:
    return {target.what: target.judge(results) for target in TARGETS}


def outcome(results: dict[str, Any], starts: str) -> Outcome:
    return next(o for what, o in judged(results).items() if what.startswith(starts))


def test_the_json_and_the_tables_are_read_from_the_output() -> None:
    printed = json.dumps({"a": 1, "b": {"c": [1, 2]}}, indent=2) + "\n\n| x |\n| --- |\n| 1 |\n"
    result, tables = split_output("starting the stack...\n" + printed)
    assert result == {"a": 1, "b": {"c": [1, 2]}}
    assert tables == "| x |\n| --- |\n| 1 |"
    with pytest.raises(ValueError, match="no JSON"):
        split_output("Traceback: it broke")


def test_throughput_and_latency_targets_read_the_decision_benchmark() -> None:
    results = {
        "decision_latency": decision_latency(
            800.0, 1_200.0, [row(50, 4.0), row(500, 30.0), row(640, 80.0), row(1_000, 900.0, False)]
        )
    }
    assert outcome(results, "Sustained throughput") == Outcome("800 events/s", False)
    assert outcome(results, "... and >= 50 %") == Outcome("67% (800 of 1,200 events/s)", True)
    assert outcome(results, "Event-to-decision p99 <= 10 ms") == Outcome(
        "900.0 ms, not sustained at 1,000/s", False
    )
    # 80 % of 800/s is 640/s, a measured rate
    assert outcome(results, "Event-to-decision p99 <= 50 ms") == Outcome("80.0 ms at 640/s", False)
    results["decision_latency"]["by_rate"][2] = row(640, 45.0)
    assert outcome(results, "Event-to-decision p99 <= 50 ms").met is True


def test_read_scoring_and_memory_targets() -> None:
    results = {
        "feature_reads": {
            "ratio_to_floor": {"reader_batched": 2.0},
            "us_per_customer_median": {
                "sdk_per_customer": 4_000.0,
                "reader_batched": 44.0,
                "raw_hmget_floor": 22.0,
            },
        },
        "scoring": {"batch": 500, "us_per_candidate_median": {"compiled_batched": 1.26}},
        "online_state": {
            "by_size": {
                "100000": {"bytes_per_customer": 700.0},
                "1000000": {"bytes_per_customer": 1100.0},
            }
        },
    }
    assert outcome(results, "Feature read per candidate <= 1.5x") == Outcome(
        "2.0x the floor (22.0 µs)", False
    )
    assert outcome(results, "Feature read per candidate >= 5x").met is True
    assert outcome(results, "Scoring") == Outcome("1.26 µs (compiled, batches of 500)", True)
    assert outcome(results, "Online state") == Outcome(
        "1,100 bytes at 1,000,000 customers (feature rows)", False
    )


def test_the_soak_is_judged_on_its_verdict_and_its_length() -> None:
    soak = {"flat": True, "minutes": 30, "rate": 200, "growth_mib": 4.5, "growth_share": 0.008}
    assert outcome({"soak": soak}, "Worker memory") == Outcome(
        "+4.5 MiB (+0.8%) after the warm-up of 30 minutes at 200 events/s", True
    )
    assert outcome({"soak": soak | {"minutes": 3}}, "Worker memory").met is False
    assert outcome({"soak": soak | {"flat": False}}, "Worker memory").met is False


def api_step(rate: float, p99: float, achieved: float, kept: bool) -> dict[str, Any]:
    return {"rate": rate, "p99_ms": p99, "achieved_rps": achieved, "kept": kept}


def test_the_api_target_reads_the_step_at_1000_requests_per_second() -> None:
    def api(*steps: dict[str, Any]) -> dict[str, Any]:
        return {
            "api_load": {
                "by_route": {"customer_offers": list(steps)},
                "highest_kept_rate": {"customer_offers": 500.0},
            }
        }

    met = api(api_step(500, 6.0, 499.0, True), api_step(1_000, 9.0, 998.0, True))
    assert outcome(met, "API p99") == Outcome("9 ms at 998 requests/s", True)
    slow = api(api_step(1_000, 310.0, 640.0, False))
    assert outcome(slow, "API p99") == Outcome("310 ms, 640 of 1,000 requests/s achieved", False)
    assert outcome(api(api_step(500, 6.0, 499.0, True)), "API p99") == Outcome(
        "not run at 1,000/s (highest kept: 500.0)", None
    )


def test_a_target_no_benchmark_measured_says_so() -> None:
    assert all(o == NOT_MEASURED for o in judged({}).values())


def test_the_report_names_the_machine_each_target_and_each_failure() -> None:
    results = {"scoring": {"batch": 500, "us_per_candidate_median": {"compiled_batched": 9.0}}}
    report = render(
        results,
        {"scoring": "| scoring table |"},
        {"feature_reads": "exit code 1\nRedis did not start"},
        HOST,
        datetime(2026, 12, 2, 17, 0, tzinfo=UTC),
        {"scoring": "python -m bench.scoring", "feature_reads": "python -m bench.feature_reads"},
    )
    assert "Run 2026-12-02 17:00 UTC on Test CPU, 2 cores, 24.0 GiB" in report
    assert (
        "| Scoring <= 5 µs per candidate in micro-batches "
        "| 9.00 µs (compiled, batches of 500) | **not met** |" in report
    )
    assert report.count("| not measured | – |") == len(TARGETS) - 1
    assert "| scoring table |" in report
    assert "Redis did not start" in report


def test_the_throughput_is_the_rate_held_for_the_hold_when_there_was_one() -> None:
    results = {"decision_latency": decision_latency(800.0, 1_200.0, [row(50, 4.0)])}
    highest = results["decision_latency"]["highest_sustained"]
    highest["engine"]["held"] = {"seconds": 60, "rate": 533.0, "tries": []}
    highest["passthrough"]["held"] = {"seconds": 60, "rate": None, "tries": []}
    assert outcome(results, "Sustained throughput") == Outcome("533 events/s", False)
    assert outcome(results, "... and >= 50 %") == NOT_MEASURED
    highest["passthrough"]["held"]["rate"] = 1_200.0
    assert outcome(results, "... and >= 50 %") == Outcome("44% (533 of 1,200 events/s)", False)
