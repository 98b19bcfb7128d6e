"""Compacted state topics: a writer's record is read back by its own view at once, by
another view within a second, survives a restart of the readers, and a tombstone
deletes the key."""

from __future__ import annotations

import time
import uuid

import pytest

from offers.settings import Settings
from offers.stack.kafka import create_topics
from offers.state.compacted import TopicView, TopicWriter
from offers.topics import TopicSpec


@pytest.fixture
def topic(stack_settings: Settings) -> str:
    name = f"state.test-{uuid.uuid4().hex[:8]}"
    create_topics(
        stack_settings.kafka_bootstrap,
        stack_settings,
        (TopicSpec(name, key="key", event_types=(), compacted=True),),
    )
    return name


def test_a_write_is_read_back_and_reaches_another_view_within_a_second(
    stack_settings: Settings, topic: str
) -> None:
    bootstrap = stack_settings.kafka_bootstrap
    writer = TopicWriter(bootstrap)
    mine = TopicView(bootstrap, topic, bytes.decode)
    other = TopicView(bootstrap, topic, bytes.decode)
    try:
        mine.wait_until_current()
        other.wait_until_current()
        started = time.monotonic()
        mine.wait_for(writer.put(topic, "c1|sms", b"granted"))
        assert mine.get("c1|sms") == "granted"
        while other.get("c1|sms") != "granted":
            assert time.monotonic() - started < 1.0, "not propagated within one second"
            time.sleep(0.01)
    finally:
        writer.close()
        mine.close()
        other.close()


def test_the_latest_value_survives_a_restart_and_a_tombstone_deletes(
    stack_settings: Settings, topic: str
) -> None:
    bootstrap = stack_settings.kafka_bootstrap
    writer = TopicWriter(bootstrap)
    try:
        writer.put(topic, "a", b"1")
        writer.put(topic, "b", b"1")
        writer.put(topic, "a", b"2")
        writer.put(topic, "b", None)
    finally:
        writer.close()
    view = TopicView(bootstrap, topic, bytes.decode)
    try:
        view.wait_until_current()
        assert dict(view.items()) == {"a": "2"}
    finally:
        view.close()


def test_unreadable_values_are_skipped_and_the_view_goes_on(
    stack_settings: Settings, topic: str
) -> None:
    bootstrap = stack_settings.kafka_bootstrap
    writer = TopicWriter(bootstrap)

    def strict(raw: bytes) -> int:
        return int(raw)

    view = TopicView(bootstrap, topic, strict)
    try:
        writer.put(topic, "x", b"not a number")
        view.wait_for(writer.put(topic, "y", b"7"))
        assert dict(view.items()) == {"y": 7}
    finally:
        writer.close()
        view.close()
