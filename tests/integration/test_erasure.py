"""The right to erasure, end to end, on a stack of its own (a real broker and Redis): a
simulated day runs through a worker with its decision agent; a few customers get a
contact number, consent, offers and delivery records through the API and the engine's
own stores; one of them is erased through ``DELETE /v1/customers/{id}``. Then nothing of
it remains: no Redis key, value, hash field or set member names its id, its Feast entity
key, its number or the number's keyed hash; no compacted topic (the state topics, the
workers' changelogs) holds a live value of it but the erasure record; the offline log
holds no row of it, nor does a training set built afterwards; its old events, replayed,
rebuild nothing. The other customers' data is intact, and erasing again succeeds and
changes nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from redis import Redis

from features.erasure import CUSTOMER_VIEWS, online_keys
from features.store import apply_feature_repo, feature_store, repo_config
from models.lifecycle import LOG_TOPICS
from models.logged import logged_training_set
from offers.contacts import ContactStore
from offers.contracts import (
    BookingEvent,
    Channel,
    CustomerErased,
    DecisionOutcome,
    DeliveryState,
    DeliveryStatus,
    Event,
    Language,
    LocationPing,
    OfferDecision,
    SailingUpdate,
    SocialPost,
    decode,
    encode,
)
from offers.delivery_status import StatusBook
from offers.offer_book import OfferBook, StoredOffer
from offers.reports.source import read_report_events
from offers.roles import Role
from offers.settings import Settings
from offers.stack import LocalStack
from offers.stack.workers import WorkerProcess, group_lag, wait_caught_up
from offers.state.compacted import TopicWriter
from offers.topics import CONSENT, DELIVERY_STATUS, ERASURES
from offers_api.credentials import RedisApiKeyStore
from offers_api.security import Principal
from simulators.world import World, WorldConfig
from streams.delivery.ledger import SendLedger
from streams.delivery.schedule import SendSchedule
from streams.delivery.sender import UNREACHABLE_KEY
from streams.views import FEATURE_VIEWS
from tests.integration.api_client import api, bearer
from tests.integration.decision_runs import (
    active_campaign,
    every_trigger_wire,
    grant,
    read_decisions,
    settled_decisions,
    trained_registry,
)
from tests.integration.kafka_io import produce, read_records
from tests.integration.stacks import stack_settings_in

APP_ID = "erasure"
WATCHED = 12
"""Customers given a post, a search and a quote of their own, among whom the three of the
test are chosen."""
WAIT_S = 90.0
LABEL_WINDOW = timedelta(hours=1)
"""The attribution window of the training sets: every decision's outcome is known."""


@dataclass
class Customer:
    id: str
    phone: str
    decisions: list[OfferDecision]


@dataclass
class Traces:
    """Where a customer was found: Redis, compacted topics, the offline log."""

    redis: list[str]
    topics: dict[str, list[str]]
    offline_rows: int


@dataclass
class ErasureRun:
    settings: Settings
    client: TestClient
    redis: Redis
    worker: WorkerProcess
    target: Customer
    others: list[Customer]
    before: Traces
    after: Traces
    answer: dict[str, Any]
    training_before: set[str]
    replayed: int
    other_traces: dict[str, Traces] = field(default_factory=dict)


# --- where a customer can be found ------------------------------------------------------


def needles(settings: Settings, customer: Customer) -> list[bytes]:
    """What names the customer: its id, its Feast entity key, its number, the number's
    keyed hash."""
    config = repo_config(settings)
    entity = EntityKeyProto(
        join_keys=["customer_id"], entity_values=[ValueProto(string_val=customer.id)]
    )
    digest = ContactStore(Redis(), settings.secret_key.get_secret_value()).digest(customer.phone)
    return [
        customer.id.encode(),
        serialize_entity_key(entity, config.entity_key_serialization_version),
        customer.phone.encode(),
        digest.encode(),
    ]


def redis_parts(redis: Redis, key: bytes) -> tuple[bytes, list[bytes]]:
    """The type of ``key`` and everything it holds: its value, hash fields and values, or
    members."""
    kind = cast(bytes, redis.type(key))
    if kind == b"string":
        return kind, [cast(bytes, redis.get(key) or b"")]
    if kind == b"hash":
        # the stubs type hash names as str; Feast's are bytes that are no text
        pairs = cast("dict[bytes, bytes]", redis.hgetall(key))  # type: ignore[arg-type]
        return kind, [part for pair in sorted(pairs.items()) for part in pair]
    if kind == b"zset":
        return kind, cast("list[bytes]", redis.zrange(key, 0, -1))
    if kind == b"set":
        return kind, sorted(cast("set[bytes]", redis.smembers(key)))
    if kind == b"list":
        return kind, cast("list[bytes]", redis.lrange(key, 0, -1))
    if kind == b"none":  # expired meanwhile
        return kind, []
    raise AssertionError(f"{key!r} is a {kind!r}, which this scan cannot read")


def redis_traces(redis: Redis, found: list[bytes]) -> list[str]:
    """Every key of the whole keyspace whose name, value, hash fields or members hold one
    of ``found``."""
    hits: list[str] = []
    for key in redis.scan_iter(count=1_000):
        kind, parts = redis_parts(redis, key)
        if any(needle in part for needle in found for part in (key, *parts)):
            hits.append(f"{key!r} ({kind.decode()})")
    return sorted(hits)


def compacted_topics(settings: Settings) -> list[str]:
    """Every topic of the broker compacted by its configuration (internal ones aside)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        names = [name for name in admin.list_topics() if not name.startswith("__")]
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
    finally:
        admin.close()
    configs: dict[str, Any] = described["topic"]
    return sorted(
        name
        for name, config in configs.items()
        if "compact" in str((config.get("cleanup.policy") or {}).get("value", ""))
    )


def latest_state(settings: Settings, topic: str) -> dict[bytes, bytes]:
    """Each key's live value in a compacted topic (a tombstone deletes it)."""
    state: dict[bytes, bytes] = {}
    for record in read_records(settings.kafka_bootstrap, topic):
        if record.value is None:
            state.pop(record.key, None)
        else:
            state[record.key] = record.value
    return state


def topic_traces(settings: Settings, found: list[bytes]) -> dict[str, list[str]]:
    """Per compacted topic, the live keys whose key or value holds one of ``found``."""
    traces: dict[str, list[str]] = {}
    for topic in compacted_topics(settings):
        traces[topic] = sorted(
            key.decode(errors="replace")
            for key, value in latest_state(settings, topic).items()
            if any(needle in part for needle in found for part in (key, value))
        )
    return traces


def offline_rows(settings: Settings, customer_id: str) -> int:
    """The customer's rows in the offline logs of the views keyed by customers."""
    total = 0
    for spec in CUSTOMER_VIEWS:
        for part in spec.offline_dir(settings.feast_data_dir).glob("*.parquet"):
            keys = pq.read_table(part, columns=[spec.join_key]).column(0).to_pylist()
            total += keys.count(customer_id)
    return total


def traces(settings: Settings, redis: Redis, customer: Customer) -> Traces:
    found = needles(settings, customer)
    return Traces(
        redis_traces(redis, found),
        topic_traces(settings, found),
        offline_rows(settings, customer.id),
    )


def training_customers(settings: Settings) -> set[str]:
    """The customers of a training set built from the logs now."""
    events = read_report_events(settings.kafka_bootstrap, topics=LOG_TOPICS, timeout_s=120)
    training = logged_training_set(feature_store(settings), events, attribution_window=LABEL_WINDOW)
    return set(cast(pd.Series, training.rows["customer_id"]).tolist())


def changelog(view_name: str) -> str:
    return f"{APP_ID}-{view_name}-changelog"


# --- the run ------------------------------------------------------------------------------


def watched_events(events: list[Event], customers: list[str]) -> list[Event]:
    """A social post and two searches or quotes of the day, copied for each of
    ``customers`` at noon (UTC: early afternoon at the ports, outside quiet hours) of the simulated
    day, which begins at the hour the test runs."""
    posts = [e for e in events if isinstance(e, SocialPost)]
    last = max(e.event_time for e in events)
    # on routes with seats on a sailing well after the day (customers also search routes
    # that do not sail in the season), as the worker reads the sailings' state as the
    # whole day left it once the copies come after the day's events
    later = {
        e.sailing_id: e.route_id
        for e in events
        if isinstance(e, SailingUpdate)
        and e.departure_time > last + timedelta(days=1)
        and e.booked_passengers < e.capacity_passengers
    }
    bookings = [
        e
        for e in events
        if isinstance(e, BookingEvent)
        and e.booking_ref is None
        and (e.sailing_id in later if e.sailing_id else e.route_id in later.values())
    ]
    originals: list[Event] = [posts[0], *bookings[:2]]
    first = min(e.event_time for e in events)
    noon = first.replace(hour=12, minute=0, second=0, microsecond=0)
    if noon < first:
        noon += timedelta(days=1)
    return [
        original.model_copy(
            update={
                "customer_id": customer,
                "event_id": f"w{n}-{i}-{original.event_id}"[:64],
                "event_time": noon + timedelta(minutes=n, seconds=i),
            }
        )
        for n, customer in enumerate(customers)
        for i, original in enumerate(originals)
    ]


def chosen(settings: Settings, candidates: list[str]) -> list[Customer]:
    """Customers of ``candidates`` with a sent decision and a row in every customer
    view's changelog, in order."""
    sent: dict[str, dict[str, OfferDecision]] = {}
    for record in read_decisions(settings):
        if record.outcome is DecisionOutcome.SEND:
            sent.setdefault(record.customer_id, {}).setdefault(record.decision_id, record)
    states = [
        latest_state(settings, changelog(view.name)) for view in FEATURE_VIEWS if not view.shared
    ]
    picked = [
        Customer(customer, f"+39333{n:07d}", list(sent[customer].values()))
        for n, customer in enumerate(candidates)
        if customer in sent and all(customer.encode() in state for state in states)
    ]
    assert len(picked) >= 3, f"only {len(picked)} of {len(candidates)} customers are usable"
    return picked[:3]


def give_data(client: TestClient, settings: Settings, redis: Redis, customer: Customer) -> None:
    """Contact, consent, offers, delivery records and an API key, through the API and the
    engine's own stores."""
    own = bearer(settings, customer.id, Role.CUSTOMER)
    base = f"/v1/customers/{customer.id}"
    assert client.put(f"{base}/contact", json={"phone": customer.phone}, headers=own).is_success
    location = client.put(f"{base}/consent/location", json={"granted": True}, headers=own)
    assert location.is_success, location.text
    book, statuses = OfferBook(redis), StatusBook(redis)
    ledger, schedule = SendLedger(redis, owner="delivery-a"), SendSchedule(redis)
    now = datetime.now(UTC)
    for record in customer.decisions:
        assert record.campaign_id is not None and record.channel is not None
        book.add(
            StoredOffer(
                decision_id=record.decision_id,
                customer_id=customer.id,
                campaign_id=record.campaign_id,
                channel=record.channel,
                language=Language.IT,
                message="10% off your crossing",
                offer={"kind": "percent_discount", "percent": 10},
                discount_eur=5.0,
                issued_at=record.event_time,
                expires_at=record.event_time + timedelta(days=1),
            ),
            keep_until=now + timedelta(days=1),
        )
        statuses.advance(
            record.decision_id,
            customer.id,
            record.channel,
            DeliveryState.DELIVERED,
            message_id=f"SM{uuid.uuid4().hex[:12]}",
            error_code=None,
            at=now,
        )
        ledger.claim(record.decision_id, int(now.timestamp() * 1000))
    schedule.add([customer.decisions[0].model_copy(update={"send_at": now + timedelta(hours=8)})])
    digest = ContactStore(redis, settings.secret_key.get_secret_value()).digest(customer.phone)
    redis.set(UNREACHABLE_KEY.format(customer_id=customer.id, channel="whatsapp"), digest)
    RedisApiKeyStore(redis).issue(Principal(customer.id, Role.CUSTOMER))


def publish_deliveries(settings: Settings, records: list[OfferDecision]) -> None:
    """Every sent decision delivered, now: the training sets know their outcome."""
    writer = TopicWriter(settings.kafka_bootstrap)
    try:
        for record in records:
            assert record.channel is not None
            status = DeliveryStatus(
                event_id=f"ds-{record.decision_id}"[:64],
                event_time=datetime.now(UTC),
                decision_id=record.decision_id,
                customer_id=record.customer_id,
                channel=record.channel,
                status=DeliveryState.DELIVERED,
                provider_message_id=f"SM{uuid.uuid4().hex[:12]}",
            )
            writer.put(DELIVERY_STATUS.name, record.customer_id, encode(status))
    finally:
        writer.close()


def wait_forgotten(settings: Settings, customer_id: str) -> None:
    """Wait until the worker has read the erasure and its changelogs forget the customer."""
    deadline = time.monotonic() + WAIT_S
    key = customer_id.encode()
    while time.monotonic() < deadline:
        lag = group_lag(settings, [ERASURES.name])
        held = [
            view.name
            for view in FEATURE_VIEWS
            if not view.shared and key in latest_state(settings, changelog(view.name))
        ]
        if lag == 0 and not held:
            return
        time.sleep(0.5)
    raise AssertionError(f"the worker still holds {customer_id} after {WAIT_S} s: lag {lag}")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ErasureRun]:
    root: Path = tmp_path_factory.mktemp("erasure")
    with LocalStack(stack_settings_in(root), root) as stack:
        trained_registry(root / "registry", rows=5_000)
        settings = Settings(
            **{
                **stack.configured().model_dump(),
                "stream_app_id": APP_ID,
                "decision_clock": "event",
                "model_dir": root / "registry",
                "worker_session_timeout_seconds": 6.0,
            }
        )
        apply_feature_repo(settings)
        start = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        active_campaign(settings, every_trigger_wire(start, days=1))
        day = list(World(WorldConfig(seed=11, customers=1_000, start=start, days=1)).events())
        pings: dict[str, int] = {}
        for event in day:
            if isinstance(event, LocationPing):
                pings[event.customer_id] = pings.get(event.customer_id, 0) + 1
        candidates = sorted(pings, key=lambda c: (-pings[c], c))[:WATCHED]
        events = day + watched_events(day, candidates)
        customers = sorted({c for e in events if (c := getattr(e, "customer_id", None))})
        grant(settings, ((c, ch) for c in customers for ch in (Channel.SMS, Channel.WHATSAPP)))
        redis = Redis.from_url(settings.redis_url)
        worker = WorkerProcess(settings, "worker", root)
        try:
            worker.wait_ready()
            produce(settings.kafka_bootstrap, events)
            wait_caught_up(settings, [worker], timeout=600)
            settled_decisions(settings)
            target, *others = chosen(settings, candidates)
            with api(settings) as client:
                for customer in (target, *others):
                    give_data(client, settings, redis, customer)
                before = traces(settings, redis, target)
                publish_deliveries(settings, [d for c in (target, *others) for d in c.decisions])
                training_before = training_customers(settings)
                erased = client.delete(
                    f"/v1/customers/{target.id}",
                    headers=bearer(settings, target.id, Role.CUSTOMER),
                )
                assert erased.status_code == 200, erased.text
                wait_forgotten(settings, target.id)
                # the customer's own pings, replayed: none may rebuild what was erased
                replay = [
                    e for e in events if isinstance(e, LocationPing) and e.customer_id == target.id
                ]
                produce(settings.kafka_bootstrap, replay)
                wait_caught_up(settings, [worker])
                yield ErasureRun(
                    settings=settings,
                    client=client,
                    redis=redis,
                    worker=worker,
                    target=target,
                    others=others,
                    before=before,
                    after=traces(settings, redis, target),
                    answer=erased.json(),
                    training_before=training_before,
                    replayed=len(replay),
                    other_traces={c.id: traces(settings, redis, c) for c in others},
                )
        finally:
            worker.stop()
            redis.close()


# --- the proof ------------------------------------------------------------------------------


def test_the_customer_was_everywhere_before(run: ErasureRun) -> None:
    """The scans below can fail: before the erasure they found the customer everywhere."""
    hits = " ".join(run.before.redis)
    for family in (
        "contact:customer:",
        "contact:phone:",
        "offers:ledger:",
        "offers:decision:trigger:",
        "offers:offer:",
        "offers:customer:",
        "offers:delivery:status:",
        "offers:delivery:scheduled",
        "offers:delivery:unreachable:",
        "offers:api-key:",
        "rate:customer:customer:",
    ):
        assert family in hits, family
    config = repo_config(run.settings)
    (online,) = online_keys(config.project, config.entity_key_serialization_version, run.target.id)
    assert repr(online) in hits
    topics = run.before.topics
    assert len(topics[CONSENT.name]) == 3  # sms, whatsapp, location
    for view in FEATURE_VIEWS:
        if not view.shared:
            assert topics[changelog(view.name)] == [run.target.id]
    assert topics[ERASURES.name] == []
    assert run.before.offline_rows > 0
    assert run.target.id in run.training_before


def test_the_answer_says_what_was_erased(run: ErasureRun) -> None:
    answer = run.answer
    assert answer["customer_id"] == run.target.id
    assert answer["requested_by"] == "customer" and answer["recorded"] is True
    erased = answer["erased"]
    sent = len(run.target.decisions)
    assert erased["contact"] == 2  # the number and its index entry
    assert erased["consent"] == 3
    assert erased["offers"] == sent
    # the worker that reads the erasure record erases the features too, at the same time:
    # each counts what it removed, and the scans below find that nothing is left
    assert erased["online_features"] <= 1
    assert erased["offline_feature_rows"] <= run.before.offline_rows
    assert erased["api_keys"] == 1
    assert erased["request_windows"] >= 1
    assert erased["contact_policy"] >= sent  # at least each grant's reservation
    assert erased["decision_memos"] >= sent
    # statuses, send records, the scheduled message and the unreachable mark
    assert erased["delivery_records"] >= 2 * sent + 2


def test_no_redis_key_value_field_or_member_names_the_customer(run: ErasureRun) -> None:
    assert run.after.redis == []


def test_no_compacted_topic_holds_a_live_value_of_the_customer(run: ErasureRun) -> None:
    topics = run.after.topics
    expected = {changelog(view.name) for view in FEATURE_VIEWS} | {CONSENT.name, ERASURES.name}
    assert expected <= set(topics), "every state topic and changelog was read"
    assert {topic: keys for topic, keys in topics.items() if keys} == {
        ERASURES.name: [run.target.id]
    }
    (record,) = [
        decode(value, expected=CustomerErased)
        for key, value in latest_state(run.settings, ERASURES.name).items()
        if key == run.target.id.encode()
    ]
    assert isinstance(record, CustomerErased)
    assert record.requested_by is Role.CUSTOMER


def test_the_offline_log_holds_no_row_of_the_customer(run: ErasureRun) -> None:
    assert run.after.offline_rows == 0


def test_its_replayed_events_rebuild_nothing(run: ErasureRun) -> None:
    assert run.replayed > 0
    assert run.worker.events("erased") >= run.replayed


def test_no_later_training_set_holds_the_customer(run: ErasureRun) -> None:
    after = training_customers(run.settings)
    assert run.target.id not in after
    assert after == run.training_before - {run.target.id}
    assert {c.id for c in run.others} <= after


def test_the_other_customers_keep_their_data(run: ErasureRun) -> None:
    for customer in run.others:
        kept = run.other_traces[customer.id]
        own = bearer(run.settings, customer.id, Role.CUSTOMER)
        consent = run.client.get(f"/v1/customers/{customer.id}/consent", headers=own).json()
        assert {c["scope"] for c in consent} == {"sms", "whatsapp", "location"}
        assert ContactStore(run.redis, "unused").phone_of(customer.id) == customer.phone
        offers = OfferBook(run.redis)
        assert all(offers.get(customer.id, d.decision_id) is not None for d in customer.decisions)
        for view in FEATURE_VIEWS:
            if not view.shared:
                assert kept.topics[changelog(view.name)] == [customer.id]
        assert kept.offline_rows > 0
        assert any("offers:ledger:" in hit for hit in kept.redis)


def keyspace(redis: Redis) -> dict[bytes, tuple[bytes, list[bytes], bool]]:
    """Every key with what it holds and whether it expires, but the callers' request
    windows."""
    return {
        key: (*redis_parts(redis, key), cast(int, redis.pttl(key)) > 0)
        for key in redis.scan_iter(count=1_000)
        if not key.startswith(b"rate:")
    }


def unchanged_but_expired(
    before: dict[bytes, tuple[bytes, list[bytes], bool]],
    after: dict[bytes, tuple[bytes, list[bytes], bool]],
) -> None:
    """Nothing was added or changed; only keys with an expiry may be gone."""
    assert set(after) <= set(before)
    assert {key: before[key] for key in after} == after
    assert all(before[key][2] for key in set(before) - set(after))


def erase_again(run: ErasureRun, subject: str, role: Role) -> dict[str, int]:
    """What a repeated erasure by ``subject`` erased; it wrote no new record."""
    headers = bearer(run.settings, subject, role)
    again = run.client.delete(f"/v1/customers/{run.target.id}", headers=headers)
    assert again.status_code == 200, again.text
    answer = again.json()
    assert answer["recorded"] is False
    assert answer["requested_at"] == run.answer["requested_at"]
    erased: dict[str, int] = answer["erased"]
    return erased


def test_erasing_again_succeeds_and_changes_nothing(run: ErasureRun) -> None:
    run.worker.stop()  # nothing else writes now
    redis_before = keyspace(run.redis)
    topics = compacted_topics(run.settings)
    state_before = {topic: latest_state(run.settings, topic) for topic in topics}

    by_admin = erase_again(run, f"admin-{uuid.uuid4().hex[:6]}", Role.ADMIN)
    assert set(by_admin.values()) == {0}
    # the customer's own call opens its request window, and erases it with the rest
    by_itself = erase_again(run, run.target.id, Role.CUSTOMER)
    assert {store: n for store, n in by_itself.items() if n} == {"request_windows": 1}

    unchanged_but_expired(redis_before, keyspace(run.redis))
    assert {topic: latest_state(run.settings, topic) for topic in topics} == state_before
    assert redis_traces(run.redis, needles(run.settings, run.target)) == []
