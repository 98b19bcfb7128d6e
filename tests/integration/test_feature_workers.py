"""The stream processor's workers, on the real broker and Redis, against a plain Python
reference: every key's online features equal the reference computed over the same
records, read back from the topics (with one worker, and with two of which one is
killed halfway); bad records reach the dead-letter topic; late events are counted."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from kafka import KafkaProducer

from features.store import feature_store, online_features
from features.views import feature_view_name
from offers.contracts import DeadLetter, Event, ValidationClock, decode
from offers.errors import ContractError
from offers.settings import Settings
from offers.stack.workers import WorkerProcess, wait_caught_up
from offers.topics import BOOKING, DEAD_LETTER, LOCATION, SAILING, SOCIAL
from simulators.world import World, WorldConfig
from streams.features import reference
from streams.features.rows import Row
from streams.views import FEATURE_VIEWS, SAILING_STATE, FeatureView
from tests.factories import wire
from tests.integration.groups import LATENESS, worker_settings
from tests.integration.kafka_io import end_offsets, produce, read_records
from tests.integration.stacks import own_stack_settings

REFERENCE: dict[str, Callable[[Sequence[Any], timedelta], Row]] = {
    "customer_location": reference.location_row,
    "customer_social": reference.social_row,
    "customer_booking": reference.booking_row,
    "sailing_state": reference.sailing_row,
}


@dataclass(frozen=True)
class Poison:
    topic: str
    key: bytes | None
    value: bytes
    reason: str
    """A fragment of the reason its dead letter must give."""


POISON = [
    Poison(LOCATION.name, b"c0000001", b"{not json", "not valid JSON"),
    Poison(LOCATION.name, b"c0000002", orjson.dumps(wire("location_ping", lat=91.0)), "lat"),
    Poison(SOCIAL.name, b"cust-1", orjson.dumps(wire("booking")), "social_post"),
    Poison(BOOKING.name, b"someone-else", orjson.dumps(wire("booking")), "keyed by customer_id"),
    Poison(SAILING.name, None, orjson.dumps(wire("sailing_update")), "has no key"),
    Poison(
        SAILING.name,
        b"S-2025-07-01-0800",
        orjson.dumps({**wire("sailing_update"), "colour": "blue"}),
        "colour",
    ),
]


def jittered(events: list[Event], seed: int) -> list[Event]:
    """Arrival order when each event is delayed by up to 1.5 x the allowed lateness, so
    that some arrive out of order and some too late."""
    delays = np.random.default_rng(seed).uniform(0, 1.5 * LATENESS.total_seconds(), len(events))
    return [
        events[i]
        for i in sorted(
            range(len(events)),
            key=lambda i: (events[i].event_time + timedelta(seconds=float(delays[i])), i),
        )
    ]


def a_day(seed: int) -> list[Event]:
    return jittered(list(World(WorldConfig(seed=seed, customers=1_000, days=1)).events()), seed)


def produce_poison(bootstrap: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for poison in POISON:
        producer.send(poison.topic, key=poison.key, value=poison.value)
    producer.flush()
    producer.close()


@pytest.fixture(scope="module")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A stack of this module's own: its reference is everything the topics hold."""
    yield from own_stack_settings(tmp_path_factory, "features")


@pytest.fixture(scope="module")
def first_day(stack_settings: Settings) -> None:
    """A jittered simulated day in the input topics, with bad records among it."""
    events = a_day(seed=21)
    half = len(events) // 2
    produce(stack_settings.kafka_bootstrap, events[:half])
    produce_poison(stack_settings.kafka_bootstrap)
    produce(stack_settings.kafka_bootstrap, events[half:])


@dataclass
class Expected:
    rows: dict[str, dict[str, Row]]
    """View name -> key -> reference row."""
    late: int


def expected_from_topics(settings: Settings) -> Expected:
    """The reference over every valid record of the input topics, in offset order."""
    clock = ValidationClock.from_settings(settings)
    rows: dict[str, dict[str, Row]] = {}
    late = 0
    for view in FEATURE_VIEWS:
        by_key: dict[str, list[Event]] = defaultdict(list)
        for record in read_records(settings.kafka_bootstrap, view.topic.name):
            try:
                event = decode(record.value, expected=view.event_type, clock=clock)
            except ContractError:
                continue
            if record.key == view.key_of(event).encode():
                by_key[view.key_of(event)].append(event)
        rows[view.name] = {key: REFERENCE[view.name](ev, LATENESS) for key, ev in by_key.items()}
        late += sum(reference.late_count(ev, LATENESS) for ev in by_key.values())
    return Expected(rows, late)


def online_rows(settings: Settings, view: FeatureView, keys: list[str]) -> list[dict[str, Any]]:
    store = feature_store(settings)
    refs = [f"{feature_view_name(view.spec)}:{f.name}" for f in view.spec.fields]
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        columns = store.get_online_features(
            features=refs, entity_rows=[{view.spec.join_key: key} for key in chunk]
        ).to_dict()
        found += [{f.name: columns[f.name][i] for f in view.spec.fields} for i in range(len(chunk))]
    return found


def same(got: Any, want: Any) -> bool:
    if isinstance(want, float):
        return isinstance(got, float) and math.isclose(got, want, rel_tol=0, abs_tol=1e-6)
    return bool(got == want) and type(got) is type(want)


def mismatches(settings: Settings, expected: Expected) -> list[str]:
    """Every (view, key, feature) whose online value differs from the reference."""
    wrong: list[str] = []
    for view in FEATURE_VIEWS:
        keys = sorted(expected.rows[view.name])
        for key, got in zip(keys, online_rows(settings, view, keys), strict=True):
            want = expected.rows[view.name][key]
            wrong += [
                f"{view.name}[{key}].{f.name}: online {got[f.name]!r}, reference {want[f.name]!r}"
                for f in view.spec.fields
                if not same(got[f.name], want[f.name])
            ]
    return wrong


@dataclass
class OneWorkerRun:
    settings: Settings
    counts: dict[str, float]
    """Input records by outcome, from the worker's /metrics."""
    dead_letters: list[DeadLetter]
    """The dead letters written during the run."""


@pytest.fixture(scope="module")
def one_worker(
    stack_settings: Settings, first_day: None, tmp_path_factory: pytest.TempPathFactory
) -> OneWorkerRun:
    """One worker, started after the first day is in the topics, run until caught up."""
    root = tmp_path_factory.mktemp("one-worker")
    settings = worker_settings(stack_settings, root, "features-one-worker", redis_db=1)
    before = end_offsets(settings.kafka_bootstrap, DEAD_LETTER.name)
    with WorkerProcess(settings, "worker", root) as worker:
        worker.wait_ready()
        wait_caught_up(settings, [worker])
        counts = {o: worker.events(o) for o in ("applied", "late", "replayed", "dead_lettered")}
    letters = [
        decode(r.value, expected=DeadLetter)
        for r in read_records(settings.kafka_bootstrap, DEAD_LETTER.name, before)
    ]
    return OneWorkerRun(settings, counts, [d for d in letters if isinstance(d, DeadLetter)])


def test_one_worker_computes_every_key_like_the_reference(one_worker: OneWorkerRun) -> None:
    expected = expected_from_topics(one_worker.settings)
    assert all(expected.rows.values()), "every view has keys"
    assert mismatches(one_worker.settings, expected) == []
    assert expected.late > 0, "the jittered day has events later than the allowed lateness"
    assert one_worker.counts["late"] == expected.late
    assert one_worker.counts["replayed"] == 0


def test_bad_records_reach_the_dead_letter_topic_with_their_reason(
    one_worker: OneWorkerRun,
) -> None:
    assert one_worker.counts["dead_lettered"] == len(one_worker.dead_letters) >= len(POISON)
    for poison in POISON:
        found = [
            letter
            for letter in one_worker.dead_letters
            if letter.source_topic == poison.topic and letter.payload.encode() == poison.value
        ]
        assert len(found) == 1, f"no dead letter for {poison}"
        assert poison.reason in found[0].reason, found[0].reason
        assert found[0].stage == "decode"
        assert found[0].source_offset is not None
        assert found[0].source_key == (poison.key or b"").decode()


def test_the_feature_service_serves_what_the_workers_wrote(one_worker: OneWorkerRun) -> None:
    settings = one_worker.settings
    expected = expected_from_topics(settings)
    customers = sorted(expected.rows["customer_location"])[:20]
    sailing, sailing_row = next(iter(sorted(expected.rows["sailing_state"].items())))
    request = {
        "offer_port_lat": 43.55,
        "offer_port_lon": 10.30,
        "offer_departure_ts": sailing_row["departure_ts"],
        "offer_discount_eur": 10.0,
        "request_ts": int(time.time()),
    }
    served = online_features(
        feature_store(settings), customers, [sailing] * len(customers), [request] * len(customers)
    )
    for i, customer in enumerate(customers):
        want = expected.rows["customer_location"][customer]
        assert same(served["last_lat"][i], want["last_lat"])
        assert same(served["nearest_port_km"][i], want["nearest_port_km"])
        assert same(served["fare_eur"][i], sailing_row["fare_eur"])
        assert served["distance_to_departure_km"][i] > 0


def test_two_workers_one_killed_halfway_lose_and_double_nothing(
    stack_settings: Settings, first_day: None, tmp_path: Path
) -> None:
    settings = worker_settings(stack_settings, tmp_path, "features-two-workers", redis_db=2)
    second_day = a_day(seed=22)
    half = len(second_day) // 2
    a = WorkerProcess(settings, "worker-a", tmp_path)
    b = WorkerProcess(settings, "worker-b", tmp_path)
    sailings = expected_from_topics(settings).rows["sailing_state"]
    try:
        a.wait_ready()
        b.wait_ready()
        for worker in (a, b):  # every worker holds every sailing's latest row
            wait_for(lambda w=worker: replica_mismatches(w, sailings), [])
        produce(settings.kafka_bootstrap, second_day[:half])
        deadline = time.monotonic() + 120
        while b.events("applied") < 200:
            assert time.monotonic() < deadline, f"worker-b got no work: {b.log_tail()}"
            time.sleep(0.05)
        b.kill()
        produce(settings.kafka_bootstrap, second_day[half:])
        wait_caught_up(settings, [a])
        assert a.events("applied") > 0
        expected = expected_from_topics(settings)
        wait_for(lambda: replica_mismatches(a, expected.rows["sailing_state"]), [])
    finally:
        a.stop()
        b.stop()
    assert mismatches(settings, expected) == []


def replica_mismatches(worker: WorkerProcess, rows: dict[str, Row]) -> list[str]:
    """Sailings whose row in the worker's copy (/sailings) differs from ``rows``."""
    held = worker.page("/sailings")
    fields = [f.name for f in SAILING_STATE.spec.fields]
    return sorted(
        key
        for key in rows.keys() | held.keys()
        if key not in held
        or key not in rows
        or not all(same(held[key][f], rows[key][f]) for f in fields)
    )


def wait_for(read: Callable[[], Any], wanted: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    got = read()
    while got != wanted:
        shown = got[:5] if isinstance(got, list) else got
        assert time.monotonic() < deadline, f"still {shown}, not {wanted}, after {timeout} s"
        time.sleep(0.25)
        got = read()
