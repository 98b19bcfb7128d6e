from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from offers.contracts import Event, decode
from offers.settings import Settings
from simulators.sink import DeliveryError, KafkaEventProducer, paced, write_jsonl


def test_jsonl_files_hold_one_line_per_event(tmp_path: Path, small_events: list[Event]) -> None:
    counts = write_jsonl(small_events, tmp_path)
    assert sum(counts.values()) == len(small_events)
    for topic, count in counts.items():
        lines = (tmp_path / f"{topic}.jsonl").read_bytes().splitlines()
        assert len(lines) == count
        assert decode(lines[0]).TYPE in {e.TYPE for e in small_events}


class _Future:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def add_errback(self, callback: Any) -> None:
        if self.error is not None:
            callback(self.error)


class _FakeProducer:
    def __init__(self, fail_every: int = 0, **config: Any) -> None:
        self.config = config
        self.sent: list[tuple[str, bytes, bytes, dict[str, Any]]] = []
        self.fail_every = fail_every
        self.flushed = self.closed = False

    def send(self, topic: str, key: bytes, value: bytes, **extra: Any) -> _Future:
        self.sent.append((topic, key, value, extra))
        failing = self.fail_every and len(self.sent) % self.fail_every == 0
        return _Future(RuntimeError("broker down") if failing else None)

    def flush(self) -> None:
        self.flushed = True

    def close(self) -> None:
        self.closed = True


def test_the_producer_keys_records_and_counts_them(small_events: list[Event]) -> None:
    fake: dict[str, _FakeProducer] = {}

    def factory(**config: Any) -> _FakeProducer:
        fake["producer"] = _FakeProducer(**config)
        return fake["producer"]

    with KafkaEventProducer(Settings(), factory=factory) as producer:
        report = producer.produce(small_events, limit=500)
    sent = fake["producer"]
    assert sent.config["acks"] == "all" and sent.config["batch_size"] == 256 * 1024
    assert sent.config["compression_type"] in (None, "lz4")
    assert report.total == len(sent.sent) == 500 and sum(report.counts.values()) == 500
    assert sent.flushed and sent.closed
    for (_topic, key, value, extra), event in zip(sent.sent, small_events, strict=False):
        assert key == event.partition_key().encode()
        assert decode(value) == event and "timestamp_ms" not in extra


def test_failed_deliveries_are_raised(small_events: list[Event]) -> None:
    producer = KafkaEventProducer(Settings(), factory=lambda **c: _FakeProducer(10, **c))
    with pytest.raises(DeliveryError) as caught:
        producer.produce(small_events, limit=100)
    assert caught.value.report.failed == 10 and "broker down" in str(caught.value)


class _Clock:
    """A fake monotonic clock: each reading advances it by ``tick`` seconds."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now = 0.0
        self.tick = tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_pacing_holds_the_rate_and_the_limit(small_events: list[Event]) -> None:
    clock = _Clock()
    out = list(paced(small_events, 100.0, 250, None, clock, clock.sleep))
    assert len(out) == 250 and 2.4 <= clock.now <= 2.5


def test_pacing_stops_after_the_duration(small_events: list[Event]) -> None:
    clock = _Clock(tick=0.01)
    out = list(paced(small_events, None, None, 2.0, clock, clock.sleep))
    assert 190 <= len(out) <= 200
