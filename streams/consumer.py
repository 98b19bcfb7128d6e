"""The workers' Kafka transport and flow control: Faust's, with repairs to how a worker
resumes after a rebalance, without which the group committed past records no agent had
processed.

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

So this transport:

1. resumes the flow without clearing the agents' buffers (``FlowControl``);
2. seeks a partition without a committed offset to its first record;
3. does not count an acknowledgement of a record fetched before the current rebalance
   (Faust acknowledges such a record when a stream drops it as stale); the record is
   read again from the committed offset;
4. counts each acknowledged offset once. A partition taken over in a rebalance is read
   twice from its committed offset (once as assigned, once after Faust's seek), and
   Faust forgets an offset it is committing before the commit ends: a second copy
   acknowledged meanwhile went into the list again. Faust commits the first run of
   consecutive offsets in that list, so with every offset listed twice it advanced one
   offset per commit interval, and a worker that took over thousands of records took
   minutes to commit them.

5. waits at most :data:`WAIT_EMPTY_LIMIT_S` for the records under way when partitions
   are revoked (or the worker stops). Faust waits for ever, and a record that one agent
   was handed but will never finish (held by a buffer the revocation emptied, or by a
   stream the rebalance suspended) held the whole group in its rebalance: the rebalance
   storm scenario saw a worker wait minutes for one booking record. A record given up on
   is not committed, so whoever owns its partition next reads it again; every agent is
   idempotent on that.

Faust's own rule for what to commit is kept: it still commits past a record that is
missing exactly one offset after the committed one, so a record lost some other way
would be skipped rather than stall the partition.

``StreamApp`` (``streams.worker``) builds its transport with :func:`transport_for` and
uses :class:`FlowControl`.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Mapping

from faust.transport.drivers import aiokafka as driver
from faust.types import TP, AppT, Message
from faust.types.transports import TransportT
from faust.types.tuples import ack_lock
from mode.utils.futures import notify
from mode.utils.queues import FlowControlEvent
from yarl import URL

log = logging.getLogger(__name__)

WAIT_EMPTY_LIMIT_S = 30.0
"""How long a revocation (or a stop) waits for the records under way to be acknowledged."""


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
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _new_offset(self, tp: TP) -> int | None:
        """Faust's offset to commit, counted over the acknowledged offsets without repeats
        and without those already committed."""
        with ack_lock:
            acked = self._acked[tp]
            committed = self._committed_offset[tp]
            kept = sorted({o for o in acked if committed is None or o >= committed})
            if len(kept) != len(acked):
                acked[:] = kept
                self._acked_index[tp] = set(kept)
            offset: int | None = super()._new_offset(tp)
            return offset

    def ack(self, message: Message) -> bool:
        with ack_lock:
            if message.generation_id == self.app.consumer_generation_id:
                return super().ack(message)
            # done with, but not counted: fetched again from the committed offset
            message.acked = True
            self._unacked_messages.discard(message)
            notify(self._waiting_for_ack)
            return False

    async def wait_empty(self) -> None:
        """Faust's wait for every record under way to be acknowledged, given up after
        ``wait_empty_limit_s``: the records still under way are forgotten (not counted as
        acknowledged, so not committed) and the revocation goes on."""
        deadline = time.monotonic() + self.wait_empty_limit_s
        while not self.should_stop and self._unacked_messages:
            if time.monotonic() >= deadline:
                stuck = sorted((m.topic, m.partition, m.offset) for m in self._unacked_messages)
                log.warning(
                    "gave up waiting for %d record(s) under way after %.0f s: %s; they are "
                    "read again from the committed offsets",
                    len(stuck), self.wait_empty_limit_s, stuck[:10],
                )  # fmt: skip
                self._unacked_messages.clear()
                break
            gc.collect()  # the set is weak: records dropped with the buffers leave it
            await self.commit()
            if not self._unacked_messages:
                break
            await self._wait_for_ack(timeout=1)
            self._clean_unacked_messages()
        await self.commit_and_end_transactions()

    wait_empty_limit_s: float = WAIT_EMPTY_LIMIT_S


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
