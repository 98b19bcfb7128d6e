"""Decision records: ids a replay repeats, distinct per customer and campaign, and records
that travel on the decisions topic unchanged."""

from __future__ import annotations

from datetime import timedelta

from offers.campaigns import Trigger
from offers.contracts import Channel, DecisionOutcome, decode, encode
from offers.topics import DECISIONS
from streams.decisions.arbitration import Candidate, ranked
from streams.decisions.records import MAX_CANDIDATES, decision_id, decision_record, scored
from streams.decisions.triggers import TriggerHit
from tests.unit.decisions.decision_factories import CUSTOMER, at

HIT = TriggerHit(Trigger.GEOFENCE_ENTER, "geo-1", CUSTOMER, at(0), port="LIV")


def test_a_replayed_trigger_gets_the_same_id_and_the_same_record() -> None:
    def make() -> bytes:
        return encode(
            decision_record(
                HIT,
                DecisionOutcome.SEND,
                "best offer",
                campaign_id="cmp-a",
                channel=Channel.SMS,
                candidates=scored(ranked([Candidate("cmp-a", 0.2, 30.0)])),
                model_version="v3",
                propensity=0.95,
                expires_at=at(0) + timedelta(hours=48),
            )
        )

    assert make() == make()
    assert decision_id(HIT, "cmp-a") == decision_id(HIT, "cmp-a")


def test_ids_differ_by_customer_campaign_and_trigger() -> None:
    other_customer = TriggerHit(Trigger.GEOFENCE_ENTER, "geo-1", "cust-2", at(0))
    other_trigger = TriggerHit(Trigger.GEOFENCE_ENTER, "geo-2", CUSTOMER, at(0))
    same_event_other_kind = TriggerHit(Trigger.SEARCH, "geo-1", CUSTOMER, at(0))
    ids = {
        decision_id(same_event_other_kind, "cmp-a"),
        decision_id(HIT, "cmp-a"),
        decision_id(HIT, "cmp-b"),
        decision_id(HIT, None),
        decision_id(other_customer, "cmp-a"),
        decision_id(other_trigger, "cmp-a"),
    }
    assert len(ids) == 6
    assert all(i.startswith("dec-") and len(i) == 44 for i in ids)


def test_a_record_without_an_offer_says_why_and_is_keyed_by_its_customer() -> None:
    record = decision_record(
        HIT,
        DecisionOutcome.NO_OFFER,
        "no eligible campaign",
        candidates=scored([], refused=[("cmp-a", "outside_schedule"), ("cmp-b", "language")]),
    )
    assert record.campaign_id is None and record.event_id == record.decision_id
    assert [(c.campaign_id, c.eligible, c.reason) for c in record.candidates] == [
        ("cmp-a", False, "outside_schedule"),
        ("cmp-b", False, "language"),
    ]
    assert record.partition_key() == CUSTOMER
    assert DECISIONS.name == "offers.decisions"
    assert decode(encode(record)) == record


def test_scored_keeps_the_ranked_order_then_the_refused_within_the_limit() -> None:
    candidates = [Candidate(f"cmp-{i:03d}", 0.1, float(i)) for i in range(80)]
    refused = [(f"cmp-r{i:03d}", "segment") for i in range(40)]
    kept = scored(ranked(candidates), refused)
    assert len(kept) == MAX_CANDIDATES
    assert kept[0].campaign_id == "cmp-079" and kept[0].priority == candidates[-1].priority
    assert [c.eligible for c in kept[79:81]] == [True, False]
