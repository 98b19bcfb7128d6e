"""A topic tail reads the topics that exist, and a topic created later from its start."""

from __future__ import annotations

import threading
import uuid

from kafka import KafkaProducer

from offers.settings import Settings
from offers.stack.kafka import create_topics
from offers.state.tail import TopicTail, from_beginning
from offers.topics import TopicSpec
from tests.integration.polling import eventually


def test_a_missing_topic_is_read_once_it_exists(stack_settings: Settings) -> None:
    bootstrap = stack_settings.kafka_bootstrap
    tag = uuid.uuid4().hex[:8]
    present = TopicSpec(f"tail-present-{tag}", key="id", event_types=())
    later = TopicSpec(f"tail-later-{tag}", key="id", event_types=())
    create_topics(bootstrap, stack_settings, (present,))
    seen: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    def fold(records: list) -> None:  # type: ignore[type-arg]
        with lock:
            seen.extend((r.topic, r.value) for r in records)

    def values(wanted: int) -> list[tuple[str, bytes]] | None:
        with lock:
            return sorted(seen) if len(seen) >= wanted else None

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    tail = TopicTail(
        bootstrap, [present.name, later.name], fold, start_at=from_beginning, name="t", retry_s=0.5
    )
    tail.start()
    try:
        producer.send(present.name, b"first").get(timeout=30)
        assert eventually(lambda: values(1), "the record of the present topic", 60) == [
            (present.name, b"first")
        ]

        create_topics(bootstrap, stack_settings, (later,))
        producer.send(later.name, b"second").get(timeout=30)
        producer.send(present.name, b"third").get(timeout=30)
        assert eventually(lambda: values(3), "the records of both topics", 60) == [
            (later.name, b"second"),
            (present.name, b"first"),
            (present.name, b"third"),
        ]
    finally:
        tail.close()
        producer.close()
