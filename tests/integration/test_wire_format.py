"""Every event type travels through the real broker and comes back equal; the wire format
is plain JSON that an independent Kafka client (kcat) reads."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from offers.contracts import EVENT_TYPES, DeadLetter, decode, encode
from offers.settings import Settings
from offers.topics import topic_for
from tests.factories import make_event, one_of_each
from tests.integration.kafka_io import consume_records, produce


def test_each_event_type_round_trips_through_the_broker(stack_settings: Settings) -> None:
    sent = one_of_each(n=101)
    placed = produce(stack_settings.kafka_bootstrap, sent)

    for event in sent:
        topic = topic_for(event.TYPE).name
        position = placed[topic].pop(0)
        [(key, value)] = consume_records(stack_settings.kafka_bootstrap, topic, [position])
        assert key == event.partition_key().encode()
        assert decode(value) == event
    assert len(sent) == len(EVENT_TYPES) + 1


def test_records_are_keyed_so_one_customer_stays_on_one_partition(
    stack_settings: Settings,
) -> None:
    pings = [make_event(EVENT_TYPES["location_ping"], n) for n in range(200, 230)]
    placed = produce(stack_settings.kafka_bootstrap, pings)
    partitions = {partition for partition, _ in placed["events.location"]}
    assert len(partitions) == 1


def test_an_independent_client_reads_plain_json(stack_settings: Settings) -> None:
    kcat = shutil.which("kcat")
    assert kcat is not None, "kcat is needed (make test installs Debian's kcat)"
    events = one_of_each(n=303)
    placed = produce(stack_settings.kafka_bootstrap, events)

    for event in events:
        topic = topic_for(event.TYPE).name
        partition, offset = placed[topic].pop(0)
        out = subprocess.run(
            [kcat, "-C", "-b", stack_settings.kafka_bootstrap, "-t", topic,
             "-p", str(partition), "-o", str(offset), "-c", "1", "-e", "-q",
             "-f", "%k\\t%s\\n"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        key, _, value = out.stdout.rstrip("\n").partition("\t")
        as_json = json.loads(value)
        assert key == event.partition_key()
        assert as_json["type"] == event.TYPE
        assert as_json["schema_version"] == 1
        assert as_json["event_id"] == event.event_id
        assert as_json == json.loads(encode(event))


@pytest.mark.parametrize("payload", [b"not json", b'{"type": "location_ping"}', b"\xff\xfe"])
def test_a_malformed_record_becomes_a_dead_letter_that_travels_too(
    stack_settings: Settings, payload: bytes
) -> None:
    from offers.contracts import to_dead_letter
    from offers.errors import ContractError

    with pytest.raises(ContractError) as rejected:
        decode(payload)
    letter = to_dead_letter(
        payload, rejected.value, source_topic="events.location", source_partition=0, source_offset=1
    )
    placed = produce(stack_settings.kafka_bootstrap, [letter])
    [(_, value)] = consume_records(
        stack_settings.kafka_bootstrap, "events.dead-letter", placed["events.dead-letter"]
    )
    back = decode(value, expected=DeadLetter)
    assert back == letter
    assert back.reason
