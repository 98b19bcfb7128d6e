"""``make bench``: the benchmarks of ``bench/`` in turn, each against a local stack of its
own, their results kept and set beside the engine's performance targets.

Each benchmark runs as its own process (``python -m bench.<name> ...``) and prints its
results as JSON, then its tables. This keeps the JSON of each in
``bench/results/<name>.json`` and writes ``bench/results/RESULTS.md``: the machine and the
time of the run, one line per target with the measured value and whether it is met (or
"not measured" when no benchmark of this run measures it), then each benchmark's tables.
A benchmark that fails is reported with its exit code and the end of its output; the
others still run.

    .venv/bin/python -m bench.run [--only scoring,feature_reads] [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"

Results = Mapping[str, Mapping[str, Any]]
"""Each benchmark's JSON, by benchmark name."""


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    args: tuple[str, ...]
    quick_args: tuple[str, ...]
    """Smaller sizes, for a look in a few minutes rather than a measurement."""


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("scoring", ("--threads", "1"), ("--threads", "1", "--train-rows", "20000")),
    Benchmark("feature_reads", (), ("--customers", "2000", "--single", "200")),
    Benchmark("feature_throughput", (), ("--customers", "3000", "--repeats", "1")),
    Benchmark(
        "decision_latency",
        ("--rates", "50,200,500,1000,2000,5000,10000"),
        ("--rates", "50,200", "--seconds", "10", "--max-rate", "400", "--hold", "15"),
    ),
    Benchmark("online_state", (), ("--sizes", "20000", "--templates", "500")),
    Benchmark(
        "simulator_throughput",
        (),
        ("--customers", "50000", "--events", "50000", "--repeats", "1"),
    ),
    Benchmark("api_load", (), ("--rates", "100,300", "--seconds", "10")),
    Benchmark("soak", (), ("--minutes", "3", "--rate", "100", "--sample-s", "5")),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a target's benchmark measured: the value shown, and whether the target holds
    (None: not measured in this run)."""

    measured: str
    met: bool | None


@dataclass(frozen=True, slots=True)
class Target:
    what: str
    judge: Callable[[Results], Outcome]


NOT_MEASURED = Outcome("not measured", None)


def _get(results: Results, bench: str, *path: str | int) -> Any:
    """``results[bench][path...]``, or None where any step is missing."""
    value: Any = results.get(bench)
    for step in path:
        if isinstance(value, Mapping) and isinstance(step, str):
            value = value.get(step)
        elif isinstance(value, Sequence) and isinstance(step, int) and step < len(value):
            value = value[step]
        else:
            return None
    return value


def _sustained(results: Results, pipeline: str) -> float | None:
    """The highest rate the pipeline sustained for the hold (``--hold``, 60 s), or, in
    results without a hold, in a step."""
    highest = _get(results, "decision_latency", "highest_sustained", pipeline)
    if not isinstance(highest, Mapping):
        return None
    held = highest.get("held")
    rate = held.get("rate") if isinstance(held, Mapping) else highest.get("rate")
    return float(rate) if rate is not None else None


def _throughput(results: Results) -> Outcome:
    rate = _sustained(results, "engine")
    if rate is None:
        return NOT_MEASURED
    return Outcome(f"{rate:,.0f} events/s", rate >= 10_000)


def _throughput_share(results: Results) -> Outcome:
    engine, floor = _sustained(results, "engine"), _sustained(results, "passthrough")
    if engine is None or not floor:
        return NOT_MEASURED
    share = engine / floor
    return Outcome(f"{share:.0%} ({engine:,.0f} of {floor:,.0f} events/s)", share >= 0.5)


def _engine_row(results: Results, rate: float) -> Mapping[str, Any] | None:
    for row in _get(results, "decision_latency", "by_rate") or []:
        if float(row.get("rate", -1)) == rate:
            engine = row.get("engine")
            return engine if isinstance(engine, Mapping) else None
    return None


def _p99(engine: Mapping[str, Any] | None, rate: float, limit_ms: float) -> Outcome:
    if engine is None or engine.get("p99_ms") is None:
        return NOT_MEASURED
    p99 = float(engine["p99_ms"])
    if not engine.get("sustained", False):
        return Outcome(f"{p99:,.1f} ms, not sustained at {rate:,.0f}/s", False)
    return Outcome(f"{p99:,.1f} ms at {rate:,.0f}/s", p99 <= limit_ms)


def _latency_at_1000(results: Results) -> Outcome:
    return _p99(_engine_row(results, 1_000.0), 1_000.0, 10.0)


def _latency_near_top(results: Results) -> Outcome:
    """p99 at the highest measured fixed rate within 80 % of the highest sustained rate."""
    top = _sustained(results, "engine")
    if top is None:
        return NOT_MEASURED
    rates = [
        float(row["rate"])
        for row in _get(results, "decision_latency", "by_rate") or []
        if float(row["rate"]) <= 0.8 * top and row.get("engine")
    ]
    if not rates:
        return Outcome(f"no fixed rate at or below 80 % of {top:,.0f}/s", None)
    rate = max(rates)
    return _p99(_engine_row(results, rate), rate, 50.0)


def _read_vs_floor(results: Results) -> Outcome:
    ratio = _get(results, "feature_reads", "ratio_to_floor", "reader_batched")
    floor = _get(results, "feature_reads", "us_per_customer_median", "raw_hmget_floor")
    if ratio is None or floor is None:
        return NOT_MEASURED
    return Outcome(f"{ratio:.1f}x the floor ({floor:,.1f} µs)", ratio <= 1.5)


def _read_vs_sdk(results: Results) -> Outcome:
    sdk = _get(results, "feature_reads", "us_per_customer_median", "sdk_per_customer")
    ours = _get(results, "feature_reads", "us_per_customer_median", "reader_batched")
    if sdk is None or not ours:
        return NOT_MEASURED
    return Outcome(
        f"{sdk / ours:,.0f}x cheaper ({ours:,.1f} against {sdk:,.0f} µs)", sdk / ours >= 5
    )


def _scoring(results: Results) -> Outcome:
    us = _get(results, "scoring", "us_per_candidate_median", "compiled_batched")
    batch = _get(results, "scoring", "batch")
    if us is None:
        return NOT_MEASURED
    return Outcome(f"{us:,.2f} µs (compiled, batches of {batch})", us <= 5.0)


def _online_state(results: Results) -> Outcome:
    sizes = _get(results, "online_state", "by_size") or {}
    if not sizes:
        return NOT_MEASURED
    largest = max(sizes, key=int)
    per_customer = float(sizes[largest]["bytes_per_customer"])
    return Outcome(
        f"{per_customer:,.0f} bytes at {int(largest):,} customers (feature rows)",
        per_customer <= 1024,
    )


def _soak(results: Results) -> Outcome:
    flat = _get(results, "soak", "flat")
    if flat is None:
        return NOT_MEASURED
    minutes = _get(results, "soak", "minutes")
    growth = _get(results, "soak", "growth_mib")
    share = _get(results, "soak", "growth_share")
    return Outcome(
        f"{growth:+,.1f} MiB ({share:+.1%}) after the warm-up of {minutes:g} minutes at "
        f"{_get(results, 'soak', 'rate'):g} events/s",
        bool(flat) and minutes >= 30,
    )


def _api_p99(results: Results) -> Outcome:
    steps = _get(results, "api_load", "by_route", "customer_offers") or []
    step = next((s for s in steps if float(s.get("rate", -1)) == 1_000.0), None)
    if step is None or step.get("p99_ms") is None:
        top = _get(results, "api_load", "highest_kept_rate", "customer_offers")
        return Outcome(f"not run at 1,000/s (highest kept: {top})", None) if steps else NOT_MEASURED
    p99 = float(step["p99_ms"])
    achieved = float(step["achieved_rps"])
    if not step.get("kept"):
        return Outcome(f"{p99:,.0f} ms, {achieved:,.0f} of 1,000 requests/s achieved", False)
    return Outcome(f"{p99:,.0f} ms at {achieved:,.0f} requests/s", p99 <= 10.0)


TARGETS: tuple[Target, ...] = (
    Target(
        "Sustained throughput of the whole pipeline, one worker: >= 10,000 events/s", _throughput
    ),
    Target("... and >= 50 % of the pass-through agent's throughput", _throughput_share),
    Target("Event-to-decision p99 <= 10 ms at 1,000 events/s", _latency_at_1000),
    Target(
        "Event-to-decision p99 <= 50 ms at 80 % of the highest sustained rate", _latency_near_top
    ),
    Target("Feature read per candidate <= 1.5x the raw pipelined Redis floor", _read_vs_floor),
    Target("Feature read per candidate >= 5x cheaper than Feast SDK per-event reads", _read_vs_sdk),
    Target("Scoring <= 5 µs per candidate in micro-batches", _scoring),
    Target("Online state <= 1 KiB per customer", _online_state),
    Target("Worker memory flat over a 30-minute soak", _soak),
    Target("API p99 <= 10 ms at 1,000 requests/s for customer offers", _api_p99),
)


def split_output(stdout: str) -> tuple[dict[str, Any], str]:
    """A benchmark's JSON and the tables printed after it."""
    text = stdout.lstrip()
    start = text.find("{")
    if start < 0:
        raise ValueError("the benchmark printed no JSON")
    result, end = json.JSONDecoder().raw_decode(text, start)
    if not isinstance(result, dict):
        raise ValueError("the benchmark's JSON is not an object")
    return result, text[end:].strip()


def verdict(outcome: Outcome) -> str:
    return {True: "met", False: "**not met**", None: "–"}[outcome.met]


def machine() -> dict[str, Any]:
    """What the run ran on."""
    model = platform.processor() or platform.machine()
    memory_kib = 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 2**20, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def render(
    results: Results,
    tables: Mapping[str, str],
    failures: Mapping[str, str],
    host: Mapping[str, Any],
    started: datetime,
    commands: Mapping[str, str],
) -> str:
    """RESULTS.md: the machine, the targets with the measured values, each table."""
    lines = [
        "# Benchmark results",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC on {host['cpu']}, {host['cores']} cores, "
        f"{host['memory_gib']} GiB, Python {host['python']}, {host['system']}; the broker, "
        "Redis and the workers share the machine. Medians of repeats within one run.",
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
    ]
    for target in TARGETS:
        outcome = target.judge(results)
        lines.append(f"| {target.what} | {outcome.measured} | {verdict(outcome)} |")
    for name, command in commands.items():
        lines += ["", f"## {name}", "", f"`{command}`", ""]
        if name in failures:
            lines += ["Failed:", "", "```", failures[name], "```"]
        else:
            lines.append(tables.get(name, ""))
    return "\n".join(lines) + "\n"


def _command(benchmark: Benchmark, quick: bool) -> list[str]:
    args = benchmark.quick_args if quick else benchmark.args
    return [sys.executable, "-m", f"bench.{benchmark.name}", *args]


def _shown(benchmark: Benchmark, quick: bool) -> str:
    return " ".join(["python", *_command(benchmark, quick)[1:]])


def run(benchmark: Benchmark, quick: bool) -> tuple[subprocess.CompletedProcess[str], str]:
    command = _command(benchmark, quick)
    shown = _shown(benchmark, quick)
    print(f"$ {shown}", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done, shown


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a look")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    chosen = {name for name in args.only.split(",") if name}
    unknown = chosen - {b.name for b in BENCHMARKS}
    if unknown:
        parser.error(f"no benchmark named {', '.join(sorted(unknown))}")
    started = datetime.now(UTC)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    tables: dict[str, str] = {}
    failures: dict[str, str] = {}
    commands: dict[str, str] = {}
    for benchmark in BENCHMARKS:
        if chosen and benchmark.name not in chosen:
            kept = args.out / f"{benchmark.name}.json"
            if kept.is_file():  # an earlier run's figures, so that RESULTS.md stays whole
                results[benchmark.name] = json.loads(kept.read_text(encoding="utf-8"))
                tables[benchmark.name] = (args.out / f"{benchmark.name}.md").read_text(
                    encoding="utf-8"
                )
                commands[benchmark.name] = f"{_shown(benchmark, args.quick)} (an earlier run)"
            continue
        began = time.perf_counter()
        done, commands[benchmark.name] = run(benchmark, args.quick)
        seconds = time.perf_counter() - began
        try:
            if done.returncode != 0:
                raise ValueError(f"exit code {done.returncode}")
            results[benchmark.name], tables[benchmark.name] = split_output(done.stdout)
        except ValueError as exc:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            failures[benchmark.name] = f"{exc}\n{tail}"
            print(f"  failed after {seconds:.0f} s: {exc}", flush=True)
            continue
        (args.out / f"{benchmark.name}.json").write_text(
            json.dumps(results[benchmark.name], indent=2) + "\n", encoding="utf-8"
        )
        (args.out / f"{benchmark.name}.md").write_text(tables[benchmark.name], encoding="utf-8")
        print(f"  done in {seconds:.0f} s", flush=True)
    report = render(results, tables, failures, machine(), started, commands)
    (args.out / "RESULTS.md").write_text(report, encoding="utf-8")
    print(report)
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
