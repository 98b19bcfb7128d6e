"""Where a topic tail starts reading each partition the first time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kafka import TopicPartition
from kafka.structs import OffsetAndTimestamp

from offers.state.tail import from_beginning, since

A, B = TopicPartition("t", 0), TopicPartition("t", 1)
MOMENT = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


class Consumer:
    """The seeks a tail asks of its consumer, and the offsets it is told for a time."""

    def __init__(self, found: dict[TopicPartition, OffsetAndTimestamp | None]) -> None:
        self.found = found
        self.asked: dict[TopicPartition, int] = {}
        self.seeks: list[tuple[str, Any]] = []

    def offsets_for_times(
        self, times: dict[TopicPartition, int]
    ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        self.asked = times
        return self.found

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append(("seek", (tp, offset)))

    def seek_to_end(self, tp: TopicPartition) -> None:
        self.seeks.append(("end", tp))

    def seek_to_beginning(self, *parts: TopicPartition) -> None:
        self.seeks.append(("beginning", parts))


def test_since_starts_at_the_first_record_written_then_or_at_the_end() -> None:
    consumer = Consumer({A: OffsetAndTimestamp(42, 0, -1), B: None})
    since(MOMENT)(consumer, [A, B])  # type: ignore[arg-type]
    assert consumer.asked == {A: 1_780_308_000_000, B: 1_780_308_000_000}
    assert consumer.seeks == [("seek", (A, 42)), ("end", B)]


def test_from_beginning_reads_every_partition_whole() -> None:
    consumer = Consumer({})
    from_beginning(consumer, [A, B])  # type: ignore[arg-type]
    assert consumer.seeks == [("beginning", (A, B))]
