"""The simulated world runs into the real broker: every event lands, on its topic, keyed
by its partition key, and reads back equal; so does a burst of posts about one route."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson

from offers.contracts import SocialPost, decode
from offers.settings import Settings
from offers.topics import INPUT_TOPICS, SOCIAL
from simulators.sink import KafkaEventProducer
from simulators.social import Sentiment, true_sentiment
from simulators.world import World, WorldConfig
from streams.listening.mentions import subjects
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


def test_a_burst_of_complaints_lands_as_posts_naming_the_route(stack_settings: Settings) -> None:
    bootstrap = stack_settings.kafka_bootstrap
    before = end_offsets(bootstrap, SOCIAL.name)
    env = {**os.environ, **stack_settings.as_environment()}
    command = [sys.executable, "-m", "offers.cli", "simulate", "burst", "--route", "PIO-PFE"]
    done = subprocess.run(
        [*command, "--posts", "6", "--seed", "4", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["counts"] == {SOCIAL.name: 6}
    posts = [decode(value) for _, value in read_from(bootstrap, SOCIAL.name, before)]
    assert len(posts) == 6
    for post in posts:
        assert isinstance(post, SocialPost)
        assert true_sentiment(post.text, post.language.value) is Sentiment.NEGATIVE
        assert "route:PIO-PFE" in subjects(post)
    times = sorted(p.event_time for p in posts)
    assert times[-1] - times[0] == timedelta(seconds=150)
    assert datetime.now(UTC) - times[-1] < timedelta(minutes=2)

    refused = subprocess.run(
        [*command[:-1], "XXX-YYY"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 2
    assert "XXX-YYY is not a route of the network" in refused.stderr
