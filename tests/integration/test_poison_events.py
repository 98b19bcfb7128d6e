"""Poison among valid events, through a running worker on the real broker and Redis.

5,500 valid events of a simulated day go to the four input topics, with every kind of
poison record of ``tests/fuzz/poison.py`` spread among them (each kind once, 1 % of the
records, over the topics and their partitions): oversized bodies and strings, JSON
nested 10,000 deep, invalid UTF-8, NaN, Infinity, ``1e400`` and ``10**400``, coordinates
out of range, timestamps at year 1 and 9999 and as epoch numbers, unknown types and
schema versions, extra, missing and mistyped fields, null bytes, no value, no key,
another key. One worker reads them all. Every poison record is in the dead-letter topic,
with its source topic, partition and offset and a reason naming the problem; no valid
record is; the group commits every record and the features of the valid ones equal the
reference; and the worker, alive, still processes an event sent after the poison.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from offers.contracts import DeadLetter, Event, LocationPing, decode, encode
from offers.settings import Settings
from offers.stack.workers import WorkerProcess, group_lag, wait_caught_up
from offers.topics import DEAD_LETTER, INPUT_TOPICS, topic_for
from simulators.world import World, WorldConfig
from streams.views import CUSTOMER_LOCATION, FEATURE_VIEWS
from tests.factories import wire
from tests.fuzz.poison import PoisonRecord, poison_records
from tests.integration.groups import worker_settings
from tests.integration.kafka_io import end_offsets, produce, read_records
from tests.integration.stacks import own_stack_settings
from tests.integration.test_feature_workers import expected_from_topics, mismatches, online_rows

VALID_EVENTS = 5_500
"""With one record of each of the 55 kinds of poison: 1 % of the records are poison."""
Position = tuple[str, int, int]
"""Topic, partition and offset of a record."""


@dataclass(frozen=True)
class Placed:
    poison: PoisonRecord
    topic: str
    position: Position


@dataclass
class PoisonRun:
    settings: Settings
    poison: list[Placed]
    valid: set[Position]
    letters: dict[Position, DeadLetter]
    """The dead letters written during the run, by the position of their source."""
    dead_lettered: float
    """Records the worker counted as dead-lettered."""
    lag: int | None
    """Records of the input topics the group had not committed once caught up."""
    last_row: dict[str, object]
    """The online features of the customer of the event sent after the poison."""
    alive: bool


def valid_events() -> list[Event]:
    """The location pings, bookings and social posts of a simulated day, and enough
    sailing updates to make :data:`VALID_EVENTS`, in the day's order."""
    day = list(World(WorldConfig(seed=41, customers=2_000, days=1)).events())
    others = [e for e in day if e.TYPE != "sailing_update"][:VALID_EVENTS]
    sailings = [e for e in day if e.TYPE == "sailing_update"][: VALID_EVENTS - len(others)]
    return sorted(others + sailings, key=lambda e: e.event_time)


def every_poison(now: datetime) -> list[tuple[str, PoisonRecord]]:
    """Each kind of poison once: a kind of one type's own on that type's topic, a kind
    every type has on each topic in turn."""
    by_topic: dict[str, dict[str, PoisonRecord]] = {}
    for spec in INPUT_TOPICS:
        view = next(v for v in FEATURE_VIEWS if v.topic == spec)
        valid = wire(view.event_type.TYPE)
        key = str(valid[view.key_field]).encode()
        records = poison_records(valid, key, view.key_field, spec.name, now)
        by_topic[spec.name] = {record.kind: record for record in records}
    shared = set.intersection(*(set(kinds) for kinds in by_topic.values()))
    chosen = [
        (topic, record)
        for topic, kinds in by_topic.items()
        for kind, record in kinds.items()
        if kind not in shared
    ]
    topics = sorted(by_topic)
    for turn, kind in enumerate(sorted(shared)):
        topic = topics[turn % len(topics)]
        chosen.append((topic, by_topic[topic][kind]))
    return chosen


def produce_mixed(
    bootstrap: str, events: list[Event], poison: list[tuple[str, PoisonRecord]], seed: int
) -> tuple[list[Placed], set[Position]]:
    """Send the events with the poison at random places among them, in one stream."""
    rng = random.Random(seed)
    slots = sorted(rng.sample(range(len(events) + len(poison)), len(poison)))
    bad = dict(zip(slots, poison, strict=True))
    good = iter(events)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    sent: list[tuple[PoisonRecord | None, str, Any]] = []
    for slot in range(len(events) + len(poison)):
        if slot in bad:
            topic, record = bad[slot]
            sent.append((record, topic, producer.send(topic, key=record.key, value=record.value)))
        else:
            event = next(good)
            topic = topic_for(event.TYPE).name
            key = event.partition_key().encode()
            sent.append((None, topic, producer.send(topic, key=key, value=encode(event))))
    producer.flush()
    placed: list[Placed] = []
    valid: set[Position] = set()
    for poisoned, topic, future in sent:
        meta = future.get(timeout=30)
        position = (topic, meta.partition, meta.offset)
        if poisoned is None:
            valid.add(position)
        else:
            placed.append(Placed(poisoned, topic, position))
    producer.close()
    return placed, valid


def wait_for_row(settings: Settings, customer: str, lat: float) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while True:
        row = online_rows(settings, CUSTOMER_LOCATION, [customer])[0]
        if row["last_lat"] == lat or time.monotonic() > deadline:
            return row
        time.sleep(0.2)


@pytest.fixture(scope="module")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A stack of this module's own: its reference is everything the topics hold."""
    yield from own_stack_settings(tmp_path_factory, "poison")


@pytest.fixture(scope="module")
def poison_run(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> PoisonRun:
    root: Path = tmp_path_factory.mktemp("poison")
    settings = worker_settings(stack_settings, root, "features-poison", redis_db=11)
    bootstrap = settings.kafka_bootstrap
    now = datetime.now(UTC)
    before = end_offsets(bootstrap, DEAD_LETTER.name)
    poison, valid = produce_mixed(bootstrap, valid_events(), every_poison(now), seed=41)
    with WorkerProcess(settings, "worker", root) as worker:
        worker.wait_ready(timeout=300)  # a loaded machine can take minutes to start one
        wait_caught_up(settings, [worker])
        lag = group_lag(settings)
        last = LocationPing(
            event_id="after-the-poison",
            event_time=now,
            customer_id="c-after-the-poison",
            lat=43.5512,
            lon=10.3021,
            accuracy_m=8.0,
        )
        produce(bootstrap, [last])
        wait_caught_up(settings, [worker])
        last_row = wait_for_row(settings, last.customer_id, last.lat)
        dead_lettered = worker.events("dead_lettered")
        alive = worker.process.poll() is None
    letters: dict[Position, DeadLetter] = {}
    for record in read_records(bootstrap, DEAD_LETTER.name, before):
        letter = decode(record.value, expected=DeadLetter)
        assert isinstance(letter, DeadLetter)
        assert letter.source_partition is not None and letter.source_offset is not None
        where = (letter.source_topic, letter.source_partition, letter.source_offset)
        assert where not in letters, f"two dead letters of {where}"
        letters[where] = letter
    return PoisonRun(settings, poison, valid, letters, dead_lettered, lag, last_row, alive)


def test_every_kind_of_poison_was_sent_among_the_valid_events(poison_run: PoisonRun) -> None:
    kinds = {placed.poison.kind for placed in poison_run.poison}
    assert len(kinds) == len(poison_run.poison) >= 40
    assert {
        "lat-91",
        "lon-181",
        "year-1",
        "year-9999",
        "future-version",
        "deep-json-field",
    } <= kinds
    assert len(poison_run.valid) == VALID_EVENTS
    assert len({(p.position[0], p.position[1]) for p in poison_run.poison}) > len(INPUT_TOPICS)


def test_every_poison_record_is_dead_lettered_with_its_reason(poison_run: PoisonRun) -> None:
    missing = [p.poison.kind for p in poison_run.poison if p.position not in poison_run.letters]
    assert missing == []
    for placed in poison_run.poison:
        letter = poison_run.letters[placed.position]
        poison = placed.poison
        assert letter.stage == "decode"
        assert any(e.field == poison.field and poison.reason in e.reason for e in letter.errors), (
            f"{poison.kind}: {letter.reason}"
        )
        assert poison.reason in letter.reason, f"{poison.kind}: {letter.reason}"
        assert letter.payload_bytes == len(poison.value or b"")
        assert letter.source_key == (poison.key or b"").decode(errors="replace")[:1_000]
    assert poison_run.dead_lettered >= len(poison_run.poison)


def test_no_valid_record_is_dead_lettered(poison_run: PoisonRun) -> None:
    assert poison_run.valid.isdisjoint(poison_run.letters)


def test_every_record_is_committed_and_the_valid_ones_have_their_features(
    poison_run: PoisonRun,
) -> None:
    assert poison_run.lag == 0
    assert mismatches(poison_run.settings, expected_from_topics(poison_run.settings)) == []


def test_the_worker_goes_on_after_the_poison(poison_run: PoisonRun) -> None:
    assert poison_run.alive
    assert poison_run.last_row["last_lat"] == pytest.approx(43.5512)
    assert poison_run.last_row["last_lon"] == pytest.approx(10.3021)
