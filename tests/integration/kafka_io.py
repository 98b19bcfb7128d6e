"""Small kafka-python helpers shared by the integration tests."""

from __future__ import annotations

import time
from collections.abc import Iterable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from offers.contracts import Event, encode
from offers.stack.kafka import end_offsets as partition_ends
from offers.topics import topic_for


def produce(bootstrap: str, events: Iterable[Event]) -> dict[str, list[tuple[int, int]]]:
    """Send events to their topics with acks=all; return (partition, offset) per topic."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    futures = [
        (
            topic_for(e.TYPE).name,
            producer.send(topic_for(e.TYPE).name, value=encode(e), key=e.partition_key().encode()),
        )
        for e in events
    ]
    producer.flush()
    placed: dict[str, list[tuple[int, int]]] = {}
    for topic, future in futures:
        meta = future.get(timeout=30)
        placed.setdefault(topic, []).append((meta.partition, meta.offset))
    producer.close()
    return placed


def consume_records(
    bootstrap: str, topic: str, positions: list[tuple[int, int]], timeout: float = 30.0
) -> list[tuple[bytes | None, bytes]]:
    """Read exactly the records at ``positions`` of ``topic``; return (key, value) pairs."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    wanted = set(positions)
    found: dict[tuple[int, int], tuple[bytes | None, bytes]] = {}
    parts = sorted({p for p, _ in positions})
    consumer.assign([TopicPartition(topic, p) for p in parts])
    for p in parts:
        consumer.seek(TopicPartition(topic, p), min(o for q, o in positions if q == p))
    deadline = time.monotonic() + timeout
    try:
        while wanted - found.keys() and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for rec in records:
                    if (tp.partition, rec.offset) in wanted:
                        found[(tp.partition, rec.offset)] = (rec.key, rec.value)
    finally:
        consumer.close()
    return [found[pos] for pos in positions if pos in found]


def read_records(
    bootstrap: str, topic: str, start: dict[int, int] | None = None
) -> list[ConsumerRecord]:
    """Every record of ``topic`` from ``start`` (per partition; default: the beginning) to
    its end, in partition then offset order."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        ends = consumer.end_offsets(parts)
        for tp in parts:
            consumer.seek(tp, (start or {}).get(tp.partition, 0))
        records: list[ConsumerRecord] = []
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for batch in consumer.poll(timeout_ms=1000).values():
                records.extend(batch)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def read_from(bootstrap: str, topic: str, start: dict[int, int]) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of ``topic`` from the offsets ``start`` (per partition) to its end."""
    return [(r.key, r.value) for r in read_records(bootstrap, topic, start)]


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The end offset of each partition of ``topic``."""
    return {partition: end for (_, partition), end in partition_ends(bootstrap, [topic]).items()}
