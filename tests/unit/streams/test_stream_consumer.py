"""The workers' consumer (``streams.consumer``): it counts an acknowledgement only for a
record fetched in the current rebalance generation, commits only from the committed
offset on, and reads a missing record again. No broker: the consumer is built, never
started; its two calls to the broker are answered by the test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from faust.types import TP, Message

from offers.settings import Settings
from streams.consumer import (
    HOLE_PATIENCE_S,
    STALL_PATIENCE_S,
    Consumer,
    FlowControl,
    Transport,
)
from streams.worker import StreamApp, app_options

INPUT = TP("events.booking", 0)


@pytest.fixture
def consumer(tmp_path: Path) -> Iterator[Consumer]:
    settings = Settings(stack_dir=tmp_path, kafka_bootstrap="127.0.0.1:1")
    app = StreamApp(settings, "consumer-test", **app_options(settings))
    # acknowledgements count only on topics the app reads: as its agents subscribing would
    app.topics._acking_topics.add(INPUT.topic)
    app.consumer_generation_id = 3
    consumer = app.consumer
    assert isinstance(consumer, Consumer)
    yield consumer


def fetched(offset: int, generation: int) -> Message:
    return Message(
        INPUT.topic, INPUT.partition, offset, 0.0, 0, None, b"k", b"v", None,
        tp=INPUT, generation_id=generation,
    )  # fmt: skip


def test_the_app_builds_the_repaired_transport(consumer: Consumer) -> None:
    assert isinstance(consumer.transport, Transport)


def test_an_ack_of_this_generation_counts(consumer: Consumer) -> None:
    assert consumer.ack(fetched(0, generation=3))
    assert consumer._acked[INPUT] == [0]


def test_an_ack_of_an_earlier_generation_does_not_count(consumer: Consumer) -> None:
    stale = fetched(0, generation=2)
    consumer._unacked_messages.add(stale)
    assert not consumer.ack(stale)
    assert stale.acked  # done with: a rebalance no longer waits for it
    assert stale not in consumer._unacked_messages
    assert consumer._acked[INPUT] == []
    # the same record fetched again after the rebalance is counted
    assert consumer.ack(fetched(0, generation=3))
    assert consumer._acked[INPUT] == [0]


def test_a_commit_waits_for_the_record_at_the_committed_offset(consumer: Consumer) -> None:
    consumer._committed_offset[INPUT] = 1
    for offset in (2, 3):
        assert consumer.ack(fetched(offset, generation=3))
    assert consumer._new_offset(INPUT) is None  # offset 1 is not acknowledged
    assert consumer.ack(fetched(1, generation=3))
    assert consumer._new_offset(INPUT) == 4


class Seeks:
    """The consumer's two broker calls, answered here: the first offset it asks for, and
    the seeks it makes."""

    def __init__(self, consumer: Consumer, first: int) -> None:
        self.made: list[tuple[TP, int]] = []
        self.first = first
        consumer.earliest_offsets = self.earliest  # type: ignore[method-assign]
        consumer.seek = self.seek  # type: ignore[method-assign]

    async def earliest(self, *partitions: TP) -> dict[TP, int]:
        return dict.fromkeys(partitions, self.first)

    async def seek(self, partition: TP, offset: int) -> None:
        self.made.append((partition, offset))


def test_a_record_missing_before_acknowledged_ones_is_read_again(consumer: Consumer) -> None:
    seeks = Seeks(consumer, first=0)
    consumer._committed_offset[INPUT] = 1
    assert consumer.ack(fetched(2, generation=3))
    asyncio.run(consumer._check(INPUT, now=100.0, held=set()))
    asyncio.run(consumer._check(INPUT, now=100.0 + HOLE_PATIENCE_S - 1, held=set()))
    assert seeks.made == []  # not yet: it may still be on its way
    asyncio.run(consumer._check(INPUT, now=100.0 + HOLE_PATIENCE_S, held=set()))
    assert seeks.made == [(INPUT, 1)]


def test_records_deleted_by_retention_are_not_waited_for(consumer: Consumer) -> None:
    seeks = Seeks(consumer, first=7)
    consumer._committed_offset[INPUT] = 1
    assert consumer.ack(fetched(7, generation=3))
    asyncio.run(consumer._check(INPUT, now=0.0, held=set()))
    asyncio.run(consumer._check(INPUT, now=HOLE_PATIENCE_S, held=set()))
    assert seeks.made == []
    assert consumer._new_offset(INPUT) == 8


def test_a_record_an_agent_holds_gets_longer_to_be_acknowledged(consumer: Consumer) -> None:
    seeks = Seeks(consumer, first=0)
    consumer._committed_offset[INPUT] = 1
    assert consumer.ack(fetched(2, generation=3))
    held = {(INPUT, 1)}  # e.g. a feature row waiting for its flush
    asyncio.run(consumer._check(INPUT, now=0.0, held=held))
    asyncio.run(consumer._check(INPUT, now=STALL_PATIENCE_S - 1, held=held))
    assert seeks.made == []
    asyncio.run(consumer._check(INPUT, now=STALL_PATIENCE_S, held=held))
    assert seeks.made == [(INPUT, 1)]


def test_resuming_the_flow_keeps_the_buffers_and_revoking_clears_them(consumer: Consumer) -> None:
    flow = consumer.app.flow_control
    assert isinstance(flow, FlowControl)
    buffer = consumer.app.FlowControlQueue(maxsize=10, clear_on_resume=True)
    buffer.put_nowait("record fetched after the seek")
    flow.resume()
    assert buffer.qsize() == 1
    flow.clear()  # what Faust does when partitions are revoked
    assert buffer.qsize() == 0
