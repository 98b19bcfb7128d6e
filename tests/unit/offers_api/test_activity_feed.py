"""The live activity's fold (offers_api.web.activity), fed records directly: counts per
campaign and per port, the recent window on a clock the test moves, each decision and
delivery state counted once, the latest decisions, unreadable records, bounds, and no
personal data in the snapshot."""

from __future__ import annotations

from datetime import timedelta

import pytest

from offers.contracts import encode
from offers.topics import DECISIONS
from offers_api.web import activity
from offers_api.web.activity import ActivityFeed, ActivityTally
from tests.factories import make_event
from tests.unit.offers_api.activity_factories import START, FakeClock, decision, record, status


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def feed(clock: FakeClock) -> ActivityFeed:
    """A feed that is never started: the test hands it the records."""
    return ActivityFeed("unused:9092", clock=clock)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_a_campaign_counts_its_decisions_by_outcome_and_its_offers_by_delivery_state(
    feed: ActivityFeed,
) -> None:
    outcomes = ["send", "send", "send", "holdout", "suppressed"]
    for n, outcome in enumerate(outcomes):
        feed.fold(record(decision(n, outcome), START - minutes(10 - n)))
    for decision_id, state in [("dec-0", "sent"), ("dec-0", "delivered"), ("dec-1", "failed")]:
        feed.fold(record(status(decision_id, state)))
    feed.fold(record(decision(9, "send", campaign="camp-sardinia"), START - minutes(30)))

    elba, sardinia = feed.snapshot().campaigns
    assert elba.model_dump(mode="json") == {
        "campaign_id": "camp-elba",
        "decided": 5,
        "by_outcome": {"send": 3, "holdout": 1, "control": 0, "suppressed": 1, "no_offer": 0},
        "sent": 3,
        "by_delivery": {"queued": 0, "sent": 1, "delivered": 1, "failed": 1, "undelivered": 0},
        "last_decision_at": "2026-06-01T09:54:00Z",
    }
    assert (sardinia.campaign_id, sardinia.sent, sardinia.by_delivery["delivered"]) == (
        "camp-sardinia",
        1,
        0,
    )


def test_ports_count_in_total_and_in_the_last_fifteen_minutes(
    feed: ActivityFeed, clock: FakeClock
) -> None:
    feed.fold(record(decision(1, "send", port="LIV"), START - minutes(20)))
    feed.fold(record(decision(2, "send", port="LIV"), START - minutes(5)))
    feed.fold(record(decision(3, "holdout", port="LIV"), START - minutes(1)))
    feed.fold(record(decision(4, "no_offer", campaign=None, port=None), START - minutes(1)))
    feed.fold(record(decision(5, "send", port="OLB"), START - minutes(2)))
    ports = {p.port: p.model_dump() for p in feed.snapshot().ports}
    assert ports == {
        "LIV": {"port": "LIV", "decided": 3, "sent": 2, "decided_recent": 2, "sent_recent": 1},
        "OLB": {"port": "OLB", "decided": 1, "sent": 1, "decided_recent": 1, "sent_recent": 1},
        None: {"port": None, "decided": 1, "sent": 0, "decided_recent": 1, "sent_recent": 0},
    }
    assert [p.port for p in feed.snapshot().ports] == ["LIV", "OLB", None]

    before = feed.version()
    clock.advance(minutes(13.5))  # only the records of a minute before START stay
    assert feed.version() > before
    liv, olb, _ = feed.snapshot().ports
    assert (liv.decided_recent, liv.sent_recent, liv.decided) == (1, 0, 3)
    assert (olb.decided_recent, olb.sent_recent, olb.decided) == (0, 0, 1)
    clock.advance(minutes(30))
    settled = feed.version()
    assert all(p.decided_recent == 0 for p in feed.snapshot().ports)
    assert feed.version() == settled  # nothing left to expire: nothing changed


def test_the_version_grows_with_every_change_and_only_then(feed: ActivityFeed) -> None:
    versions = [feed.version()]
    feed.fold(record(decision(1), START))
    versions.append(feed.version())
    feed.fold(record(decision(1), START))  # the same decision again
    versions.append(feed.version())
    feed.fold(record(status("dec-1", "delivered")))
    versions.append(feed.version())
    feed.fold(record(status("dec-1", "delivered", n=1)))  # the same state, retried
    versions.append(feed.version())
    feed.fold(record(b"not json"))
    versions.append(feed.version())
    assert versions == [0, 1, 1, 2, 2, 3]
    assert feed.snapshot().version == 3


def test_a_decision_read_again_counts_once(feed: ActivityFeed) -> None:
    for _ in range(3):
        feed.fold(record(decision(1), START))
        feed.fold(record(status("dec-1", "delivered")))
    snapshot = feed.snapshot()
    (campaign,) = snapshot.campaigns
    assert (campaign.decided, campaign.sent, campaign.by_delivery["delivered"]) == (1, 1, 1)
    assert [(p.decided, p.decided_recent) for p in snapshot.ports] == [(1, 1)]
    assert [d.decision_id for d in snapshot.recent] == ["dec-1"]


def test_a_status_read_before_its_decision_waits_for_it(feed: ActivityFeed) -> None:
    feed.fold(record(status("dec-1", "sent")))
    feed.fold(record(status("dec-1", "delivered")))
    assert feed.snapshot().campaigns == []
    feed.fold(record(decision(1), START))
    (campaign,) = feed.snapshot().campaigns
    assert campaign.by_delivery == {
        "queued": 0,
        "sent": 1,
        "delivered": 1,
        "failed": 0,
        "undelivered": 0,
    }


def test_the_recent_decisions_are_the_twenty_latest_newest_first(feed: ActivityFeed) -> None:
    order = list(range(30))
    order = order[::2] + order[1::2]  # written out of order, as partitions interleave
    for n in order:
        feed.fold(record(decision(n, "holdout", port=None), START + timedelta(seconds=n)))
    recent = feed.snapshot().recent
    assert [d.decision_id for d in recent] == [f"dec-{n}" for n in range(29, 9, -1)]
    assert recent[0].model_dump(mode="json") == {
        "decision_id": "dec-29",
        "campaign_id": "camp-elba",
        "port": None,
        "outcome": "holdout",
        "reason": "highest expected value",
        "channel": None,
        "at": "2026-06-01T10:00:29Z",
    }


def test_a_sent_decision_shows_its_channel_and_a_decision_without_campaign_none(
    feed: ActivityFeed,
) -> None:
    feed.fold(record(decision(1, "send"), START))
    feed.fold(record(decision(2, "no_offer", campaign=None), START + timedelta(seconds=1)))
    second, first = feed.snapshot().recent
    assert (first.channel, first.campaign_id) == ("sms", "camp-elba")
    assert (second.channel, second.campaign_id, second.outcome) == (None, None, "no_offer")
    assert [c.campaign_id for c in feed.snapshot().campaigns] == ["camp-elba"]


def test_unreadable_records_are_skipped_and_counted(feed: ActivityFeed) -> None:
    feed.fold(record(b"{not json", START))
    feed.fold(record(None, START))  # a tombstone
    feed.fold(record(status("dec-1", "sent"), topic=DECISIONS.name))  # on the wrong topic
    feed.fold(record(encode(decision(1))[:-5], START))  # cut short
    feed.fold(record(decision(2), START))
    snapshot = feed.snapshot()
    assert snapshot.unreadable == 4
    assert [d.decision_id for d in snapshot.recent] == ["dec-2"]


def test_a_record_without_a_timestamp_is_taken_as_written_now(
    feed: ActivityFeed, clock: FakeClock
) -> None:
    feed.fold(record(decision(1)))  # timestamp -1
    snapshot = feed.snapshot()
    assert snapshot.recent[0].at == START
    assert snapshot.ports[0].decided_recent == 1


def test_the_snapshot_holds_no_customer_id_and_no_phone_number(feed: ActivityFeed) -> None:
    feed.fold(record(decision(7), START))
    feed.fold(record(status("dec-7", "delivered")))
    text = feed.snapshot().model_dump_json()
    assert "cust-7" not in text and "cust-1" not in text and "customer" not in text


def test_campaigns_and_ports_are_bounded_keeping_the_latest(
    feed: ActivityFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(activity, "MAX_CAMPAIGNS", 3)
    monkeypatch.setattr(activity, "MAX_PORTS", 2)
    for n in range(5):
        at = START - minutes(5 - n)
        feed.fold(record(decision(n, campaign=f"camp-{n}", port=f"P{n}"), at))
    snapshot = feed.snapshot()
    assert [c.campaign_id for c in snapshot.campaigns] == ["camp-2", "camp-3", "camp-4"]
    assert [p.port for p in snapshot.ports] == ["P3", "P4"]


def test_decisions_remembered_to_count_once_are_bounded(
    feed: ActivityFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(activity, "MAX_TRACKED_DECISIONS", 2)
    monkeypatch.setattr(activity, "MAX_WAITING_DECISIONS", 1)
    for n in range(3):
        feed.fold(record(decision(n), START))
    feed.fold(record(status("dec-0", "delivered")))  # forgotten: waits
    feed.fold(record(status("dec-9", "delivered")))  # pushes it out of the waiting line
    feed.fold(record(status("dec-2", "delivered")))
    (campaign,) = feed.snapshot().campaigns
    assert (campaign.decided, campaign.by_delivery["delivered"]) == (3, 1)


def test_the_tally_ignores_other_events() -> None:
    tally = ActivityTally(clock=lambda: START)
    tally.add(make_event("booking"), START)
    assert tally.version == 0 and tally.snapshot().ports == []


def test_a_decision_without_a_port_counts_at_the_port_its_route_leaves_from(
    feed: ActivityFeed,
) -> None:
    feed.fold(record(decision(1, port=None, route="PIO-PFE"), START))
    feed.fold(record(decision(2, port="OLB", route="LIV-OLB"), START))
    feed.fold(record(decision(3, port=None, route=None), START))
    feed.fold(record(decision(4, port=None, route="XXX-YYY"), START))
    snapshot = feed.snapshot()
    assert {p.port: p.decided for p in snapshot.ports} == {"PIO": 1, "OLB": 1, None: 2}
    assert {r.decision_id: r.port for r in snapshot.recent} == {
        "dec-1": "PIO",
        "dec-2": "OLB",
        "dec-3": None,
        "dec-4": None,
    }
