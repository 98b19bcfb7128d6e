"""The simulated world runs into the real broker: every event lands, on its topic, keyed
by its partition key, and reads back equal."""

from __future__ import annotations

from collections import Counter

from offers.contracts import decode
from offers.settings import Settings
from offers.topics import INPUT_TOPICS
from simulators.sink import KafkaEventProducer
from simulators.world import World, WorldConfig
from tests.integration.kafka_io import end_offsets, read_from


def test_a_simulated_day_lands_whole_in_kafka(stack_settings: Settings) -> None:
    bootstrap = stack_settings.kafka_bootstrap
    world = World(WorldConfig(seed=11, customers=1_000, days=1))
    expected = list(world.events())
    before = {spec.name: end_offsets(bootstrap, spec.name) for spec in INPUT_TOPICS}

    with KafkaEventProducer(stack_settings) as producer:
        report = producer.produce(iter(expected), rate=None)

    assert report.total == len(expected)
    assert report.failed == 0
    by_topic = Counter()
    for spec in INPUT_TOPICS:
        records = read_from(bootstrap, spec.name, before[spec.name])
        by_topic[spec.name] = len(records)
        decoded = [decode(value) for _, value in records]
        assert all(
            key == event.partition_key().encode()
            for (key, _), event in zip(records, decoded, strict=True)
        )
        sent = {e.event_id: e for e in expected if e.TYPE in spec.event_types}
        assert {e.event_id: e for e in decoded} == sent
    assert dict(by_topic) == {t: n for t, n in report.counts.items()}
