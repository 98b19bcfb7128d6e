"""A compacted topic as a key-value store: a writer, and a view that follows the topic.

The topic is the source of truth. :class:`TopicWriter` writes a record with acks=all and
returns where it landed; :class:`TopicView` reads the topic from its beginning in a
background thread and keeps each key's latest value in memory. A process that wrote a
record waits with :meth:`TopicView.wait_for` until its view has read it, so it reads its
own writes; other processes see it after their next poll (a few hundred milliseconds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from offers.errors import OffersError
from offers.stack.kafka import end_offsets

log = logging.getLogger(__name__)

V = TypeVar("V")


def key_text(topic: str, key: bytes | None) -> str | None:
    """The key of a record of a state topic as text; None (logged when the key is there)
    for a record without a key or with one that is not UTF-8: no writer of the engine
    makes one, and a reader skips it rather than stopping."""
    if key is None:
        return None
    try:
        return key.decode()
    except UnicodeDecodeError:
        log.error("%s: skipping a record whose key is not UTF-8: %r", topic, key[:64])
        return None


class StateError(OffersError):
    """The state topic could not be written or read in time."""


@dataclass(frozen=True, slots=True)
class Position:
    partition: int
    offset: int


class TopicWriter:
    """Writes records to state topics with acks=all and idempotence, synchronously."""

    def __init__(self, bootstrap: str, *, timeout_s: float = 10.0) -> None:
        self._timeout_s = timeout_s
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
            client_id="offers-state-writer",
        )

    def put(self, topic: str, key: str, value: bytes | None) -> Position:
        """Write ``value`` (None: a tombstone, deleting the key) and wait for the broker."""
        try:
            meta = self._producer.send(topic, key=key.encode(), value=value).get(
                timeout=self._timeout_s
            )
        except KafkaError as exc:
            raise StateError(f"could not write {key!r} to {topic}: {exc}") from exc
        return Position(meta.partition, meta.offset)

    def close(self) -> None:
        self._producer.close(timeout=self._timeout_s)


class TopicView(Generic[V]):
    """Each key's latest value of a compacted topic, kept up to date by a thread."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        decode: Callable[[bytes], V],
        *,
        on_change: Callable[[str, V | None], None] | None = None,
    ) -> None:
        self.topic = topic
        self._bootstrap = bootstrap
        self._decode = decode
        self._on_change = on_change
        self._values: dict[str, V] = {}
        self._positions: dict[int, int] = {}
        """Next offset to read, per partition."""
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            group_id=None,
            client_id=f"offers-view-{topic}",
        )
        partitions = self._consumer.partitions_for_topic(topic)
        if not partitions:
            self._consumer.close()
            raise StateError(f"topic {topic} does not exist")
        self._parts = [TopicPartition(topic, p) for p in sorted(partitions)]
        self._consumer.assign(self._parts)
        self._consumer.seek_to_beginning(*self._parts)
        self._thread = threading.Thread(target=self._follow, name=f"view-{topic}", daemon=True)
        self._thread.start()

    def get(self, key: str) -> V | None:
        with self._lock:
            return self._values.get(key)

    def items(self) -> list[tuple[str, V]]:
        with self._lock:
            return list(self._values.items())

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._values)

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def wait_for(self, position: Position, timeout_s: float = 10.0) -> None:
        """Wait until the view has read the record at ``position``."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._positions.get(position.partition, 0) <= position.offset:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    raise StateError(f"{self.topic}: {position} not read in {timeout_s} s")
                self._lock.wait(remaining)

    def wait_until_current(self, timeout_s: float = 30.0) -> None:
        """Wait until the view has read everything the topic held when this was called."""
        for (_, partition), end in end_offsets(self._bootstrap, [self.topic]).items():
            if end > 0:
                self.wait_for(Position(partition, end - 1), timeout_s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _follow(self) -> None:
        try:
            while not self._stop.is_set():
                batches = self._consumer.poll(timeout_ms=200)
                for tp, records in batches.items():
                    for record in records:
                        self._apply(record.key, record.value)
                    with self._lock:
                        self._positions[tp.partition] = records[-1].offset + 1
                        self._lock.notify_all()
                if not batches:
                    with self._lock:
                        for tp in self._parts:
                            self._positions[tp.partition] = self._consumer.position(tp)
                        self._lock.notify_all()
        except Exception:
            log.exception("%s: the view stopped following the topic", self.topic)
            raise
        finally:
            self._consumer.close()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        name = key_text(self.topic, key)
        if name is None:
            return
        decoded: V | None = None
        if value is not None:
            try:
                decoded = self._decode(value)
            except Exception:
                log.exception("%s: skipping the unreadable value of %r", self.topic, name)
                return
        with self._lock:
            if decoded is None:
                self._values.pop(name, None)
            else:
                self._values[name] = decoded
        if self._on_change is not None:
            self._on_change(name, decoded)
