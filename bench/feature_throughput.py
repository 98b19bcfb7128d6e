"""Feature throughput of one stream-processor worker, beside its compute and Feast floors.

Starts the local stack on free ports in a temporary directory and produces one simulated
day of ``--customers`` customers (20,000 by default) into the input topics. Then, each of
``--repeats`` rounds in turn:

(a) ``worker``: one fresh worker group (its own app id, Redis database and Feast data
    directory) of one ``faust -A streams.app worker`` process works through the backlog.
    Its /metrics page is sampled every 0.5 s; the rate runs from the first sample with
    progress to the moment the group's lag is 0 (every event processed, its row written
    to Feast and its offset committed). Also: the median of the rates between samples
    (steady state), the Feast flushes from the worker's metrics and its peak RSS. A
    worker whose agent crashes, or that makes no progress for ``--stall`` seconds, is
    killed and the round starts again with a new group (``worker_restarts`` says why);
(b) ``compute_only``: in this process, no Kafka and no Feast: the same events, encoded,
    decoded with ``offers.contracts.decode`` and applied with ``streams.processing.step``
    to entries kept in a dict per view, as the worker's tables keep them;
(c) ``feast_write_only``: the rows of (b) written by ``streams.sink.FeastWriter`` (online
    and offline) in micro-batches of ``feature_batch_rows`` events, into a fresh store.

Prints JSON and a table: the medians of (a), (b) and (c) and the ratio of (a) to (b).

    .venv/bin/python -m bench.feature_throughput [--customers 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from redis import Redis

from bench.stack import temporary_stack
from features.store import apply_feature_repo
from offers.contracts import Event, ValidationClock, decode, encode
from offers.settings import Settings
from offers.stack.workers import WorkerProcess, group_lag
from offers.topics import topic_for
from simulators.sink import KafkaEventProducer
from simulators.world import World, WorldConfig
from streams.features.rows import Row
from streams.processing import step
from streams.sink import Batches, FeastWriter
from streams.views import FEATURE_VIEWS, FeatureView

SAMPLE_S = 0.5
LAG_POLL_S = 0.2
REDIS_DBS = 15
"""Databases 1-15 of Redis' default 16, taken in turn and emptied before use."""
WORKER_ATTEMPTS = 3
CRASH_MARK = "Crashed reason="
"""What Faust logs when an agent raises."""

Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class WorkerFailed(RuntimeError):
    """The worker cannot finish the backlog: an agent crashed, or it stopped progressing."""


@dataclass(frozen=True, slots=True)
class Record:
    """One input record as the worker reads it: its view, key, value and offset."""

    view: FeatureView
    key: bytes
    value: bytes
    offset: int


@dataclass(frozen=True, slots=True)
class WorkerRun:
    """One worker working through the backlog."""

    events: int
    events_per_s: float
    """From the first sample with progress to the group's lag at 0."""
    steady_events_per_s: float
    """Median of the rates between two samples, while the backlog lasted."""
    startup_s: float
    """From the process start to its /metrics page answering."""
    first_progress_s: float
    """From the page answering to the first sample with progress."""
    processing_s: float
    """From the first sample with progress to the first with every event counted."""
    commit_tail_s: float
    """From the first sample with every event counted to the group's lag at 0."""
    flushes: int
    flushes_over_1s: int
    flush_ms_mean: float
    rows_per_flush: float
    flush_share: float
    """Time spent in Feast writes over the measured time (the agents wait for them)."""
    peak_rss_mib: float | None


class FreshGroups:
    """Settings of fresh worker groups and stores on one stack: each its own app id,
    Redis database (emptied) and Feast data directory (registry applied)."""

    def __init__(self, stack: Settings, root: Path) -> None:
        self.stack = stack
        self.root = root
        self.made = 0

    def __call__(self, name: str) -> Settings:
        self.made += 1
        app_id = f"{name}-{self.made}"
        root = self.root / app_id
        redis_url = self.stack.redis_url.rsplit("/", 1)[0] + f"/{1 + self.made % REDIS_DBS}"
        with Redis.from_url(redis_url) as client:
            client.flushdb()
        settings = Settings(
            **{
                **self.stack.model_dump(),
                "stream_app_id": app_id,
                "redis_url": redis_url,
                "feast_data_dir": root / "feast",
                "stack_dir": root,
                # the feature agents alone: with the decision agent in the same worker the
                # figure depended on whether the source tree's registry held a champion
                "worker_decisions": False,
            }
        )
        apply_feature_repo(settings)
        return settings


def _sum(metrics: Metrics, name: str, labels: tuple[tuple[str, str], ...] | None = None) -> float:
    return sum(
        value
        for (sample, found), value in metrics.items()
        if sample == name and (labels is None or found == labels)
    )


def _peak_rss_mib(pid: int) -> float | None:
    """VmHWM of a live process, or None when /proc does not tell."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


class CrashWatch:
    """Reads a worker's log as it grows and raises on the first agent crash."""

    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker
        self.read = 0

    def check(self) -> None:
        with self.worker.log_path.open("rb") as log:
            log.seek(self.read)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.read += len(complete)
        for line in complete.decode(errors="replace").splitlines():
            if CRASH_MARK in line:
                raise WorkerFailed(f"agent crashed: {line.split(CRASH_MARK, 1)[1][:300]}")


def _samples(
    worker: WorkerProcess, settings: Settings, total: int, stall_s: float
) -> tuple[list[tuple[float, float]], float]:
    """(time, events counted) every ``SAMPLE_S`` until the group's lag is 0, and then."""
    samples: list[tuple[float, float]] = []
    watch = CrashWatch(worker)
    progressed_at = time.perf_counter()
    while True:
        if worker.process.poll() is not None:
            raise WorkerFailed(f"exited: {worker.log_tail()}")
        watch.check()
        now = time.perf_counter()
        count = _sum(worker.metrics(), "offers_stream_events_total")
        if not samples or count > samples[-1][1]:
            progressed_at = now
        samples.append((now, count))
        if count >= total:
            if group_lag(settings) == 0:
                return samples, time.perf_counter()
            time.sleep(LAG_POLL_S)
            continue
        if now - progressed_at > stall_s:
            raise WorkerFailed(f"no progress for {stall_s} s at {count:.0f} of {total} events")
        time.sleep(max(0.0, now + SAMPLE_S - time.perf_counter()))


def _worker_run(settings: Settings, total: int, stall_s: float) -> WorkerRun:
    started = time.perf_counter()
    with WorkerProcess(settings, "worker", settings.stack_dir) as worker:
        try:
            worker.wait_ready()
            ready = time.perf_counter()
            samples, caught_up = _samples(worker, settings, total, stall_s)
            metrics = worker.metrics()
            peak_rss = _peak_rss_mib(worker.process.pid)
        finally:
            if worker.process.poll() is None:
                worker.kill()  # the group is thrown away: no orderly stop needed
    first = next(i for i, (_, count) in enumerate(samples) if count > 0)
    done = next(i for i, (_, count) in enumerate(samples) if count >= total)
    start_t, start_count = samples[first] if first < done else (ready, 0.0)
    events = _sum(metrics, "offers_stream_events_total")
    intervals = [
        (c1 - c0) / (t1 - t0)
        for (t0, c0), (t1, c1) in zip(samples[first:done], samples[first + 1 : done], strict=False)
    ]
    rate = (events - start_count) / (caught_up - start_t)
    online = (("store", "online"),)
    flushes = _sum(metrics, "offers_feature_flush_seconds_count", online)
    under_1s = _sum(metrics, "offers_feature_flush_seconds_bucket", (("le", "1.0"), *online))
    flush_s = _sum(metrics, "offers_feature_flush_seconds_sum", online)
    rows = _sum(metrics, "offers_feature_rows_written_total")
    return WorkerRun(
        events=int(events),
        events_per_s=rate,
        steady_events_per_s=statistics.median(intervals) if intervals else rate,
        startup_s=ready - started,
        first_progress_s=start_t - ready,
        processing_s=samples[done][0] - start_t,
        commit_tail_s=caught_up - samples[done][0],
        flushes=int(flushes),
        flushes_over_1s=int(flushes - under_1s),
        flush_ms_mean=1000 * flush_s / flushes if flushes else 0.0,
        rows_per_flush=rows / flushes if flushes else 0.0,
        flush_share=flush_s / (caught_up - start_t),
        peak_rss_mib=peak_rss,
    )


def _worker_round(
    fresh: FreshGroups, total: int, stall_s: float, restarts: list[dict[str, str]]
) -> WorkerRun:
    """One measured worker run, on a new group after each failed attempt (noted)."""
    for _ in range(WORKER_ATTEMPTS - 1):
        group = fresh("bench-worker")
        try:
            return _worker_run(group, total, stall_s)
        except WorkerFailed as exc:
            restarts.append({"app_id": group.stream_app_id, "reason": str(exc)})
    return _worker_run(fresh("bench-worker"), total, stall_s)


def _records(events: list[Event]) -> list[Record]:
    """The events as the worker's agents read them, with an offset per topic."""
    views = {view.topic.name: view for view in FEATURE_VIEWS}
    offsets: Counter[str] = Counter()
    records = []
    for event in events:
        topic = topic_for(event.TYPE).name
        records.append(
            Record(views[topic], event.partition_key().encode(), encode(event), offsets[topic])
        )
        offsets[topic] += 1
    return records


def _compute_only(
    records: list[Record], settings: Settings
) -> tuple[float, list[tuple[str, Row | None]], int]:
    """Events per second of decode and step; each event's push source and row; the
    geofence transitions the events caused."""
    clock = ValidationClock.from_settings(settings)
    lateness = timedelta(seconds=settings.allowed_lateness_seconds)
    tables: dict[str, dict[bytes, bytes]] = {view.name: {} for view in FEATURE_VIEWS}
    rows: list[tuple[str, Row | None]] = []
    transitions = 0
    started = time.perf_counter()
    for record in records:
        view = record.view
        event = decode(record.value, expected=view.event_type, clock=clock)
        key = view.key_of(event).encode()
        table = tables[view.name]
        result = step(view, table.get(key), event, record.offset, lateness)
        if result.entry is not None:
            table[key] = result.entry.encode()
        transitions += len(result.transitions)
        rows.append((view.spec.push_source_name, result.row))
    rate = len(records) / (time.perf_counter() - started)
    return rate, rows, transitions


def _batches(rows: list[tuple[str, Row | None]], batch_events: int) -> list[Batches]:
    """The rows in the worker's micro-batches: ``batch_events`` events each."""
    batches: list[Batches] = []
    for start in range(0, len(rows), batch_events):
        batch: dict[str, list[Row]] = {}
        for push_source, row in rows[start : start + batch_events]:
            if row is not None:
                batch.setdefault(push_source, []).append(row)
        batches.append(batch)
    return batches


def _feast_write_only(batches: list[Batches], settings: Settings) -> float:
    """Rows per second written by the worker's Feast writer, the store built beforehand."""
    write = FeastWriter(settings)
    write.online({})
    rows = sum(len(part) for batch in batches for part in batch.values())
    started = time.perf_counter()
    for batch in batches:
        write.online(batch)
        write.offline(batch)
    return rows / (time.perf_counter() - started)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3) if value < 10 else round(value, 1)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stall", type=float, default=30.0, help="seconds without progress")
    args = parser.parse_args()
    began = time.perf_counter()

    events = list(World(WorldConfig(seed=args.seed, customers=args.customers, days=1)).events())
    records = _records(events)
    by_topic = Counter(topic_for(event.TYPE).name for event in events)

    with temporary_stack() as (live, root):
        with KafkaEventProducer(live) as producer:
            produced = producer.produce(events)
        fresh = FreshGroups(live, root)
        worker_runs: list[WorkerRun] = []
        restarts: list[dict[str, str]] = []
        compute: list[float] = []
        write: list[float] = []
        for _ in range(args.repeats):
            worker_runs.append(_worker_round(fresh, len(events), args.stall, restarts))
            rate, rows, transitions = _compute_only(records, live)
            compute.append(rate)
            batches = _batches(rows, live.feature_batch_rows)
            write.append(_feast_write_only(batches, fresh("bench-write")))

    worker_median = statistics.median(run.events_per_s for run in worker_runs)
    steady_median = statistics.median(run.steady_events_per_s for run in worker_runs)
    compute_median = statistics.median(compute)
    write_median = statistics.median(write)
    result = {
        "customers": args.customers,
        "events": len(events),
        "events_per_customer": round(len(events) / args.customers, 2),
        "events_by_topic": dict(sorted(by_topic.items())),
        "rows": sum(row is not None for _, row in rows),
        "geofence_transitions": transitions,
        "repeats": args.repeats,
        "topic_partitions": live.topic_partitions,
        "feature_batch_rows": live.feature_batch_rows,
        "feature_flush_ms": live.feature_flush_ms,
        "produce_events_per_s": round(produced.events_per_s),
        "worker_events_per_s_median": round(worker_median),
        "worker_steady_events_per_s_median": round(steady_median),
        "compute_only_events_per_s_median": round(compute_median),
        "feast_write_only_rows_per_s_median": round(write_median),
        "worker_to_compute_only_ratio": round(worker_median / compute_median, 3),
        "worker_runs": [
            {key: _rounded(value) for key, value in asdict(run).items()} for run in worker_runs
        ],
        "worker_restarts": restarts,
        "compute_only_events_per_s_runs": [round(rate) for rate in compute],
        "feast_write_only_rows_per_s_runs": [round(rate) for rate in write],
        "elapsed_s": round(time.perf_counter() - began, 1),
    }
    print(json.dumps(result, indent=2))
    print()
    print("| measure | median | runs |")
    print("| --- | ---: | --- |")
    to_lag_0 = [run.events_per_s for run in worker_runs]
    steady = [run.steady_events_per_s for run in worker_runs]
    table = [
        ("(a) worker, events/s to lag 0", worker_median, to_lag_0),
        ("(a) worker, steady events/s", steady_median, steady),
        ("(b) compute only, events/s", compute_median, compute),
        ("(c) Feast write only, rows/s", write_median, write),
    ]
    for name, median, runs in table:
        print(f"| {name} | {median:,.0f} | {', '.join(f'{r:,.0f}' for r in runs)} |")
    print(f"| (a) / (b) | {worker_median / compute_median:.3f} | |")


if __name__ == "__main__":
    main()
