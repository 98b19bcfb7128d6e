"""Feature throughput of one stream-processor worker, beside its compute and Feast floors.

Starts the local stack on free ports in a temporary directory and produces one simulated
day of ``--customers`` customers (20,000 by default) into the input topics. Then, each of
``--repeats`` rounds in turn:

(a) ``worker``: one fresh worker group (its own app id, Redis database and Feast data
    directory) of one ``faust -A streams.app worker`` process works through the backlog.
    Its /metrics page is sampled every 0.5 s; the rate runs from the first sample with
    progress to the moment the group's lag is 0 (every event processed, its row written
    to Feast and its offset committed). Also: the median of the per-interval rates
    (steady state), the Feast flushes from the worker's metrics and its peak RSS;
(b) ``compute_only``: in this process, no Kafka and no Feast: the same events, encoded,
    decoded with ``offers.contracts.decode`` and applied with ``streams.processing.step``
    to entries kept in a dict per view, as the worker's tables keep them;
(c) ``feast_write_only``: the rows of (b) written by ``streams.sink.FeastWriter`` (online
    and offline) in batches of ``feature_batch_rows`` events, into a fresh store.

Prints JSON and a table: the medians of (a), (b) and (c) and the ratio of (a) to (b).

    .venv/bin/python -m bench.feature_throughput [--customers 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from features.store import apply_feature_repo
from offers.contracts import Event, ValidationClock, decode, encode
from offers.settings import Settings
from offers.stack import LocalStack
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
MAX_REPEATS = 7
"""Each round takes two Redis databases of the default 16: 1-7 and 8-14."""

Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


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
    flush_ms_mean: float
    rows_per_flush: float
    flush_share: float
    """Time spent in Feast writes over the measured time (the agents wait for them)."""
    peak_rss_mib: float | None


def _sum(metrics: Metrics, name: str) -> float:
    return sum(value for (sample, _), value in metrics.items() if sample == name)


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


def _group_settings(stack: Settings, root: Path, app_id: str, redis_db: int) -> Settings:
    """The stack's settings with their own app id, Redis database and Feast repository."""
    settings = Settings(
        **{
            **stack.model_dump(),
            "stream_app_id": app_id,
            "redis_url": stack.redis_url.rsplit("/", 1)[0] + f"/{redis_db}",
            "feast_data_dir": root / "feast",
            "stack_dir": root,
        }
    )
    apply_feature_repo(settings)
    return settings


def _samples(
    worker: WorkerProcess, settings: Settings, total: int, timeout: float
) -> tuple[list[tuple[float, float]], float]:
    """(time, events counted) every ``SAMPLE_S`` until the group's lag is 0, and then."""
    samples: list[tuple[float, float]] = []
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"{worker.name} exited: {worker.log_tail()}")
        now = time.perf_counter()
        count = _sum(worker.metrics(), "offers_stream_events_total")
        samples.append((now, count))
        if count >= total:
            if group_lag(settings) == 0:
                return samples, time.perf_counter()
            time.sleep(LAG_POLL_S)
        else:
            time.sleep(max(0.0, now + SAMPLE_S - time.perf_counter()))
    raise RuntimeError(f"{worker.name} not caught up after {timeout} s: {worker.log_tail()}")


def _worker_run(settings: Settings, root: Path, name: str, total: int, timeout: float) -> WorkerRun:
    started = time.perf_counter()
    with WorkerProcess(settings, name, root) as worker:
        worker.wait_ready()
        ready = time.perf_counter()
        samples, caught_up = _samples(worker, settings, total, timeout)
        metrics = worker.metrics()
        peak_rss = _peak_rss_mib(worker.process.pid)
    first = next(i for i, (_, count) in enumerate(samples) if count > 0)
    done = next(i for i, (_, count) in enumerate(samples) if count >= total)
    start_t, start_count = samples[first] if first < done else (ready, 0.0)
    events = _sum(metrics, "offers_stream_events_total")
    rate = (events - start_count) / (caught_up - start_t)
    intervals = [
        (c1 - c0) / (t1 - t0)
        for (t0, c0), (t1, c1) in zip(samples[first:done], samples[first + 1 : done], strict=False)
    ]
    flushes = _sum(metrics, "offers_feature_flush_seconds_count")
    flush_s = _sum(metrics, "offers_feature_flush_seconds_sum")
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
        flush_ms_mean=1000 * flush_s / flushes if flushes else 0.0,
        rows_per_flush=rows / flushes if flushes else 0.0,
        flush_share=flush_s / (caught_up - start_t),
        peak_rss_mib=peak_rss,
    )


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
    write({})
    rows = sum(len(part) for batch in batches for part in batch.values())
    started = time.perf_counter()
    for batch in batches:
        write(batch)
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
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per worker run")
    args = parser.parse_args()
    if not 1 <= args.repeats <= MAX_REPEATS:
        parser.error(f"--repeats: between 1 and {MAX_REPEATS}")

    events = list(World(WorldConfig(seed=args.seed, customers=args.customers, days=1)).events())
    records = _records(events)
    by_topic = Counter(topic_for(event.TYPE).name for event in events)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(
            stack_kafka_port=0, stack_redis_port=0, stack_dir=root, feast_data_dir=root / "feast"
        )
        with LocalStack(settings, root) as stack:
            live = stack.configured()
            with KafkaEventProducer(live) as producer:
                produced = producer.produce(events)
            worker_runs: list[WorkerRun] = []
            compute: list[float] = []
            write: list[float] = []
            for i in range(args.repeats):
                group = _group_settings(live, root / f"worker-{i}", f"bench-features-{i}", 1 + i)
                worker_runs.append(
                    _worker_run(group, root / f"worker-{i}", "worker", len(events), args.timeout)
                )
                rate, rows, transitions = _compute_only(records, live)
                compute.append(rate)
                target = _group_settings(live, root / f"write-{i}", f"bench-write-{i}", 8 + i)
                batches = _batches(rows, live.feature_batch_rows)
                write.append(_feast_write_only(batches, target))

    worker_median = statistics.median(run.events_per_s for run in worker_runs)
    compute_median = statistics.median(compute)
    write_median = statistics.median(write)
    written_rows = sum(row is not None for _, row in rows)
    result = {
        "customers": args.customers,
        "events": len(events),
        "events_per_customer": round(len(events) / args.customers, 2),
        "events_by_topic": dict(sorted(by_topic.items())),
        "rows": written_rows,
        "geofence_transitions": transitions,
        "repeats": args.repeats,
        "topic_partitions": live.topic_partitions,
        "feature_batch_rows": live.feature_batch_rows,
        "feature_flush_ms": live.feature_flush_ms,
        "produce_events_per_s": round(produced.events_per_s),
        "worker_events_per_s_median": round(worker_median),
        "worker_steady_events_per_s_median": round(
            statistics.median(run.steady_events_per_s for run in worker_runs)
        ),
        "compute_only_events_per_s_median": round(compute_median),
        "feast_write_only_rows_per_s_median": round(write_median),
        "worker_to_compute_only_ratio": round(worker_median / compute_median, 3),
        "worker_runs": [
            {key: _rounded(value) for key, value in asdict(run).items()} for run in worker_runs
        ],
        "compute_only_events_per_s_runs": [round(rate) for rate in compute],
        "feast_write_only_rows_per_s_runs": [round(rate) for rate in write],
    }
    print(json.dumps(result, indent=2))
    print()
    print("| measure | median | runs |")
    print("| --- | ---: | --- |")
    table = [
        ("(a) worker, events/s to lag 0", worker_median, [r.events_per_s for r in worker_runs]),
        (
            "(a) worker, steady events/s",
            statistics.median(r.steady_events_per_s for r in worker_runs),
            [r.steady_events_per_s for r in worker_runs],
        ),
        ("(b) compute only, events/s", compute_median, compute),
        ("(c) Feast write only, rows/s", write_median, write),
    ]
    for name, median, runs in table:
        print(f"| {name} | {median:,.0f} | {', '.join(f'{r:,.0f}' for r in runs)} |")
    print(f"| (a) / (b) | {worker_median / compute_median:.3f} | |")


if __name__ == "__main__":
    main()
