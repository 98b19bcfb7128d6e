"""Micro-batched feature writes: ``streams.sink.FeatureSink`` with an in-process writer."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from streams.features.rows import Row
from streams.metrics import StreamMetrics
from streams.sink import OFFLINE_BACKLOG, Batches, FeatureSink


class RecordingWriter:
    """Records each batch it writes online (``batches``) and offline (``logged``); fails
    its first ``failures`` online writes."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts = 0
        self.batches: list[dict[str, list[Row]]] = []
        self.logged: list[dict[str, list[Row]]] = []
        self._lock = threading.Lock()

    def online(self, batches: Batches) -> None:
        with self._lock:
            self.attempts += 1
            if self.attempts <= self.failures:
                raise ConnectionError("feature store unavailable")
            self.batches.append(copied(batches))

    def offline(self, batches: Batches) -> None:
        with self._lock:
            self.logged.append(copied(batches))


def copied(batches: Batches) -> dict[str, list[Row]]:
    return {source: list(rows) for source, rows in batches.items()}


class Acks:
    """Ack callbacks that record, for each event, how many batches were written before."""

    def __init__(self, writer: RecordingWriter) -> None:
        self.writer = writer
        self.done: list[tuple[str, int]] = []

    def __call__(self, event_id: str) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            self.done.append((event_id, len(self.writer.batches)))

        return ack


def row(n: int) -> Row:
    return {"customer_id": f"c{n}", "n": n}


def sink_for(writer: RecordingWriter, **options: Any) -> tuple[FeatureSink, StreamMetrics]:
    metrics = StreamMetrics()
    options = {
        "max_events": 100,
        "interval_s": 60.0,
        "offline_interval_s": 60.0,
        "max_backoff_s": 0.01,
        **options,
    }
    return FeatureSink(writer, metrics=metrics, **options), metrics


def metric_counts(metrics: StreamMetrics) -> Counter[str]:
    """Flush failures and rows written by push source. Compared before and after: once
    feast is imported (other test modules do), it has switched prometheus_client to
    multiprocess values, which every StreamMetrics of the process shares."""
    sample = metrics.registry.get_sample_value
    counts: Counter[str] = Counter(failures=sample("offers_feature_flush_failures_total") or 0)
    for source in ("location", "social"):
        metrics.rows_written.labels(source)  # the child reads any shared value
        labels = {"push_source": source}
        counts[source] = sample("offers_feature_rows_written_total", labels) or 0
    return counts


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout=2))


async def until(condition: Callable[[], bool], timeout_s: float = 1.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


def test_flush_writes_one_batch_by_push_source_then_acks() -> None:
    writer = RecordingWriter()
    acks = Acks(writer)
    sink, _ = sink_for(writer)

    async def scenario() -> None:
        await sink.add("location", row(1), acks("e1"))
        await sink.add("social", row(2), acks("e2"))
        await sink.add("location", None, acks("e3"))
        await sink.add("location", row(3), acks("e4"))
        assert writer.batches == [] and acks.done == [] and sink.pending == 4
        await sink.flush()
        assert writer.batches == [{"location": [row(1), row(3)], "social": [row(2)]}]
        assert acks.done == [("e1", 1), ("e2", 1), ("e3", 1), ("e4", 1)]
        assert sink.pending == 0
        await sink.add("social", row(4), acks("e5"))
        await sink.flush()
        await sink.flush()  # nothing left: no empty batch
        assert writer.batches[1:] == [{"social": [row(4)]}]
        assert acks.done[-1] == ("e5", 2)
        await sink.close()

    run(scenario)


def test_events_without_rows_are_acked_without_a_write() -> None:
    writer = RecordingWriter()
    acks = Acks(writer)
    sink, _ = sink_for(writer)

    async def scenario() -> None:
        await sink.add("location", None, acks("e1"))
        await sink.flush()
        assert writer.attempts == 0 and acks.done == [("e1", 0)]
        await sink.close()

    run(scenario)


def test_reaching_max_events_writes_online_and_acks_after_the_offline_log() -> None:
    writer = RecordingWriter()
    acks = Acks(writer)
    sink, _ = sink_for(writer, max_events=3)

    async def scenario() -> None:
        await sink.add("location", row(1), acks("e1"))
        await sink.add("location", None, acks("e2"))
        assert writer.batches == [] and sink.pending == 2
        await sink.add("location", row(3), acks("e3"))
        assert writer.batches == [{"location": [row(1), row(3)]}] and sink.writes == 1
        assert writer.logged == [] and acks.done == [] and sink.pending == 3
        await sink.flush()
        assert writer.logged == [{"location": [row(1), row(3)]}]
        assert acks.done == [("e1", 1), ("e2", 1), ("e3", 1)] and sink.pending == 0
        await sink.close()

    run(scenario)


def test_the_offline_log_gets_several_online_writes_at_once_on_its_interval() -> None:
    writer = RecordingWriter()
    acks = Acks(writer)
    sink, _ = sink_for(writer, interval_s=0.01, offline_interval_s=0.3)

    async def scenario() -> None:
        await sink.add("location", row(1), acks("e1"))
        await until(lambda: len(writer.batches) == 1)
        await sink.add("social", row(2), acks("e2"))
        await until(lambda: len(writer.batches) == 2)
        assert writer.logged == [] and acks.done == []
        await until(lambda: len(acks.done) == 2)
        assert writer.logged == [{"location": [row(1)], "social": [row(2)]}]
        assert acks.done == [("e1", 2), ("e2", 2)]
        await sink.close()

    run(scenario)


def test_a_backlog_of_events_waiting_for_the_offline_log_writes_it() -> None:
    writer = RecordingWriter()
    acks = Acks(writer)
    sink, _ = sink_for(writer, max_events=2)
    n = 2 * OFFLINE_BACKLOG

    async def scenario() -> None:
        for i in range(n):
            await sink.add("location", row(i), acks(f"e{i}"))
        assert len(writer.batches) == OFFLINE_BACKLOG
        assert writer.logged == [{"location": [row(i) for i in range(n)]}]
        assert len(acks.done) == n and sink.pending == 0
        await sink.close()

    run(scenario)


def test_interval_flushes_by_itself() -> None:
    writer = RecordingWriter()
    acks = Acks(writer)
    sink, _ = sink_for(writer, interval_s=0.02, offline_interval_s=0.02)

    async def scenario() -> None:
        await sink.add("location", row(1), acks("e1"))
        await until(lambda: acks.done != [])
        assert writer.batches == [{"location": [row(1)]}] and acks.done == [("e1", 1)]
        await sink.add("social", row(2), acks("e2"))
        await until(lambda: len(acks.done) == 2)
        assert writer.batches[1:] == [{"social": [row(2)]}]
        await sink.close()

    run(scenario)


def test_failed_writes_are_retried_without_loss_duplication_or_early_acks() -> None:
    writer = RecordingWriter(failures=2)
    acks = Acks(writer)
    sink, metrics = sink_for(writer)

    async def scenario() -> None:
        await sink.add("location", row(1), acks("e1"))
        await sink.add("social", row(2), acks("e2"))
        await sink.add("location", row(3), acks("e3"))
        flushing = asyncio.create_task(sink.flush())
        await until(lambda: writer.attempts >= 1)
        assert acks.done == []
        await flushing
        assert writer.attempts == 3
        assert writer.batches == [{"location": [row(1), row(3)], "social": [row(2)]}]
        assert acks.done == [("e1", 1), ("e2", 1), ("e3", 1)]
        await sink.close()

    counts = metric_counts(metrics)
    run(scenario)
    assert metric_counts(metrics) - counts == Counter(failures=2, location=2, social=1)


def test_close_writes_what_is_left() -> None:
    writer = RecordingWriter()
    acks = Acks(writer)
    sink, _ = sink_for(writer)

    async def scenario() -> None:
        await sink.add("location", row(1), acks("e1"))
        await sink.add("location", None, acks("e2"))
        await sink.close()
        assert writer.batches == [{"location": [row(1)]}]
        assert acks.done == [("e1", 1), ("e2", 1)] and sink.pending == 0

    run(scenario)


class GatedWriter(RecordingWriter):
    """A writer whose writes block until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def online(self, batches: Batches) -> None:
        with self._lock:
            self.attempts += 1
        self.gate.wait(timeout=1)
        with self._lock:
            self.batches.append(copied(batches))


def test_close_during_an_interval_flush_acks_its_events() -> None:
    writer = GatedWriter()
    acks = Acks(writer)
    sink, _ = sink_for(writer, interval_s=0.01)

    async def scenario() -> None:
        await sink.add("location", row(1), acks("e1"))
        await until(lambda: writer.attempts == 1)  # the ticker's flush is writing
        writer.gate.set()
        await sink.close()
        assert writer.batches == [{"location": [row(1)]}]
        assert acks.done == [("e1", 1)]

    run(scenario)


def test_a_reader_waiting_for_a_write_hurries_it_and_wakes_when_it_ends() -> None:
    writer = RecordingWriter()
    acks = Acks(writer)
    sink, _ = sink_for(writer, interval_s=60.0)  # no write on the interval in this test

    async def scenario() -> None:
        await sink.add("location", row(1), acks("e1"))
        seen: list[int] = []

        def reader() -> None:
            sink.wait_for_write(timeout_s=60.0)
            seen.append(len(writer.batches))

        waiting = asyncio.create_task(asyncio.to_thread(reader))
        await sink.add("location", row(2), acks("e2"))  # before the hurried write
        await waiting
        assert seen == [1]
        assert writer.batches == [{"location": [row(1), row(2)]}]
        assert sink.writes == 1
        await sink.close()

    run(scenario)


def test_a_reader_gives_up_waiting_after_its_timeout() -> None:
    writer = RecordingWriter()
    sink, _ = sink_for(writer)  # never started: nothing can write

    sink.wait_for_write(timeout_s=0.05)

    assert sink.writes == 0 and writer.attempts == 0
