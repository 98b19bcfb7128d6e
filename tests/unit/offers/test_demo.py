"""The pure parts of ``offers demo``: its campaigns, how it reuses them, how it counts and
shows decisions, and what it expects in each topic. The run itself needs the stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from offers.campaigns import (
    Actor,
    Campaign,
    CampaignCreate,
    CampaignStatus,
    LifecycleAction,
    activation_problems,
    create_campaign,
    in_schedule,
    new_campaign_id,
    transition,
)
from offers.campaigns.presets import demo_campaigns
from offers.contracts import Channel, Language, OfferDecision, Trigger
from offers.demo_setup import (
    DEMO_ACTOR,
    PlacedCampaigns,
    campaign_period,
    engine_settings,
    place_campaigns,
    reusable,
)
from offers.demo_tables import (
    NO_CAMPAIGN,
    DecisionCounts,
    campaigns_table,
    count_decisions,
    decisions_json,
    expected_flow,
    features_table,
    reasons_table,
    summary,
)
from offers.settings import Settings
from offers.topics import (
    BOOKING,
    CAMPAIGNS,
    CONSENT,
    DEAD_LETTER,
    DECISIONS,
    GEOFENCE,
    LOCATION,
    TRIGGERS,
)
from simulators.world import WorldConfig
from tests.factories import make_event

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
WORLD = WorldConfig(customers=2_000, days=1)


def wires(now: datetime = NOW, world: WorldConfig = WORLD) -> list[dict[str, Any]]:
    return demo_campaigns(*campaign_period(world, now))


# campaigns -----------------------------------------------------------------------------


def test_every_demo_campaign_validates_and_can_be_activated() -> None:
    for wire in wires():
        body = CampaignCreate(**wire)
        assert activation_problems(body, NOW) == []
        draft, _ = create_campaign(body, new_campaign_id(), DEMO_ACTOR, NOW)
        active, _ = transition(draft, LifecycleAction.ACTIVATE, DEMO_ACTOR, NOW)
        assert active.status is CampaignStatus.ACTIVE
        assert body.holdout_share == 0.1 and body.budget.has_limit


def test_the_campaigns_cover_every_trigger_but_social_mentions_with_distinct_names() -> None:
    bodies = [CampaignCreate(**wire) for wire in wires()]
    triggers = {trigger for body in bodies for trigger in body.targeting.triggers}
    assert triggers == set(Trigger) - {Trigger.POSITIVE_SOCIAL_MENTION}
    assert len({body.name for body in bodies}) == len(bodies)
    assert len({body.offer.kind for body in bodies}) == len(bodies)


def test_every_channel_has_a_template_in_every_language() -> None:
    for body in (CampaignCreate(**wire) for wire in wires()):
        assert not body.targeting.languages
        for channel in body.channels:
            for language in Language:
                assert body.template_for(channel, language) is not None


@pytest.mark.parametrize(
    "start", [datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)]
)
def test_the_schedule_covers_the_simulated_days_and_outlasts_now(start: datetime) -> None:
    world = WorldConfig(customers=1_000, days=3, start=start)
    for body in (CampaignCreate(**wire) for wire in wires(NOW, world)):
        assert body.schedule.start < world.start
        assert body.schedule.end > max(world.end, NOW) + timedelta(days=7)
        noon = world.start + timedelta(days=1, hours=10)
        assert in_schedule(body.schedule, noon, "Europe/Rome")


def test_the_port_welcome_applies_to_routes_from_its_ports_only() -> None:
    body = CampaignCreate(**wires()[0])
    assert {g.port for g in body.targeting.geofences if g.kind == "port"} == {"LIV", "PIO", "OLB"}
    assert "LIV-OLB" in body.offer.route_ids and "OLB-PIO" in body.offer.route_ids
    assert all(route.split("-")[0] in {"LIV", "PIO", "OLB"} for route in body.offer.route_ids)


def running(wire: dict[str, Any], now: datetime = NOW) -> Campaign:
    draft, _ = create_campaign(CampaignCreate(**wire), new_campaign_id(), DEMO_ACTOR, now)
    return transition(draft, LifecycleAction.ACTIVATE, DEMO_ACTOR, now)[0]


def test_a_running_campaign_of_the_same_content_and_span_is_reused() -> None:
    wire = wires()[1]
    needed = (WORLD.start, NOW + timedelta(days=1))
    campaign = running(wire)
    assert reusable(campaign, CampaignCreate(**wire), needed)
    later = CampaignCreate(**wires(NOW + timedelta(days=10))[1])
    assert reusable(campaign, later, needed), "a later schedule end alone does not matter"


def test_a_campaign_is_not_reused_when_it_differs_stops_or_ends_too_soon() -> None:
    wire = wires()[1]
    wanted = CampaignCreate(**wire)
    needed = (WORLD.start, NOW + timedelta(days=1))
    changed = running({**wire, "priority_eur": 99.0})
    assert not reusable(changed, wanted, needed)
    paused = transition(running(wire), LifecycleAction.PAUSE, DEMO_ACTOR, NOW)[0]
    assert not reusable(paused, wanted, needed)
    assert not reusable(running(wire), wanted, (WORLD.start, NOW + timedelta(days=60)))
    earlier_world = WorldConfig(customers=1_000, start=datetime(2026, 5, 1, tzinfo=UTC))
    assert not reusable(running(wire), wanted, (earlier_world.start, needed[1]))


class CampaignBook:
    """The campaign store's create, move and all, in memory."""

    def __init__(self) -> None:
        self.campaigns: dict[str, Campaign] = {}
        self.view = SimpleNamespace(wait_until_current=lambda: None)
        self.writes = 0

    def all(self) -> list[Campaign]:
        return list(self.campaigns.values())

    def create(self, body: CampaignCreate, actor: Actor) -> Campaign:
        campaign, _ = create_campaign(body, new_campaign_id(), actor, datetime.now(UTC))
        return self._keep(campaign)

    def move(self, campaign_id: str, action: LifecycleAction, actor: Actor) -> Campaign:
        moved, _ = transition(self.campaigns[campaign_id], action, actor, datetime.now(UTC))
        return self._keep(moved)

    def _keep(self, campaign: Campaign) -> Campaign:
        self.campaigns[campaign.id] = campaign
        self.writes += 1
        return campaign


def place(book: CampaignBook, now: datetime) -> PlacedCampaigns:
    # the book stands in for the store: it has the three methods and the view it uses
    return place_campaigns(book, WORLD, now)  # type: ignore[arg-type]


def test_placing_the_campaigns_twice_creates_them_once() -> None:
    book = CampaignBook()
    now = datetime.now(UTC)
    first = place(book, now)
    assert first.records == 6 == book.writes
    assert all(c.status is CampaignStatus.ACTIVE for c in first.campaigns)
    again = place(book, now + timedelta(minutes=5))
    assert again.records == 0 and book.writes == 6
    assert [c.id for c in again.campaigns] == [c.id for c in first.campaigns]


def test_campaigns_that_no_longer_cover_the_run_are_ended_and_replaced() -> None:
    book = CampaignBook()
    now = datetime.now(UTC)
    first = place(book, now)
    later = place(book, now + timedelta(days=45))
    assert later.records == 3 * 3
    assert {c.id for c in later.campaigns}.isdisjoint(c.id for c in first.campaigns)
    ended = [c for c in book.all() if c.status is CampaignStatus.ENDED]
    assert {c.id for c in ended} == {c.id for c in first.campaigns}


def test_the_worker_decides_at_event_time_with_the_demo_registry(tmp_path: Path) -> None:
    live = Settings(kafka_bootstrap="127.0.0.1:1", redis_url="redis://127.0.0.1:2/0")
    engine = engine_settings(live, tmp_path)
    assert engine.decision_clock == "event" and engine.model_dir == tmp_path
    assert engine.kafka_bootstrap == live.kafka_bootstrap
    assert engine.as_environment()["OFFERS_DECISION_CLOCK"] == "event"


# decisions -----------------------------------------------------------------------------


def decision(decision_id: str, outcome: str, reason: str, campaign: str | None) -> OfferDecision:
    extra: dict[str, Any] = {"campaign_id": campaign if campaign else ...}
    extra["channel"] = Channel.SMS.value if outcome == "send" else ...
    event = make_event(
        OfferDecision, decision_id=decision_id, outcome=outcome, reason=reason, **extra
    )
    assert isinstance(event, OfferDecision)
    return event


RECORDS = [
    decision("dec-1", "send", "send_now", "cmp-a"),
    decision("dec-2", "send", "send_now", "cmp-a"),
    decision("dec-1", "send", "send_now", "cmp-a"),  # a replayed trigger
    decision("dec-3", "holdout", "holdout", "cmp-b"),
    decision("dec-4", "no_offer", "no_consent", None),
    decision("dec-5", "no_offer", "outside_schedule", None),
    decision("dec-6", "no_offer", "no_consent", None),
    decision("dec-7", "suppressed", "capped_channel_day", "cmp-b"),
    decision("dec-8", "control", "global_control", "cmp-a"),
]


def test_decisions_are_counted_once_per_decision_id() -> None:
    counts = count_decisions(RECORDS)
    assert counts.records == 9 and counts.distinct == 8
    assert counts.by_reason == {
        ("send", "send_now"): 2,
        ("holdout", "holdout"): 1,
        ("no_offer", "no_consent"): 2,
        ("no_offer", "outside_schedule"): 1,
        ("suppressed", "capped_channel_day"): 1,
        ("control", "global_control"): 1,
    }
    assert counts.by_campaign == {
        ("cmp-a", "send"): 2,
        ("cmp-a", "control"): 1,
        ("cmp-b", "holdout"): 1,
        ("cmp-b", "suppressed"): 1,
        ("", "no_offer"): 3,
    }


def test_the_reasons_table_lists_outcomes_in_order_and_reasons_by_count() -> None:
    lines = reasons_table(count_decisions(RECORDS)).splitlines()
    assert lines[0].split() == ["outcome", "reason", "decisions"]
    assert [line.split() for line in lines[1:]] == [
        ["send", "send_now", "2"],
        ["holdout", "holdout", "1"],
        ["control", "global_control", "1"],
        ["suppressed", "capped_channel_day", "1"],
        ["no_offer", "no_consent", "2"],
        ["no_offer", "outside_schedule", "1"],
        ["total", "8"],
    ]
    assert len({len(line) for line in lines}) == 1, "columns line up"


def test_the_campaigns_table_names_campaigns_and_puts_decisions_without_one_last() -> None:
    names = {"cmp-a": "Port welcome", "cmp-b": "Fare drop alert"}
    lines = campaigns_table(count_decisions(RECORDS), names).splitlines()
    assert lines[0].split() == ["campaign", "send", "holdout", "control", "suppressed", "no_offer"]
    assert lines[1].split() == ["Fare", "drop", "alert", "0", "1", "0", "1", "0"]
    assert lines[2].split() == ["Port", "welcome", "2", "0", "1", "0", "0"]
    assert lines[3].split() == [*NO_CAMPAIGN.split(), "0", "0", "0", "0", "3"]
    assert "cmp-x" in campaigns_table(DecisionCounts(1, {}, {("cmp-x", "send"): 1}), names)


def test_the_decisions_json_nests_reasons_by_outcome_and_outcomes_by_campaign() -> None:
    data = decisions_json(count_decisions(RECORDS), {"cmp-a": "Port welcome"})
    assert data["records"] == 9 and data["distinct"] == 8
    assert data["by_reason"]["no_offer"] == {"no_consent": 2, "outside_schedule": 1}
    assert data["by_campaign"]["cmp-a"] == {
        "name": "Port welcome",
        "outcomes": {"send": 2, "control": 1},
    }
    assert data["by_campaign"]["none"]["outcomes"] == {"no_offer": 3}


# the flow check ------------------------------------------------------------------------


SAMPLES = {
    ("offers_geofence_transitions_total", (("action", "enter"),)): 5.0,
    ("offers_geofence_transitions_total", (("action", "exit"),)): 4.0,
    ("offers_trigger_signals_total", (("trigger", "fare_drop"),)): 30.0,
    ("offers_trigger_signals_total", (("trigger", "abandoned_quote"),)): 7.0,
    ("offers_decisions_total", (("outcome", "send"), ("reason", "send_now"))): 11.0,
    ("offers_decisions_total", (("outcome", "no_offer"), ("reason", "no_consent"))): 20.0,
    ("offers_stream_events_total", (("outcome", "applied"), ("topic", "events.booking"))): 50.0,
    ("offers_stream_events_total", (("outcome", "dead_lettered"), ("topic", "events.social"))): 2.0,
    ("offers_decisions_degraded", ()): 0.0,
}


def test_the_expected_flow_adds_the_workers_records_and_the_demos_state_records() -> None:
    produced = {BOOKING.name: 50, LOCATION.name: 100}
    written = {CONSENT.name: 2_515, CAMPAIGNS.name: 6}
    expected = expected_flow(produced, SAMPLES, written)
    assert expected == {
        BOOKING.name: 50,
        LOCATION.name: 100,
        CONSENT.name: 2_515,
        CAMPAIGNS.name: 6,
        GEOFENCE.name: 9,
        TRIGGERS.name: 37,
        DECISIONS.name: 31,
        DEAD_LETTER.name: 2,
    }


def test_the_worker_table_leaves_decisions_to_the_decision_tables() -> None:
    assert summary(SAMPLES)["offers_decisions"] == {"send/send_now": 11, "no_offer/no_consent": 20}
    table = features_table(SAMPLES)
    assert "trigger_signals fare_drop" in table and "geofence_transitions enter" in table
    assert "decisions" not in table
