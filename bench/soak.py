"""Worker memory over a long run under steady load: is it flat over a 30-minute soak?

Sets up what ``bench.decision_latency`` sets up, with its own functions: the local stack
on free ports in a temporary directory, the bootstrap model registered champion in a
temporary registry, one active campaign (the ``search`` trigger, every route, SMS), SMS
consent for each of ``--customers`` customers and the sailings of the coming week. Then
one engine worker (``faust -A streams.app worker``, decisions on the wall clock) is
started and, once it holds the campaign, the consent and the sailings, fed a short
warm-up step (every search of it must get its decision, so the model is loaded and the
worker has joined its group before the soak starts).

The soak: searches (customers drawn at random from the pool, the routes with a sailing
in the coming week, unique ids, keyed by customer) at ``--rate`` per second for
``--minutes``, in chunks paced by ``decision_latency``'s producer and kept on schedule
(a chunk makes up for the time the sample before it took). The default rate is about
half the highest rate of searches one engine worker sustains (``bench.decision_latency``
with ``--mix booking=1``), so the worker keeps up with margin. The pool (5,000 customers
by default) has searched whole well within the warm-up (each customer some 7 times in
6 minutes), so the worker holds a key for every customer by then and what the soak
watches is a steady worker, not one still meeting new customers; every search stays in
its customer's 24-hour funnel, as in production. Meanwhile the decisions on
``offers.decisions`` are read as they come.

Every ``--sample-s`` seconds (and at the start) a sample records: the seconds since the
start; the worker's RSS in MiB (``VmRSS`` of ``/proc/<pid>/status``, summed over the
worker process and its descendants); their CPU seconds so far (user and system, with
those of their reaped children); the searches sent; the searches whose decision has
been read, and the difference (the lag); Redis' ``used_memory`` (``INFO memory``); and
the keys the worker holds in its state tables (its /metrics page).

The verdict on the RSS: the first 20 % of the run is warm-up (at least 2 minutes, at
most half of the run) and left out: the worker's allocator, caches and the first
sighting of most customers settles there. Over the rest:

- ``slope_mib_per_10min``: the least-squares line through the RSS samples;
- ``growth_mib``: the median RSS of the last fifth of those samples minus that of the
  first fifth (medians of several samples, so one collection or one burst does not
  decide); ``growth_share``: that growth over the first fifth's median;
- ``flat``: growth below 10 MiB and below 5 % of the RSS. A leak of a single small
  object per event (100 bytes) comes to 14 MiB over the 144,000 events after a
  default warm-up, so it fails; the state that legitimately grows during the run passes
  with the allocator's noise (a few MiB): each search's 30 bytes in its customer's
  24-hour funnel, some 4 MiB at the defaults. The 5 % keeps the bar proportionate for
  a smaller worker.

After the last search, decisions are read until each search has one, ``DRAIN_S`` have
passed or none came for ``DRAIN_IDLE_S`` (those without one are ``missing``).

Prints JSON: the samples; ``rss_mib``: ``start`` (the first sample), ``after_warmup`` and
``end`` (the medians of the first and last fifth after the warm-up, whose difference is
``growth_mib``) and ``max``; the verdict; the searches sent (``events``), those with a
decision read (``decisions``) and without (``missing``); the decisions by outcome and
Redis' memory at the start and the end. Then a table with the sample nearest each
minute, and a one-line verdict. Ctrl-C or SIGTERM stops the worker and the stack and
deletes the temporary directory.

    .venv/bin/python -m bench.soak [--minutes 30] [--rate 100] [--customers 5000]
        [--sample-s 10] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, cast

from kafka import KafkaConsumer, TopicPartition
from redis import Redis

from bench.decision_latency import (
    DRAIN_IDLE_S,
    DRAIN_S,
    ENGINE,
    POLL_MS,
    WARMUP_DRAIN_S,
    WARMUP_RATE,
    WARMUP_S,
    Bench,
    Pipeline,
    Searches,
    _engine_holds,
    _prepare,
    _read_decision,
    paced_producer,
)
from bench.stack import temporary_stack
from offers.settings import Settings
from offers.stack.kafka import end_offsets
from offers.stack.workers import WorkerProcess
from offers.topics import BOOKING, DECISIONS

WARMUP_SHARE = 0.2
MIN_WARMUP_S = 120.0
MAX_WARMUP_SHARE = 0.5
"""A short run keeps at least half of its samples for the verdict."""
FLAT_MIB = 10.0
FLAT_SHARE = 0.05
MIN_JUDGED_SAMPLES = 5
"""Fewer samples after the warm-up than this leave no fifths to compare."""
MIB = 1024 * 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CATCH_UP_S = 1.0
"""The longest a sample spends reading decisions (the rest are read by the next one)."""


# Reading /proc ---------------------------------------------------------------------------


def vm_rss_kib(status: str) -> int | None:
    """``VmRSS`` in KiB from the text of ``/proc/<pid>/status`` (None: a kernel thread or
    a zombie, which have none)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


@dataclass(frozen=True, slots=True)
class ProcStat:
    """What ``/proc/<pid>/stat`` tells of a process: its parent and its CPU so far."""

    ppid: int
    cpu_ticks: int
    """User and system time, its own and that of its reaped children, in clock ticks."""


def parse_stat(stat: str) -> ProcStat:
    """The text of ``/proc/<pid>/stat``. The command name in parentheses may hold spaces
    and parentheses itself, so the fields are counted after its last ``)``."""
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ProcStat(ppid=int(fields[1]), cpu_ticks=utime + stime + cutime + cstime)


def descendants(root: int, parents: Mapping[int, int]) -> list[int]:
    """``root`` and every process below it, given each process' parent."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return sorted(tree)


def _proc_stats() -> dict[int, ProcStat]:
    """Every live process' stat (processes that end while being read are skipped)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = parse_stat((entry / "stat").read_text())
            except (OSError, IndexError, ValueError):
                continue
    return stats


def tree_usage(root: int) -> tuple[float, float, int]:
    """RSS (MiB) and CPU seconds of ``root`` and its descendants, and how many they are."""
    stats = _proc_stats()
    tree = descendants(root, {pid: stat.ppid for pid, stat in stats.items()})
    rss_kib = 0
    for pid in tree:
        try:
            rss_kib += vm_rss_kib(Path(f"/proc/{pid}/status").read_text()) or 0
        except OSError:
            continue
    cpu = sum(stats[pid].cpu_ticks for pid in tree if pid in stats) / CLOCK_TICKS
    return rss_kib / 1024, cpu, len(tree)


# The verdict -----------------------------------------------------------------------------


def warmup_s(duration_s: float) -> float:
    """The part of a run of ``duration_s`` left out of the verdict: 20 % of it, at least
    2 minutes, at most half."""
    return min(max(WARMUP_SHARE * duration_s, MIN_WARMUP_S), MAX_WARMUP_SHARE * duration_s)


@dataclass(frozen=True, slots=True)
class Flatness:
    """The RSS after the warm-up: its trend, its growth and whether it is flat."""

    warmup_s: float
    judged_samples: int
    after_warmup_mib: float
    """Median of the first fifth of the samples after the warm-up."""
    end_mib: float
    """Median of the last fifth."""
    growth_mib: float
    growth_share: float
    slope_mib_per_10min: float
    flat: bool


def flatness(points: Sequence[tuple[float, float]], duration_s: float) -> Flatness:
    """The verdict on ``(elapsed_s, rss_mib)`` samples of a run of ``duration_s``: samples
    before :func:`warmup_s` are left out; the growth compares the medians of the first and
    last fifth of the others, the slope is their least-squares line's."""
    warmup = warmup_s(duration_s)
    judged = sorted((t, rss) for t, rss in points if t >= warmup)
    if len(judged) < MIN_JUDGED_SAMPLES:
        raise ValueError(
            f"{len(judged)} samples after the warm-up of {warmup:.0f} s; "
            f"at least {MIN_JUDGED_SAMPLES} are needed"
        )
    fifth = len(judged) // 5
    first = statistics.median(rss for _, rss in judged[:fifth])
    last = statistics.median(rss for _, rss in judged[-fifth:])
    slope = statistics.linear_regression([t for t, _ in judged], [rss for _, rss in judged]).slope
    growth = last - first
    share = growth / first
    return Flatness(
        warmup_s=warmup,
        judged_samples=len(judged),
        after_warmup_mib=first,
        end_mib=last,
        growth_mib=growth,
        growth_share=share,
        slope_mib_per_10min=slope * 600,
        flat=growth < FLAT_MIB and share < FLAT_SHARE,
    )


# Sampling --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """The worker and Redis at one moment of the soak."""

    elapsed_s: float
    rss_mib: float
    cpu_s: float
    processes: int
    """The worker process and its descendants."""
    events: int
    decisions: int
    """Searches of the soak whose decision has been read."""
    lag: int
    """Searches sent whose decision has not been read yet."""
    redis_used_mib: float
    state_keys: int | None
    """Keys in the worker's state tables (not its replicas); None if /metrics did not
    answer."""


class DecisionReader:
    """Reads ``offers.decisions`` from the offsets it had when the reader was made: the
    outcome of the first decision of each event, and how many records repeated one."""

    def __init__(self, settings: Settings) -> None:
        start = end_offsets(settings.kafka_bootstrap, [DECISIONS.name])
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False
        )
        parts = [TopicPartition(topic, partition) for topic, partition in start]
        self.consumer.assign(parts)
        for part in parts:
            self.consumer.seek(part, start[(part.topic, part.partition)])
        self.found: dict[str, str | None] = {}
        self.repeats = 0

    def poll(self, timeout_ms: int) -> int:
        """Read what one poll returns; how many records."""
        read = 0
        for records in self.consumer.poll(timeout_ms=timeout_ms, max_records=10_000).values():
            for record in records:
                event_id, label = _read_decision(record.value)
                if event_id in self.found:
                    self.repeats += 1
                else:
                    self.found[event_id] = label
                read += 1
        return read

    def catch_up(self) -> None:
        """Read until a short poll returns nothing, for at most ``CATCH_UP_S``."""
        deadline = time.monotonic() + CATCH_UP_S
        while self.poll(50) and time.monotonic() < deadline:
            pass

    def answered(self, events: Iterable[str]) -> int:
        """How many of ``events`` have a decision read."""
        return sum(event_id in self.found for event_id in events)

    def close(self) -> None:
        self.consumer.close()


@dataclass(slots=True)
class SoakRun:
    """What a soak sent, read and sampled."""

    samples: list[Sample] = field(default_factory=list)
    sent: set[str] = field(default_factory=set)
    send_s: float = 0.0
    drain_s: float = 0.0


def _sample(
    began: float, worker: WorkerProcess, reader: DecisionReader, redis: Redis, sent: set[str]
) -> Sample:
    elapsed = time.monotonic() - began
    rss, cpu, processes = tree_usage(worker.process.pid)
    reader.catch_up()
    decisions = reader.answered(sent)
    return Sample(
        elapsed_s=elapsed,
        rss_mib=rss,
        cpu_s=cpu,
        processes=processes,
        events=len(sent),
        decisions=decisions,
        lag=len(sent) - decisions,
        redis_used_mib=int(cast("dict[str, Any]", redis.info("memory"))["used_memory"]) / MIB,
        state_keys=_state_keys(worker),
    )


def _state_keys(worker: WorkerProcess) -> int | None:
    """Keys in the worker's own state tables, from its /metrics page."""
    try:
        metrics = worker.metrics()
    except OSError:
        return None
    return int(
        sum(
            value
            for (name, labels), value in metrics.items()
            if name == "offers_table_keys" and not dict(labels)["table"].endswith("_replica")
        )
    )


def soak(
    bench: Bench,
    pipeline: Pipeline,
    reader: DecisionReader,
    redis: Redis,
    args: argparse.Namespace,
) -> SoakRun:
    """Searches at ``args.rate`` for ``args.minutes``, sampled every ``args.sample_s``;
    then the decisions drained."""
    worker = pipeline.worker
    run = SoakRun()
    duration = args.minutes * 60
    began = time.monotonic()
    run.samples.append(_sample(began, worker, reader, redis, run.sent))
    next_sample = began + args.sample_s
    end = began + duration
    while (now := time.monotonic()) < end:
        until = min(next_sample, end)
        # the events due by ``until`` on the run's schedule: the chunk makes up for the
        # time the sample before it took
        count = round(args.rate * (until - began)) - len(run.sent)
        if count >= 2 and until > now:
            sent = bench._send(pipeline, count / (until - now), until - now)
            run.sent.update(sent.stamps)
        else:
            time.sleep(max(until - now, 0))
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited: {worker.log_tail()}")
        run.samples.append(_sample(began, worker, reader, redis, run.sent))
        next_sample += args.sample_s
    run.send_s = time.monotonic() - began
    run.drain_s = _drain(worker, reader, run.sent)
    return run


def _drain(worker: WorkerProcess, reader: DecisionReader, sent: set[str]) -> float:
    """Read decisions until every event in ``sent`` has one, ``DRAIN_S`` have passed or
    none came for ``DRAIN_IDLE_S``; the seconds it took."""
    began = time.monotonic()
    last_read = began
    while reader.answered(sent) < len(sent):
        now = time.monotonic()
        if now - began > DRAIN_S or now - last_read > DRAIN_IDLE_S:
            break
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited: {worker.log_tail()}")
        if reader.poll(POLL_MS):
            last_read = time.monotonic()
    return time.monotonic() - began


# The report ------------------------------------------------------------------------------


def per_minute(samples: Sequence[Sample]) -> list[Sample]:
    """The sample nearest each whole minute of the run, from the first to the last."""
    if not samples:
        return []
    minutes = range(round(samples[-1].elapsed_s / 60) + 1)
    nearest = [min(samples, key=lambda s: abs(s.elapsed_s - 60 * m)) for m in minutes]
    return list(dict.fromkeys(nearest))


def _rounded(sample: Sample) -> dict[str, Any]:
    row = asdict(sample)
    for key in ("elapsed_s", "rss_mib", "cpu_s", "redis_used_mib"):
        row[key] = round(row[key], 2)
    return row


def result(args: argparse.Namespace, run: SoakRun, reader: DecisionReader) -> dict[str, Any]:
    """The JSON printed: the samples, the RSS, the verdict and the decisions."""
    verdict = flatness([(s.elapsed_s, s.rss_mib) for s in run.samples], args.minutes * 60)
    rss = [s.rss_mib for s in run.samples]
    decisions = reader.answered(run.sent)
    outcomes = Counter(reader.found[event_id] for event_id in run.sent if event_id in reader.found)
    return {
        "rate": args.rate,
        "minutes": args.minutes,
        "customers": args.customers,
        "sample_s": args.sample_s,
        "samples": [_rounded(s) for s in run.samples],
        "rss_mib": {
            "start": round(rss[0], 1),
            "after_warmup": round(verdict.after_warmup_mib, 1),
            "end": round(verdict.end_mib, 1),
            "max": round(max(rss), 1),
        },
        "warmup_s": round(verdict.warmup_s, 1),
        "judged_samples": verdict.judged_samples,
        "slope_mib_per_10min": round(verdict.slope_mib_per_10min, 2),
        "growth_mib": round(verdict.growth_mib, 2),
        "growth_share": round(verdict.growth_share, 4),
        "flat_below": {"mib": FLAT_MIB, "share": FLAT_SHARE},
        "flat": verdict.flat,
        "events": len(run.sent),
        "sent_per_s": round(len(run.sent) / run.send_s, 1),
        "decisions": decisions,
        "missing": len(run.sent) - decisions,
        "repeated_decisions": reader.repeats,
        "drain_s": round(run.drain_s, 1),
        "outcomes": {str(label): n for label, n in outcomes.most_common()},
        "redis_used_mib": {
            "start": round(run.samples[0].redis_used_mib, 1),
            "end": round(run.samples[-1].redis_used_mib, 1),
        },
    }


def _print_table(samples: Sequence[Sample]) -> None:
    print(
        "| min | RSS MiB | CPU s | CPU % since the row above | events | decisions | lag "
        "| Redis MiB | state keys |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    previous: Sample | None = None
    for s in per_minute(samples):
        cpu = "–"
        if previous is not None and s.elapsed_s > previous.elapsed_s:
            cpu = f"{100 * (s.cpu_s - previous.cpu_s) / (s.elapsed_s - previous.elapsed_s):.0f}"
        keys = "–" if s.state_keys is None else f"{s.state_keys:,}"
        print(
            f"| {s.elapsed_s / 60:.1f} | {s.rss_mib:,.1f} | {s.cpu_s:,.1f} "
            f"| {cpu} | {s.events:,} | {s.decisions:,} | {s.lag:,} | {s.redis_used_mib:,.1f} "
            f"| {keys} |"
        )
        previous = s


def verdict_line(summary: Mapping[str, Any]) -> str:
    """One line: flat or not, the growth and slope after the warm-up, and lost events."""
    word = "flat" if summary["flat"] else "NOT flat"
    return (
        f"Worker RSS {word}: {summary['growth_mib']:+.1f} MiB "
        f"({100 * summary['growth_share']:+.1f} %) after a {summary['warmup_s']:.0f} s warm-up, "
        f"slope {summary['slope_mib_per_10min']:+.1f} MiB / 10 min "
        f"(flat: < {FLAT_MIB:g} MiB and < {100 * FLAT_SHARE:g} %); "
        f"{summary['events']:,} searches, {summary['missing']:,} without a decision."
    )


# The run ---------------------------------------------------------------------------------


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM unwinds like Ctrl-C, so everything started is stopped on the way out."""
    raise SystemExit(128 + signum)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=100.0, help="searches per second")
    parser.add_argument("--customers", type=int, default=5_000, help="the pool drawn from")
    parser.add_argument("--sample-s", type=float, default=10.0, help="between samples")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    duration = args.minutes * 60
    if args.rate <= 0 or args.sample_s <= 0 or args.customers < 1:
        parser.error("--rate, --sample-s and --customers must be positive")
    if (duration - warmup_s(duration)) / args.sample_s < 2 * MIN_JUDGED_SAMPLES:
        parser.error(
            f"too few samples after the warm-up: at least {2 * MIN_JUDGED_SAMPLES} are "
            "needed; lengthen --minutes or shorten --sample-s"
        )
    return args


def _run(args: argparse.Namespace) -> tuple[SoakRun, DecisionReader]:
    """Set up the stack and the worker, warm it up, soak it; everything started is
    stopped on the way out, whatever happens."""
    customers = [f"bench-customer-{i}" for i in range(args.customers)]
    with temporary_stack() as (live, root):
        world = _prepare(live, root, customers, args.seed)
        producer = paced_producer(live, "bench-soak")
        with (
            closing(producer),
            closing(Redis.from_url(world.engine.redis_url)) as redis,
            WorkerProcess(world.engine, ENGINE, root) as worker,
        ):
            worker.wait_ready()
            _engine_holds(worker, world.campaign, customers, world.sailings, args.seed)
            bench = Bench(world.engine, Searches(customers, world.routes, args.seed), producer)
            pipeline = Pipeline(
                ENGINE,
                worker,
                BOOKING.name,
                DECISIONS.name,
                _read_decision,
                world.engine.stream_app_id,
            )
            warm = bench.step(pipeline, WARMUP_RATE, WARMUP_S, WARMUP_DRAIN_S, WARMUP_DRAIN_S)
            if warm.missing:
                raise RuntimeError(f"{warm.missing} warm-up searches without a decision")
            with closing(DecisionReader(world.engine)) as reader:
                return soak(bench, pipeline, reader, redis, args), reader


def main() -> None:
    args = _arguments()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        run, reader = _run(args)
    except KeyboardInterrupt:
        print("interrupted: everything started was stopped", file=sys.stderr)
        raise SystemExit(130) from None
    summary = result(args, run, reader)
    print(json.dumps(summary, indent=2))
    print()
    _print_table(run.samples)
    print()
    print(verdict_line(summary))


if __name__ == "__main__":
    main()
