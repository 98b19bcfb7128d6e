"""Where simulated events go: JSONL files per topic, or Kafka at a chosen rate."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from tqdm import tqdm

from offers.contracts import Event, encode
from offers.settings import Settings
from offers.topics import topic_for

BATCH_SIZE_BYTES = 256 * 1024
LINGER_MS = 5
_PROGRESS_EVERY = 1_000
_MIN_SLEEP_S = 0.002


def write_jsonl(events: Iterable[Event], directory: Path) -> dict[str, int]:
    """Write each event to ``<directory>/<topic>.jsonl``; returns the lines per topic."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    with ExitStack() as stack:
        files: dict[str, IO[bytes]] = {}
        for event in events:
            topic = topic_for(event.TYPE).name
            out = files.get(topic)
            if out is None:
                out = stack.enter_context((directory / f"{topic}.jsonl").open("wb"))
                files[topic] = out
            out.write(encode(event) + b"\n")
            counts[topic] += 1
    return dict(sorted(counts.items()))


def stream_digest(events: Iterable[Event]) -> tuple[str, int]:
    """The sha256 of the encoded events, one per line, and how many there were."""
    hasher = hashlib.sha256()
    count = 0
    for event in events:
        hasher.update(encode(event) + b"\n")
        count += 1
    return hasher.hexdigest(), count


@dataclass(frozen=True, slots=True)
class ProduceReport:
    """What a run of the producer sent."""

    counts: dict[str, int]
    total: int
    elapsed_s: float
    events_per_s: float
    failed: int = 0
    first_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "total": self.total,
            "elapsed_s": round(self.elapsed_s, 3),
            "events_per_s": round(self.events_per_s, 1),
            "failed": self.failed,
            "first_error": self.first_error,
        }


class DeliveryError(RuntimeError):
    """Some records were not acknowledged by the brokers."""

    def __init__(self, report: ProduceReport) -> None:
        super().__init__(
            f"{report.failed} of {report.total} records failed; first error: {report.first_error}"
        )
        self.report = report


@dataclass
class _Failures:
    count: int = 0
    first: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, error: BaseException) -> None:
        with self.lock:
            self.count += 1
            if self.first is None:
                self.first = f"{type(error).__name__}: {error}"


def compression_type() -> str | None:
    """lz4 when the ``lz4`` package is installed, else no compression."""
    return "lz4" if importlib.util.find_spec("lz4") is not None else None


def producer_config(settings: Settings) -> dict[str, Any]:
    """Configuration of the Kafka producer for simulated events."""
    return {
        "bootstrap_servers": [s.strip() for s in settings.kafka_bootstrap.split(",") if s.strip()],
        "acks": "all",
        "linger_ms": LINGER_MS,
        "batch_size": BATCH_SIZE_BYTES,
        "compression_type": compression_type(),
        "client_id": "offers-simulator",
    }


def paced(
    events: Iterable[Event],
    rate: float | None,
    limit: int | None,
    duration_s: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Iterator[Event]:
    """``events`` at no more than ``rate`` per second, at most ``limit`` of them, for at
    most ``duration_s`` seconds (each bound is off when None)."""
    if rate is not None and rate <= 0:
        raise ValueError(f"rate: must be positive, got {rate}")
    started = clock()
    for n, event in enumerate(events):
        if limit is not None and n >= limit:
            return
        now = clock()
        if duration_s is not None and now - started >= duration_s:
            return
        if rate is not None:
            ahead = started + n / rate - now
            if ahead > _MIN_SLEEP_S:
                sleep(ahead)
        yield event


def at_speed(
    events: Iterable[Event],
    speed: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Event]:
    """``events`` (in time order) no faster than simulated time allows: ``speed``
    simulated seconds pass per wall second, from the first event's time. A loop that
    answers in wall time (a message delivered, a customer's click) then lags the world
    by ``speed`` times its wall-clock delay, not by whatever the producer can reach."""
    if speed <= 0:
        raise ValueError(f"speed: must be positive, got {speed}")
    started: float | None = None
    first: datetime | None = None
    for event in events:
        if first is None or started is None:
            first, started = event.event_time, clock()
        ahead = started + (event.event_time - first).total_seconds() / speed - clock()
        if ahead > _MIN_SLEEP_S:
            sleep(ahead)
        yield event


class KafkaEventProducer:
    """Sends events to their topics, keyed by their partition key.

    The record timestamp is left to the client (creation time), never the event time.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        factory: Callable[..., Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if factory is None:
            from kafka import KafkaProducer

            factory = KafkaProducer
        self._producer = factory(**producer_config(settings))
        self._clock = clock
        self._sleep = sleep

    def __enter__(self) -> KafkaEventProducer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._producer.close()

    def produce(
        self,
        events: Iterable[Event],
        rate: float | None = None,
        limit: int | None = None,
        duration_s: float | None = None,
        progress: bool = False,
    ) -> ProduceReport:
        """Send ``events`` (paced, bounded), flush, and report; raise
        :class:`DeliveryError` if any record was not acknowledged."""
        counts: Counter[str] = Counter()
        failures = _Failures()
        started = self._clock()
        with tqdm(total=limit, unit="ev", file=sys.stderr, disable=not progress) as bar:
            stream = paced(events, rate, limit, duration_s, self._clock, self._sleep)
            for n, event in enumerate(stream, start=1):
                topic = topic_for(event.TYPE).name
                self._send(topic, event, failures)
                counts[topic] += 1
                if n % _PROGRESS_EVERY == 0:
                    bar.update(_PROGRESS_EVERY)
            bar.update(sum(counts.values()) % _PROGRESS_EVERY)
            self._producer.flush()
        elapsed = max(self._clock() - started, 1e-9)
        total = sum(counts.values())
        report = ProduceReport(
            counts=dict(sorted(counts.items())),
            total=total,
            elapsed_s=elapsed,
            events_per_s=total / elapsed,
            failed=failures.count,
            first_error=failures.first,
        )
        if failures.count:
            raise DeliveryError(report)
        return report

    def _send(self, topic: str, event: Event, failures: _Failures) -> None:
        try:
            future = self._producer.send(
                topic, key=event.partition_key().encode(), value=encode(event)
            )
        except Exception as exc:  # the client raises many types; each is a lost record
            failures.record(exc)
            return
        future.add_errback(failures.record)


class RecordProducer(Protocol):
    """Where encoded records go: a Kafka producer, or a recorder in tests."""

    def send(self, topic: str, key: str, value: bytes) -> None: ...

    def flush(self) -> None: ...


class UnacknowledgedRecords(RuntimeError):
    """Records sent since the last flush that the brokers did not acknowledge."""


class KafkaRecordProducer:
    """A :class:`RecordProducer` over kafka-python's ``KafkaProducer`` (``acks=all``):
    :meth:`flush` waits for every record sent so far and raises
    :class:`UnacknowledgedRecords` if any was lost."""

    def __init__(self, settings: Settings, *, factory: Callable[..., Any] | None = None) -> None:
        if factory is None:
            from kafka import KafkaProducer

            factory = KafkaProducer
        self._producer = factory(**producer_config(settings))
        self._failures = _Failures()

    def __enter__(self) -> KafkaRecordProducer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, topic: str, key: str, value: bytes) -> None:
        future = self._producer.send(topic, key=key.encode("utf-8"), value=value)
        future.add_errback(self._failures.record)

    def flush(self) -> None:
        self._producer.flush()
        with self._failures.lock:
            count, first = self._failures.count, self._failures.first
            self._failures.count, self._failures.first = 0, None
        if count:
            raise UnacknowledgedRecords(f"{count} records were not acknowledged; first: {first}")

    def close(self) -> None:
        self._producer.close()
