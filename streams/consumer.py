"""The workers' Kafka transport: Faust's aiokafka driver, with a consumer that commits a
partition only as far as every record of it was acknowledged, and reads a record again
when an agent never got it.

Faust acknowledges a record once every agent reading it is done with it (for the feature
agents, once its row is written; for the decision agent, once its decision records are in
Kafka) and commits the highest offset below which all are acknowledged. Around a
rebalance, Faust 0.15 and aiokafka break that in ways seen in the two-worker kill test:

- Faust seeks every assigned partition to its committed offset with aiokafka's
  ``seek_to_committed``, which leaves a partition without one where this worker last
  fetched it: records fetched before the rebalance, dropped with the agents' buffers,
  were never read again.
- Faust clears the agents' buffers when it resumes after seeking, while records of the
  resumed partitions are already arriving: a record one agent had taken and another had
  not was never acknowledged, and never read again.
- Faust then committed past such a record: it only waits for a missing record at the
  head of the acknowledged ones when it is more than one offset ahead, and not at all
  for a partition without a committed offset.

So this consumer:

1. seeks a partition without a committed offset to its first record, and resumes the
   flow without clearing the agents' buffers (``FlowControl``);
2. commits a partition only while the acknowledged records start at its committed offset;
3. when a partition's committed offset has not moved for a while although later records
   were acknowledged, seeks it back to its committed offset so that every agent gets the
   missing record again (agents are idempotent on a record read twice): after
   ``HOLE_PATIENCE_S`` if no agent holds the record, after ``STALL_PATIENCE_S`` if one
   does (it may still be working on it: a feature row waits for its flush, a decision
   batch for Redis; or another agent never got it), and after ``STALL_PATIENCE_S`` too
   when nothing later was acknowledged but the partition has records left;
4. does not count an acknowledgement of a record fetched before the current rebalance
   (Faust acknowledges such a record when a stream drops it as stale); the record is
   read again from the committed offset.

It relies on the consumed topics having consecutive offsets (neither compacted nor
transactional), which holds for the engine's input topics. ``StreamApp``
(``streams.worker``) builds its transport with :func:`transport_for`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from faust.transport.drivers import aiokafka as driver
from faust.types import TP, AppT, Message
from faust.types.transports import TransportT
from faust.types.tuples import ack_lock
from mode import Service
from mode.utils.futures import notify
from mode.utils.queues import FlowControlEvent
from yarl import URL

log = logging.getLogger(__name__)

CHECK_S = 1.0
HOLE_PATIENCE_S = 5.0
"""How long a record that no agent holds may stay unacknowledged while later ones are."""
STALL_PATIENCE_S = 60.0
"""How long a partition with records left may go without a commit otherwise."""


class ConsumerThread(driver.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Mapping[TP, int]:
        positions: Mapping[TP, int] = await self.call_thread(self._seek_to_committed)
        return positions

    async def _seek_to_committed(self) -> Mapping[TP, int]:
        """Every assigned partition at its committed offset, and every partition an agent
        reads (not a table's changelog) without one at its first record."""
        consumer = self._ensure_consumer()
        committed: Mapping[TP, int] = await consumer.seek_to_committed()
        acking = self.app.topics.acks_enabled_for
        never = [tp for tp, offset in committed.items() if offset is None and acking(tp.topic)]
        if never:
            await consumer.seek_to_beginning(*never)
        return committed


class Consumer(driver.Consumer):
    def __post_init__(self) -> None:
        super().__post_init__()
        self._unmoved: dict[TP, tuple[int, float]] = {}
        """Per partition, its committed offset and since when it has not moved."""

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def ack(self, message: Message) -> bool:
        with ack_lock:
            if message.generation_id == self.app.consumer_generation_id:
                return super().ack(message)
            # done with, but not counted: fetched again from the committed offset
            message.acked = True
            self._unacked_messages.discard(message)
            notify(self._waiting_for_ack)
            return False

    def _new_offset(self, tp: TP) -> int | None:
        if self._missing_head(tp):
            return None
        new: int | None = super()._new_offset(tp)
        return new

    def _missing_head(self, tp: TP) -> bool:
        """Whether records after the committed offset are acknowledged but not it."""
        committed = self._committed_offset.get(tp)
        starts = [*self._acked.get(tp, ()), *(gap.begin for gap in self._gap.get(tp, ()))]
        return committed is not None and bool(starts) and min(starts) != committed

    @Service.task
    async def _read_missing_records(self) -> None:
        while not self.should_stop:
            await self.sleep(CHECK_S)
            if self.app.rebalancing:
                self._unmoved.clear()
                continue
            held = {(message.tp, message.offset) for message in list(self._unacked_messages)}
            for tp in self.assignment():
                if self.app.topics.acks_enabled_for(tp.topic):
                    await self._check(tp, time.monotonic(), held)

    async def _check(self, tp: TP, now: float, held: set[tuple[TP, int]]) -> None:
        """Read ``tp`` again from its committed offset if that record is overdue;
        ``held``: the records some agent has taken and not acknowledged."""
        committed = self._committed_offset.get(tp)
        if committed is None:
            return
        since = self._unmoved.get(tp)
        if since is None or since[0] != committed:
            self._unmoved[tp] = (committed, now)
            return
        waited = now - since[1]
        missing = self._missing_head(tp)
        patience = HOLE_PATIENCE_S if missing and (tp, committed) not in held else STALL_PATIENCE_S
        if waited < patience or not (missing or (self.highwater(tp) or 0) > committed):
            return
        del self._unmoved[tp]
        first = (await self.earliest_offsets(tp)).get(tp, committed)
        if first > committed:  # deleted by retention: nothing below it to wait for
            log.warning("%s: records before %d are gone; going on from there", tp, first)
            self._committed_offset[tp] = first
            return
        log.warning(
            "%s: offset %d not acknowledged after %.0f s%s; reading again from it",
            tp,
            committed,
            waited,
            " while later ones are" if missing else "",
        )
        await self.seek(tp, committed)


class FlowControl(FlowControlEvent):
    """Faust's flow control, except that resuming keeps what the agents' buffers hold.

    Faust resumes the flow after seeking the partitions to their committed offsets, and
    resuming cleared the buffers: records fetched from the new positions in between were
    dropped, and the fetcher went on after them. Stale records are still dropped: the
    buffers are cleared when partitions are revoked, and a record fetched before a
    rebalance is skipped by the streams."""

    def resume(self) -> None:
        self._suspend.clear()
        self._resume.set()


class Transport(driver.Transport):
    Consumer = Consumer


def transport_for(urls: list[URL], app: AppT) -> TransportT:
    """The transport of ``app`` for its brokers ``urls`` (``kafka://`` only)."""
    schemes = {url.scheme for url in urls}
    if schemes != {"kafka"}:
        raise ValueError(f"the workers speak to Kafka (kafka://), not {sorted(schemes)}")
    return Transport(urls, app)
