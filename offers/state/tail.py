"""Reading topics in a thread of their own, from a chosen start, through broker outages.

:class:`TopicTail` hands every batch of records it reads to a ``fold`` callback and goes
on reading; whatever goes wrong (no broker, no topic that exists yet) is logged, and it
reads again after ``retry_s`` seconds from where it had got to. It reads the topics that
exist, and looks again every ``retry_s`` seconds for those that do not, reading them from
their start once they do. Where a partition
starts the first time is the ``start_at`` function's choice: :func:`from_beginning` (a
compacted topic read whole) or :func:`since` (records written since a moment).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from offers.errors import OffersError

log = logging.getLogger(__name__)

StartAt = Callable[[KafkaConsumer, list[TopicPartition]], None]
"""Seeks each of the partitions (read for the first time) to where reading starts."""
Fold = Callable[[list[ConsumerRecord]], None]


class TopicMissing(OffersError):
    """A tailed topic does not exist (yet): the tail tries again later."""


def from_beginning(consumer: KafkaConsumer, parts: list[TopicPartition]) -> None:
    consumer.seek_to_beginning(*parts)


def since(moment: datetime) -> StartAt:
    """Start at the first record written at or after ``moment`` (at the end of a
    partition that has none)."""
    since_ms = int(moment.timestamp() * 1000)

    def seek(consumer: KafkaConsumer, parts: list[TopicPartition]) -> None:
        found = consumer.offsets_for_times({tp: since_ms for tp in parts})
        for tp in parts:
            at = found.get(tp)
            if at is None:
                consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, at.offset)

    return seek


class TopicTail:
    """Every record of ``topics`` from ``start_at`` on, handed to ``fold`` one batch (of
    one partition) at a time, in a daemon thread (see the module's docstring). ``on_poll``
    runs after every poll, records or not."""

    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str],
        fold: Fold,
        *,
        start_at: StartAt,
        name: str,
        retry_s: float = 2.0,
        on_poll: Callable[[], None] | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._topics = tuple(topics)
        self._fold = fold
        self._start_at = start_at
        self._name = name
        self._retry_s = retry_s
        self._on_poll = on_poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._follow, name=self._name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _follow(self) -> None:
        positions: dict[TopicPartition, int] = {}
        """The next offset to read, per partition, across connections."""
        while not self._stop.is_set():
            try:
                self._tail(positions)
            except Exception as exc:  # the tail outlives any trouble with the broker
                log.warning(
                    "%s stopped reading %s (%r); reading again in %g s",
                    self._name,
                    ", ".join(self._topics),
                    exc,
                    self._retry_s,
                )
                self._stop.wait(self._retry_s)

    def _tail(self, positions: dict[TopicPartition, int]) -> None:
        consumer = KafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"offers-{self._name}",
            bootstrap_timeout_ms=5_000,
        )
        try:
            parts, missing = self._partitions(consumer)
            if not parts:
                raise TopicMissing(f"no topic of {', '.join(missing)} exists")
            if missing:
                log.info("%s: %s do not exist yet", self._name, ", ".join(missing))
            consumer.assign(parts)
            fresh = [tp for tp in parts if tp not in positions]
            if fresh:
                self._start_at(consumer, fresh)
            for tp in parts:
                if tp in positions:
                    consumer.seek(tp, positions[tp])
            look_again = time.monotonic() + self._retry_s
            while not self._stop.is_set():
                for tp, records in consumer.poll(timeout_ms=500).items():
                    self._fold(records)
                    positions[tp] = records[-1].offset + 1
                if self._on_poll is not None:
                    self._on_poll()
                if missing and time.monotonic() >= look_again:
                    if any(consumer.partitions_for_topic(topic) for topic in missing):
                        return  # read again, the new topic with the others
                    look_again = time.monotonic() + self._retry_s
        finally:
            consumer.close(autocommit=False)

    def _partitions(self, consumer: KafkaConsumer) -> tuple[list[TopicPartition], list[str]]:
        """The partitions of the topics that exist, and the names of those that do not."""
        parts: list[TopicPartition] = []
        missing: list[str] = []
        for topic in self._topics:
            partitions = consumer.partitions_for_topic(topic)
            if partitions:
                parts += [TopicPartition(topic, p) for p in sorted(partitions)]
            else:
                missing.append(topic)
        return parts, missing
