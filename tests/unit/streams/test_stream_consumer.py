"""The workers' consumer and flow control (``streams.consumer``): an acknowledgement counts
only for a record fetched in the current rebalance generation, and resuming the flow keeps
the agents' buffers. No broker: the consumer is built, never started."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faust.types import TP, Message

from offers.settings import Settings
from streams.consumer import Consumer, FlowControl, Transport
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


def test_resuming_the_flow_keeps_the_buffers_and_revoking_clears_them(consumer: Consumer) -> None:
    flow = consumer.app.flow_control
    assert isinstance(flow, FlowControl)
    buffer = consumer.app.FlowControlQueue(maxsize=10, clear_on_resume=True)
    buffer.put_nowait("record fetched after the seek")
    flow.resume()
    assert buffer.qsize() == 1
    flow.clear()  # what Faust does when partitions are revoked
    assert buffer.qsize() == 0


def test_an_offset_acknowledged_twice_is_counted_once(consumer: Consumer) -> None:
    # Every record of a partition taken over in a rebalance read twice: one copy of each
    # acknowledged while Faust was committing the other's, after it had forgotten them.
    consumer._committed_offset[INPUT] = 167
    for offset in [166, 167, 168, 169]:
        consumer._acked[INPUT].extend([offset, offset])
    consumer._acked_index[INPUT].update({166, 167, 168, 169})
    assert consumer._new_offset(INPUT) == 170
    assert consumer._acked[INPUT] == []
    consumer._committed_offset[INPUT] = 170  # as the commit does once it is done
    assert consumer.ack(fetched(170, generation=3))
    assert not consumer.ack(fetched(170, generation=3))  # a second copy, not counted
    assert consumer._new_offset(INPUT) == 171


def test_the_commit_stops_at_the_first_missing_offset(consumer: Consumer) -> None:
    consumer._committed_offset[INPUT] = 10
    for offset in [10, 12, 13]:
        assert consumer.ack(fetched(offset, generation=3))
    assert consumer._new_offset(INPUT) == 11
    consumer._committed_offset[INPUT] = 11
    assert consumer._new_offset(INPUT) == 14  # Faust's lax rule: one missing is skipped


def test_a_revocation_gives_up_on_a_record_never_finished(consumer: Consumer) -> None:
    consumer.wait_empty_limit_s = 0.3
    held = fetched(0, generation=3)  # handed to an agent that will never finish it
    consumer._unacked_messages.add(held)
    committed: list[bool] = []

    async def commit(*args: object, **kwargs: object) -> bool:
        committed.append(True)
        return False

    consumer.commit = commit  # type: ignore[method-assign]  # no broker to commit to
    started = time.monotonic()
    consumer.loop.run_until_complete(consumer.wait_empty())
    assert 0.3 <= time.monotonic() - started < 3
    assert len(consumer._unacked_messages) == 0
    assert not held.acked  # not counted: read again from the committed offset
    assert consumer._acked[INPUT] == []
    assert committed


def test_a_revocation_waits_for_a_record_finished_in_time(consumer: Consumer) -> None:
    consumer.wait_empty_limit_s = 10.0
    under_way = fetched(0, generation=3)
    consumer._unacked_messages.add(under_way)

    async def commit(*args: object, **kwargs: object) -> bool:
        return False

    consumer.commit = commit  # type: ignore[method-assign]  # no broker to commit to

    async def finish_soon() -> None:
        await asyncio.sleep(0.2)
        consumer.ack(under_way)

    async def both() -> None:
        await asyncio.gather(consumer.wait_empty(), finish_soon())

    started = time.monotonic()
    consumer.loop.run_until_complete(both())
    assert time.monotonic() - started < 3
    assert under_way.acked and consumer._acked[INPUT] == [0]
