"""The workers' Kafka transport: Faust's aiokafka driver with two repairs to how the
consumer resumes after a rebalance, without which a rebalance can make the group commit
past records that no agent processed (a killed or restarted worker's successor then
never sees them).

1. **Partitions the group has never committed are read from their beginning** whenever
   they are assigned. After every rebalance Faust seeks each assigned partition to its
   committed offset with aiokafka's ``seek_to_committed``, which leaves a partition
   without one wherever this consumer last fetched it. The records fetched before the
   rebalance were dropped with the agents' buffers, so the agents went on after them,
   and the first commit of the partition covered them.
2. **An acknowledgement of a record fetched before the current rebalance is not
   counted.** Faust acknowledges such a record when a stream drops it as stale; counted,
   it could be committed before the same record, fetched again from the committed
   offset, has been processed. Not counted, the record is committed once that copy is
   acknowledged.

``StreamApp`` (``streams.worker``) builds its transport with :func:`transport_for`.
"""

from __future__ import annotations

from collections.abc import Mapping

from faust.transport.drivers import aiokafka as driver
from faust.types import TP, AppT, Message
from faust.types.transports import TransportT
from faust.types.tuples import ack_lock
from mode.utils.futures import notify
from yarl import URL


class ConsumerThread(driver.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed: Mapping[TP, int] = await self.call_thread(self._seek_to_committed)
        return committed

    async def _seek_to_committed(self) -> Mapping[TP, int]:
        consumer = self._ensure_consumer()
        committed: Mapping[TP, int] = await consumer.seek_to_committed()
        never = [tp for tp, offset in committed.items() if not offset]
        if never:
            await consumer.seek_to_beginning(*never)
        return committed


class Consumer(driver.Consumer):
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


class Transport(driver.Transport):
    Consumer = Consumer


def transport_for(urls: list[URL], app: AppT) -> TransportT:
    """The transport of ``app`` for its brokers ``urls`` (``kafka://`` only)."""
    schemes = {url.scheme for url in urls}
    if schemes != {"kafka"}:
        raise ValueError(f"the workers speak to Kafka (kafka://), not {sorted(schemes)}")
    return Transport(urls, app)
