"""A read-only copy of a whole compacted topic on every worker: a table's changelog, or a
state topic such as ``state.consent``.

A Faust table is partitioned: each worker holds the keys of its own partitions. Faust's
``GlobalTable`` is meant to give every worker all keys, but in faust-streaming 0.15 a
worker stops following the partitions that other workers write (faust-streaming #283),
so its copy goes stale. :class:`TableReplica` follows every partition of the table's
changelog (a compacted topic) with a plain consumer outside the consumer group, and
keeps each key's latest row. The state itself stays in the partitioned table, whose
recovery Faust does exactly; the replica is for reading (it may lag by one poll). The
same follows the shared state topics (consent, campaigns) written by the API.

A follower reads every partition of its topic from the beginning; its ``current`` event
is set once it has read up to the end offsets the topic had when it started, so that
work that must not run on a partial copy (deciding and sending on consent and
campaigns) can wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from offers.state.compacted import key_text

log = logging.getLogger(__name__)

V = TypeVar("V")
Decoder = Callable[[str, bytes], V]
"""The value of a key, from the key and a record's value."""


class TopicReplica(Mapping[str, V]):
    def __init__(self, bootstrap: str, topic: str, decode: Decoder[V]) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._decode = decode
        self._rows: dict[str, V] = {}
        self.current = asyncio.Event()
        """Set once the replica holds everything the topic held when it started."""

    def __getitem__(self, key: str) -> V:
        return self._rows[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One changelog record: a new value for the key, or its deletion (tombstone)."""
        name = key_text(self.topic, key)
        if name is None:
            return
        if value is None:
            self._rows.pop(name, None)
            return
        try:
            self._rows[name] = self._decode(name, value)
        except Exception:
            log.exception("%s: cannot read the value of %r", self.topic, name)

    async def follow(self) -> None:
        """Read the changelog from its beginning and keep following it, until cancelled."""
        await follow_topic(self.bootstrap, self.topic, self.apply, self.current)


async def follow_topic(
    bootstrap: str,
    topic: str,
    apply: Callable[[bytes | None, bytes | None], None],
    current: asyncio.Event | None = None,
) -> None:
    """Pass every record of ``topic`` (key, value), from its beginning, to ``apply``, and
    keep following the topic until cancelled; set ``current`` once the records the topic
    held when its partitions were assigned are all applied."""
    # Without a group id, a subscription is assigned every partition of the topic
    # (once it exists) and no offset is committed.
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        metadata_max_age_ms=5_000,
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    ends: dict[TopicPartition, int] | None = None
    try:
        while True:
            if current is not None and not current.is_set():
                ends = ends or await _ends(consumer)
                if ends is not None and await _reached(consumer, ends):
                    current.set()
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batches.values():
                for record in records:
                    apply(record.key, record.value)
    finally:
        await consumer.stop()


async def _ends(consumer: AIOKafkaConsumer) -> dict[TopicPartition, int] | None:
    """The end offsets of the partitions assigned; None before any is."""
    assigned = list(consumer.assignment())
    if not assigned:
        return None
    ends: dict[TopicPartition, int] = await consumer.end_offsets(assigned)
    return ends


async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return False
    return True
