"""The pure parts of a customer's erasure: which Redis keys hold its data, what the
online store's keys of its entity are, its rows removed from the offline log, its
decisions left out of training sets, and its old events dropped by the stream
processor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pyarrow.parquet as pq
import pytest
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.redis import RedisOnlineStore
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto

from features.erasure import CUSTOMER_VIEWS, online_keys
from features.sources import (
    CUSTOMER_BOOKING_VIEW,
    CUSTOMER_LOCATION_VIEW,
    CUSTOMER_SOCIAL_VIEW,
    EVENT_TIMESTAMP,
    ViewSpec,
    erase_offline_rows,
    write_offline_rows,
)
from features.store import repo_config
from models.logged import fold_log
from offers.contracts import CustomerErased, OfferDecision, decode, encode
from offers.delivery_status import STATUS_KEY
from offers.engine_state import STORES, Match, decision_of, families, family_of
from offers.erasure import Erasure, decode_erasure, erasure_record
from offers.offer_book import CAMPAIGN_BUDGET_KEY, CUSTOMER_OFFERS_KEY, OFFER_KEY
from offers.roles import Role
from offers.settings import Settings
from streams.decisions.clock import WATERMARK_KEY
from streams.decisions.engine import Plan
from streams.decisions.ledger import (
    CAMPAIGN_DAY_KEY,
    CAMPAIGN_WEEK_KEY,
    CHANNEL_DAY_KEY,
    CHANNEL_WEEK_KEY,
    COOLDOWN_KEY,
    DECISION_KEY,
    SENDS_KEY,
    SUPPRESSION_KEY,
)
from streams.decisions.memo import MEMO_KEY, plan_to_json
from streams.decisions.quotes import DUE_KEY, WATCH_KEY
from streams.decisions.searchers import SEARCHERS_KEY
from streams.delivery.ledger import SEND_KEY
from streams.delivery.schedule import SCHEDULE_KEY
from streams.delivery.sender import UNREACHABLE_KEY
from streams.erasure import erased_before
from tests.factories import make_event

ME = "c-1:a"
"""An id with a ``:``, which other ids extend (``c-1:a:b``) and prefix (``c-1``)."""
OTHERS = ("c-1", "c-1:a:b", "c-1:ab", "xc-1:a")


def own_keys(customer_id: str) -> list[str]:
    """One key of every kind that is named by the customer."""
    return [
        COOLDOWN_KEY.format(customer_id=customer_id),
        SUPPRESSION_KEY.format(customer_id=customer_id),
        CAMPAIGN_DAY_KEY.format(campaign_id="cmp:1", customer_id=customer_id, day="2026-03-29"),
        CAMPAIGN_WEEK_KEY.format(campaign_id="cmp:1", customer_id=customer_id, week="2026-W13"),
        CHANNEL_DAY_KEY.format(channel="sms", customer_id=customer_id, day="2026-03-29"),
        CHANNEL_WEEK_KEY.format(channel="whatsapp", customer_id=customer_id, week="2026-W13"),
        WATCH_KEY.format(customer_id=customer_id),
        UNREACHABLE_KEY.format(customer_id=customer_id, channel="messenger"),
        CUSTOMER_OFFERS_KEY.format(customer_id=customer_id),
        f"rate:customer:customer:{customer_id}",
        f"rate:ingestion:customer:{customer_id}",
    ]


@pytest.mark.parametrize("key", own_keys(ME))
def test_every_key_named_by_the_customer_is_its_own(key: str) -> None:
    family = family_of(families(ME), key)
    assert family is not None and family.match is Match.NAMED


@pytest.mark.parametrize("other", OTHERS)
def test_no_key_named_by_another_customer_is_the_customers(other: str) -> None:
    mine = families(ME)
    assert [key for key in own_keys(other) if family_of(mine, key) is not None] == []


def test_shared_keys_are_checked_by_their_value() -> None:
    mine = families(ME)
    expected = {
        DECISION_KEY.format(decision_id="dec-1"): (Match.FIELD, "contact_policy"),
        STATUS_KEY.format(decision_id="dec-1"): (Match.FIELD, "delivery_records"),
        OFFER_KEY.format(decision_id="dec-1"): (Match.FIELD, "offers"),
        MEMO_KEY.format(trigger_key="dec-2"): (Match.PLAN, "decision_memos"),
        DUE_KEY: (Match.MEMBER, "quote_watch"),
        SEARCHERS_KEY.format(route_id="LIV-OLB"): (Match.MEMBER, "route_searches"),
        SCHEDULE_KEY: (Match.SCHEDULED, "delivery_records"),
        "contact:phone:" + "0f" * 32: (Match.VALUE, "contact"),
        "offers:api-key:moby_0123456789abcdef": (Match.API_KEY, "api_keys"),
    }
    for key, (match, store) in expected.items():
        family = family_of(mine, key)
        assert family is not None, key
        assert (family.match, family.store) == (match, store), key
    decision = family_of(mine, DECISION_KEY.format(decision_id="dec-9f"))
    assert decision is not None and decision.decisions
    assert decision.decision_of(DECISION_KEY.format(decision_id="dec-9f")) == "dec-9f"


@pytest.mark.parametrize(
    "key",
    [
        SENDS_KEY.format(campaign_id="cmp-1"),
        CAMPAIGN_BUDGET_KEY.format(campaign_id="cmp-1"),
        WATERMARK_KEY,
        SEND_KEY.format(decision_id="dec-1"),
        "offers/explore/v1",
    ],
)
def test_aggregates_and_other_keys_are_left_alone(key: str) -> None:
    assert family_of(families(ME), key) is None


def test_the_stores_counted() -> None:
    assert STORES == (
        "contact_policy",
        "decision_memos",
        "quote_watch",
        "route_searches",
        "delivery_records",
        "offers",
        "contact",
        "request_windows",
        "api_keys",
    )


def log_row(spec: ViewSpec, customer_id: str, at: datetime) -> dict[str, Any]:
    """A row of a view's offline log, its features missing."""
    return {spec.join_key: customer_id, **{f.name: None for f in spec.fields}, EVENT_TIMESTAMP: at}


def decision(customer_id: str, decision_id: str, at: datetime) -> OfferDecision:
    event = make_event(
        "offer_decision",
        customer_id=customer_id,
        decision_id=decision_id,
        event_id=decision_id,
        event_time=at.isoformat(),
    )
    return cast(OfferDecision, event)


def test_a_decision_record_or_plan_tells_whose_it_is() -> None:
    at = datetime(2025, 6, 1, 11, 0, tzinfo=UTC)
    mine = decision(ME, "dec-mine", at)
    plan = plan_to_json(Plan(mine, None))
    assert decision_of(encode(mine), ME) == "dec-mine"
    assert decision_of(plan, ME) == "dec-mine"
    assert decision_of(plan, "c-1") is None
    assert decision_of(encode(decision("c-1", "dec-other", at)), ME) is None
    assert decision_of(b"{not json", ME) is None
    assert decision_of(b"[1, 2]", ME) is None
    assert decision_of(None, ME) is None


def test_online_keys_are_feasts_own() -> None:
    config = repo_config(Settings(environment="test"))
    version = config.entity_key_serialization_version
    (key,) = online_keys(config.project, version, ME)
    entity = EntityKeyProto(join_keys=["customer_id"], entity_values=[ValueProto(string_val=ME)])
    assert RedisOnlineStore()._generate_redis_keys_for_entities(config, [entity]) == [key]
    assert key == serialize_entity_key(entity, version) + config.project.encode()
    assert online_keys(config.project, version, "c-1") != [key]
    assert {spec.name for spec in CUSTOMER_VIEWS} == {
        CUSTOMER_LOCATION_VIEW.name,
        CUSTOMER_SOCIAL_VIEW.name,
        CUSTOMER_BOOKING_VIEW.name,
    }


def test_the_offline_log_is_rewritten_without_the_customer(tmp_path: Path) -> None:
    spec = CUSTOMER_BOOKING_VIEW
    at = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)
    batches = [[ME, "c-1"], ["c-1"], [ME, ME, "c-2"]]
    for customers in batches:
        rows = [log_row(spec, customer, at) for customer in customers]
        write_offline_rows(spec, tmp_path, rows, [at] * len(rows))
    parts = sorted(tmp_path.glob("part-*.parquet"))
    untouched = parts[1].stat().st_mtime_ns

    assert erase_offline_rows(spec, tmp_path, [ME]) == 3
    assert sorted(tmp_path.glob("part-*.parquet")) == parts
    assert list(tmp_path.glob(".*.partial")) == []  # no partial file left behind
    held = [pq.read_table(part).column(spec.join_key).to_pylist() for part in parts]
    assert held == [["c-1"], ["c-1"], ["c-2"]]
    assert parts[1].stat().st_mtime_ns == untouched
    assert pq.read_table(parts[0]).schema == spec.arrow_schema()
    assert erase_offline_rows(spec, tmp_path, [ME]) == 0
    assert erase_offline_rows(spec, tmp_path, []) == 0


def test_training_sets_leave_out_what_an_erased_customer_did_until_then() -> None:
    at = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    erased_at = at + timedelta(minutes=30)
    erasure = erasure_record(ME, Role.CUSTOMER, erased_at)
    before, after = decision(ME, "dec-before", at), decision(ME, "dec-after", at + timedelta(1))
    other = decision("c-1", "dec-other", at)
    for events in ([before, after, other, erasure], [erasure, other, after, before]):
        folded = fold_log(events)
        assert sorted(folded.sent) == ["dec-after", "dec-other"]
        assert folded.erased == {ME: erased_at}
        assert folded.end == after.event_time
    assert sorted(fold_log([before, other]).sent) == ["dec-before", "dec-other"]


def test_the_stream_processor_drops_old_events_of_erased_customers() -> None:
    erased_at = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    erasures = {ME: erased_at}
    assert erased_before(erasures, ME.encode(), erased_at)
    assert erased_before(erasures, ME.encode(), erased_at - timedelta(days=3))
    assert not erased_before(erasures, ME.encode(), erased_at + timedelta(seconds=1))
    assert not erased_before(erasures, b"c-1", erased_at - timedelta(days=3))
    assert not erased_before({}, ME.encode(), erased_at)


def test_the_erasure_record_round_trips() -> None:
    at = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    record = erasure_record(ME, Role.ADMIN, at)
    assert decode_erasure(encode(record)) == record
    assert decode(encode(record)) == record
    assert isinstance(record, CustomerErased) and record.partition_key() == ME
    answer = Erasure(
        customer_id=ME,
        requested_at=at,
        requested_by=Role.ADMIN,
        recorded=True,
        erased={"contact": 3},
    )
    assert answer.model_dump(mode="json")["requested_by"] == "admin"
