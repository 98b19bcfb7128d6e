"""A read-only copy of a whole table on every worker, followed from its changelog.

A Faust table is partitioned: each worker holds the keys of its own partitions. Faust's
``GlobalTable`` is meant to give every worker all keys, but in faust-streaming 0.15 a
worker stops following the partitions that other workers write (faust-streaming #283),
so its copy goes stale. :class:`TableReplica` follows every partition of the table's
changelog (a compacted topic) with a plain consumer outside the consumer group, and
keeps each key's latest row. The state itself stays in the partitioned table, whose
recovery Faust does exactly; the replica is for reading (it may lag by one poll).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

from aiokafka import AIOKafkaConsumer

from streams.features.rows import Row

log = logging.getLogger(__name__)

Decoder = Callable[[str, bytes], Row]
"""The row of a key, from the key and a changelog value."""


class TableReplica(Mapping[str, Row]):
    def __init__(self, bootstrap: str, changelog_topic: str, decode: Decoder) -> None:
        self.bootstrap = bootstrap
        self.topic = changelog_topic
        self._decode = decode
        self._rows: dict[str, Row] = {}

    def __getitem__(self, key: str) -> Row:
        return self._rows[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One changelog record: a new value for the key, or its deletion (tombstone)."""
        if key is None:
            return
        name = key.decode()
        if value is None:
            self._rows.pop(name, None)
            return
        try:
            self._rows[name] = self._decode(name, value)
        except Exception:
            log.exception("%s: cannot read the value of %r", self.topic, name)

    async def follow(self) -> None:
        """Read the changelog from its beginning and keep following it, until cancelled."""
        # Without a group id, a subscription is assigned every partition of the topic
        # (once it exists) and no offset is committed.
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5_000,
        )
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=1_000, max_records=10_000)
                for records in batches.values():
                    for record in records:
                        self.apply(record.key, record.value)
        finally:
            await consumer.stop()
