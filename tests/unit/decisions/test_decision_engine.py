"""The decision engine: one plan per trigger of a micro-batch scored in one model call,
the reason of every outcome, the contact policy that needs no shared state (global
control, holdout, quiet hours in the customer's zone), expiry, shadow scores, and the
ledger's verdict settled into the record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from models.inputs import Candidates, CustomerColumns
from offers.campaigns import Campaign, CampaignStatus
from offers.contracts import Channel, DecisionOutcome
from offers.settings import Settings
from streams.decisions.engine import (
    FloatArray,
    Models,
    Plan,
    ScoreFn,
    Situation,
    plan,
    settle,
    without_offer,
)
from streams.decisions.ledger import Refusal, Reservation
from streams.decisions.policy import held_out, in_global_control
from streams.decisions.records import decision_id
from tests.unit.campaigns.factories import NOW, nested, valid_campaign
from tests.unit.decisions.decision_factories import (
    CUSTOMER,
    SAILING,
    active_campaign,
    at,
    customer,
    guarded,
    hit,
    sailing_row,
)
from tests.unit.models.model_factories import online_row

OLBIA = "cmp-olbia"
DEPARTURE = at(86_400)
"""When the default sailing leaves: a day after NOW."""
EVENING = datetime(2025, 6, 1, 19, 30, tzinfo=UTC)
"""21:30 in Rome (quiet hours), 20:30 in Lisbon (not yet)."""
LATE_EVENING = datetime(2025, 6, 1, 20, 30, tzinfo=UTC)
"""22:30 in Rome, 21:30 in Lisbon: quiet hours in both."""
ROME_MORNING = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
"""08:00 in Rome the next day, when its quiet hours end."""
POPULATION = [f"cust-{i}" for i in range(40)]


def discount_propensity(customers: CustomerColumns, candidates: Candidates) -> FloatArray:
    """A fixed model: one point of conversion chance per percent of discount, 20 % for
    any offer that is not a percentage."""
    percent = candidates.offer_percent
    return np.where(np.isnan(percent), 0.2, percent / 100.0)


def half_propensity(customers: CustomerColumns, candidates: Candidates) -> FloatArray:
    """A challenger that is half as confident as :func:`discount_propensity`."""
    return discount_propensity(customers, candidates) / 2.0


@dataclass
class CountedModel:
    """A scoring function that remembers the candidates of every call."""

    score: ScoreFn = discount_propensity
    calls: list[Candidates] = field(default_factory=list)

    def __call__(self, customers: CustomerColumns, candidates: Candidates) -> FloatArray:
        self.calls.append(candidates)
        return self.score(customers, candidates)


def policy(**overrides: Any) -> Settings:
    """Quiet hours 21:00 to 08:00, no control group and no exploration unless asked."""
    fields: dict[str, Any] = {
        "global_control_share": 0.0,
        "exploration_share": 0.0,
        "quiet_hours_start": 21,
        "quiet_hours_end": 8,
        "offer_cooldown_hours": 24,
        "channel_cap_per_day": 2,
        "channel_cap_per_week": 5,
    }
    return Settings(**(fields | overrides))


def campaign(
    campaign_id: str = OLBIA, *, percent: int = 15, priority_eur: float = 12.0, **overrides: Any
) -> Campaign:
    """The default active campaign without a holdout: ``percent`` off a 50 EUR fare."""
    fields: dict[str, Any] = {"holdout_share": 0.0, "priority_eur": priority_eur} | overrides
    return active_campaign(
        campaign_id=campaign_id, offer=nested("offer", percent=percent), **fields
    )


def all_day(campaign_id: str = OLBIA, **overrides: Any) -> Campaign:
    """A campaign whose schedule has no daily hours, so it runs into the night."""
    return campaign(campaign_id, schedule=nested("schedule", hours=...), **overrides)


def situation(
    row: int = 0, *, now: datetime = NOW, customer_id: str = CUSTOMER, **context: Any
) -> Situation:
    """The customer at ``row`` entering Livorno's geofence a minute before ``now``."""
    return Situation(
        hit(when=now - timedelta(minutes=1), customer=customer_id),
        now,
        customer(customer_id=customer_id, **context),
        row,
    )


def decide(
    campaigns: list[Campaign],
    *situations: Situation,
    sailings: Mapping[str, Mapping[str, Any]] | None = None,
    sends: Mapping[str, int] | None = None,
    models: Models | None = None,
    settings: Settings | None = None,
    alerts: frozenset[str] = frozenset(),
) -> list[Plan]:
    """The plans of one micro-batch, each customer with a row of online features."""
    return plan(
        situations,
        campaigns,
        sailings={SAILING: sailing_row()} if sailings is None else sailings,
        sends=sends or {},
        customers=CustomerColumns.from_rows([online_row() for _ in situations]),
        models=models or Models("v1", discount_propensity),
        settings=settings or policy(),
        alerts=alerts,
    )


def one(campaigns: list[Campaign], case: Situation, **options: Any) -> Plan:
    [only] = decide(campaigns, case, **options)
    return only


def listed(plan: Plan) -> list[tuple[str, bool, str | None]]:
    return [(c.campaign_id, c.eligible, c.reason) for c in plan.record.candidates]


# One plan per trigger, one model call per batch


def test_one_plan_per_situation_in_order_from_one_model_call() -> None:
    model, challenger = CountedModel(), CountedModel(half_propensity)
    plans = decide(
        [campaign("cmp-a", percent=10), campaign("cmp-b", percent=20)],
        situation(0, customer_id="cust-1"),
        situation(1, customer_id="cust-2", consented=frozenset()),
        situation(2, customer_id="cust-3", consented=frozenset({Channel.WHATSAPP})),
        models=Models("v1", model, "v2", challenger),
    )
    assert [p.record.customer_id for p in plans] == ["cust-1", "cust-2", "cust-3"]
    assert len(model.calls) == len(challenger.calls) == 1
    [batch] = model.calls
    assert challenger.calls[0] is batch
    assert batch.customer.tolist() == [0, 0, 2, 2]
    assert batch.offer_percent.tolist() == [10.0, 20.0, 10.0, 20.0]
    assert [p.record.outcome for p in plans] == [
        DecisionOutcome.SEND,
        DecisionOutcome.NO_OFFER,
        DecisionOutcome.SEND,
    ]
    assert plans[1].record.reason == "no_consent"
    assert [p.record.channel for p in plans] == [Channel.SMS, None, Channel.WHATSAPP]
    for sent in (plans[0], plans[2]):
        scores = {c.campaign_id: c.propensity for c in sent.record.candidates}
        assert scores == pytest.approx({"cmp-a": 0.10, "cmp-b": 0.20})
        assert sent.record.model_version == "v1"


def test_a_batch_without_any_candidate_calls_no_model() -> None:
    model = CountedModel()
    plans = decide([campaign()], situation(consented=frozenset()), models=Models("v1", model))
    assert model.calls == []
    assert plans[0].record.reason == "no_consent"


# Without an offer


@pytest.mark.parametrize(
    "campaigns",
    [[], [valid_campaign(CampaignStatus.PAUSED), valid_campaign(CampaignStatus.DRAFT)]],
    ids=["none", "none-active"],
)
def test_without_an_active_campaign_there_is_no_offer(campaigns: list[Campaign]) -> None:
    decided = one(campaigns, situation())
    assert decided.send is None
    record = decided.record
    assert (record.outcome, record.reason) == (DecisionOutcome.NO_OFFER, "no_active_campaign")
    assert record.campaign_id is None and record.candidates == ()
    assert record.decision_id == decision_id(hit(), None)


SEARCHES_ONLY = campaign(
    "cmp-search", targeting=nested("targeting", triggers=["search"], geofences=[])
)
"""Never considered for a geofence_enter: fails on trigger_not_targeted."""


@pytest.mark.parametrize(
    ("sailings", "sends", "reason"),
    [
        ({SAILING: sailing_row(seats=0)}, {}, "no_inventory"),
        ({SAILING: sailing_row()}, {OLBIA: 50_000}, "budget_exhausted"),
    ],
)
@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
def test_when_every_campaign_is_refused_the_closest_one_explains_it(
    sailings: dict[str, Any], sends: dict[str, int], reason: str, reverse: bool
) -> None:
    campaigns = [SEARCHES_ONLY, campaign()]
    if reverse:
        campaigns.reverse()
    decided = one(campaigns, situation(), sailings=sailings, sends=sends)
    assert decided.send is None
    assert (decided.record.outcome, decided.record.reason) == (DecisionOutcome.NO_OFFER, reason)
    assert decided.record.campaign_id is None
    refusals = {("cmp-search", False, "trigger_not_targeted"), (OLBIA, False, reason)}
    assert set(listed(decided)) == refusals
    assert all(c.propensity == 0.0 and c.priority == 0.0 for c in decided.record.candidates)


def test_refused_campaigns_are_listed_after_the_scored_ones() -> None:
    decided = one([SEARCHES_ONLY, campaign()], situation())
    assert decided.record.outcome is DecisionOutcome.SEND
    assert listed(decided) == [
        (OLBIA, True, None),
        ("cmp-search", False, "trigger_not_targeted"),
    ]


# Arbitration


def test_the_highest_priority_wins_not_the_highest_propensity() -> None:
    # fare 50 EUR: priority = percent / 100 x (priority_eur - 50 x percent / 100)
    generous = campaign("cmp-generous", percent=40, priority_eur=30.0)  # 0.40 x 10 = 4.0
    modest = campaign("cmp-modest", percent=10, priority_eur=50.0)  # 0.10 x 45 = 4.5
    small = campaign("cmp-small", percent=5, priority_eur=12.0)  # 0.05 x 9.5 = 0.475
    decided = one([generous, small, modest], situation())
    record = decided.record
    assert (record.outcome, record.reason) == (DecisionOutcome.SEND, "send_now")
    assert record.campaign_id == "cmp-modest"
    assert record.propensity == 1.0 and not record.exploration
    assert [c.campaign_id for c in record.candidates] == ["cmp-modest", "cmp-generous", "cmp-small"]
    assert [c.priority for c in record.candidates] == pytest.approx([4.5, 4.0, 0.475])
    assert [c.propensity for c in record.candidates] == pytest.approx([0.10, 0.40, 0.05])
    assert decided.send is not None and decided.send.campaign_id == "cmp-modest"


def zero_propensity(customers: CustomerColumns, candidates: Candidates) -> FloatArray:
    return np.zeros(len(candidates))


@pytest.mark.parametrize(
    ("priority_eur", "score"),
    [(0.0, discount_propensity), (12.0, zero_propensity)],
    ids=["worth-less-than-it-costs", "never-converts"],
)
def test_nothing_worth_offering_means_no_positive_value(
    priority_eur: float, score: ScoreFn
) -> None:
    decided = one(
        [campaign(priority_eur=priority_eur), campaign("cmp-b", priority_eur=priority_eur)],
        situation(),
        models=Models("v1", score),
    )
    assert decided.send is None
    record = decided.record
    assert (record.outcome, record.reason) == (DecisionOutcome.NO_OFFER, "no_positive_value")
    assert record.campaign_id is None
    assert listed(decided) == [(OLBIA, True, None), ("cmp-b", True, None)]
    assert {c.priority for c in record.candidates} == {0.0}


# Global control and holdout


def test_the_global_control_group_is_decided_but_never_sent() -> None:
    share = 0.5
    inside = next(c for c in POPULATION if in_global_control(c, share))
    outside = next(c for c in POPULATION if not in_global_control(c, share))
    control, sent = decide(
        [campaign()],
        situation(0, customer_id=inside),
        situation(1, customer_id=outside),
        settings=policy(global_control_share=share),
    )
    assert control.send is None
    assert (control.record.outcome, control.record.reason) == (
        DecisionOutcome.CONTROL,
        "global_control",
    )
    assert control.record.campaign_id == OLBIA and control.record.channel is Channel.SMS
    assert control.record.decision_id == decision_id(hit(customer=inside), OLBIA)
    assert sent.record.outcome is DecisionOutcome.SEND and sent.send is not None


def test_a_campaigns_holdout_is_decided_and_counted_as_a_ghost_contact_but_never_sent() -> None:
    share = 0.5
    inside = next(c for c in POPULATION if held_out(c, OLBIA, share))
    outside = next(c for c in POPULATION if not held_out(c, OLBIA, share))
    held, sent = decide(
        [campaign(holdout_share=share)],
        situation(0, customer_id=inside),
        situation(1, customer_id=outside),
    )
    assert (held.record.outcome, held.record.reason) == (DecisionOutcome.HOLDOUT, "holdout")
    assert held.record.campaign_id == OLBIA
    assert held.send is not None and held.send.ghost  # caps and cooldown, not the budget
    assert sent.record.outcome is DecisionOutcome.SEND and sent.send is not None
    assert not sent.send.ghost


def test_a_holdout_refused_by_the_ledger_is_suppressed_like_a_send() -> None:
    inside = next(c for c in POPULATION if held_out(c, OLBIA, 0.5))
    held = one([campaign(holdout_share=0.5)], situation(customer_id=inside))
    assert held.send is not None
    refused = Reservation(held.send.decision_id, Refusal.COOLDOWN, "cooldown until 10:00")
    settled = settle(held, refused)
    assert (settled.outcome, settled.reason) == (DecisionOutcome.SUPPRESSED, "cooldown")


def test_the_global_control_group_comes_before_the_holdout() -> None:
    both = next(c for c in POPULATION if in_global_control(c, 0.5) and held_out(c, OLBIA, 0.5))
    decided = one(
        [campaign(holdout_share=0.5)],
        situation(customer_id=both),
        settings=policy(global_control_share=0.5),
    )
    assert decided.record.outcome is DecisionOutcome.CONTROL and decided.send is None


# Quiet hours and expiry


@pytest.mark.parametrize(
    ("zone", "now", "send_at"),
    [
        ("Europe/Rome", EVENING, ROME_MORNING),
        ("Europe/Lisbon", LATE_EVENING, datetime(2025, 6, 2, 7, 0, tzinfo=UTC)),
    ],
)
def test_in_quiet_hours_the_send_waits_for_their_end_in_the_customers_zone(
    zone: str, now: datetime, send_at: datetime
) -> None:
    decided = one([all_day()], situation(now=now, zone=zone))
    record = decided.record
    assert (record.outcome, record.reason) == (DecisionOutcome.SEND, "deferred_quiet_hours")
    assert record.send_at == send_at
    assert record.expires_at == DEPARTURE
    assert decided.send is not None
    assert decided.send.now == send_at
    assert decided.send.zone == zone


def test_outside_quiet_hours_the_send_goes_now() -> None:
    decided = one([all_day()], situation(now=EVENING, zone="Europe/Lisbon"))
    assert (decided.record.outcome, decided.record.reason) == (DecisionOutcome.SEND, "send_now")
    assert decided.record.send_at is None
    assert decided.send is not None and decided.send.now == EVENING


@pytest.mark.parametrize(
    ("expiry_hours", "departs"),
    [
        (6, DEPARTURE),
        (48, ROME_MORNING - timedelta(hours=1)),
        (48, ROME_MORNING),
    ],
    ids=["offer-expires", "sailing-leaves-before", "sailing-leaves-as-they-end"],
)
def test_an_offer_stale_by_the_end_of_quiet_hours_is_suppressed(
    expiry_hours: int, departs: datetime
) -> None:
    decided = one(
        [all_day(offer_expiry_hours=expiry_hours)],
        situation(now=EVENING),
        sailings={SAILING: sailing_row(departs=departs)},
    )
    assert decided.send is None
    record = decided.record
    assert (record.outcome, record.reason) == (DecisionOutcome.SUPPRESSED, "quiet_hours")
    assert record.campaign_id == OLBIA and record.send_at is None


def test_a_sailing_leaving_just_after_quiet_hours_is_still_offered() -> None:
    departs = ROME_MORNING + timedelta(seconds=1)
    decided = one(
        [all_day()], situation(now=EVENING), sailings={SAILING: sailing_row(departs=departs)}
    )
    assert decided.record.reason == "deferred_quiet_hours"
    assert decided.record.send_at == ROME_MORNING
    assert decided.record.expires_at == departs


@pytest.mark.parametrize(
    ("expiry_hours", "departs", "expires"),
    [
        (48, DEPARTURE, DEPARTURE),
        (6, DEPARTURE, NOW + timedelta(hours=6)),
        (48, at(72 * 3600), NOW + timedelta(hours=48)),
    ],
    ids=["the-sailing-leaves-first", "the-offer-lapses-first", "long-before-departure"],
)
def test_an_offer_expires_at_its_expiry_or_the_departure_whichever_comes_first(
    expiry_hours: int, departs: datetime, expires: datetime
) -> None:
    decided = one(
        [campaign(offer_expiry_hours=expiry_hours)],
        situation(),
        sailings={SAILING: sailing_row(departs=departs)},
    )
    assert decided.record.outcome is DecisionOutcome.SEND
    assert decided.record.expires_at == expires


def test_the_send_request_carries_the_campaigns_and_the_policys_limits() -> None:
    chosen = campaign(frequency_cap={"per_day": 2, "per_week": 4})
    decided = one([chosen], situation(), settings=policy(offer_cooldown_hours=6))
    request = decided.send
    assert request is not None
    assert request.decision_id == decided.record.decision_id == decision_id(hit(), OLBIA)
    assert (request.customer_id, request.campaign_id) == (CUSTOMER, OLBIA)
    assert (request.channel, request.now, request.zone) == (Channel.SMS, NOW, "Europe/Rome")
    assert (request.per_day, request.per_week) == (2, 4)
    assert (request.channel_per_day, request.channel_per_week) == (2, 5)
    assert request.cooldown == timedelta(hours=6)
    assert request.max_sends == 50_000
    assert request.campaign_end == chosen.schedule.end


# Champion and challenger


def test_a_challenger_scores_every_eligible_candidate_in_shadow() -> None:
    models = Models("v1", discount_propensity, "v2", half_propensity)
    decided = one([SEARCHES_ONLY, campaign(), campaign("cmp-b", percent=20)], situation())
    shadowed = one(
        [SEARCHES_ONLY, campaign(), campaign("cmp-b", percent=20)], situation(), models=models
    )
    record = shadowed.record
    assert (record.model_version, record.challenger_version) == ("v1", "v2")
    assert [(c.campaign_id, c.challenger_propensity) for c in record.candidates] == [
        (OLBIA, pytest.approx(0.075)),
        ("cmp-b", pytest.approx(0.10)),
        ("cmp-search", None),
    ]
    assert record.campaign_id == decided.record.campaign_id
    assert [c.propensity for c in record.candidates] == [
        c.propensity for c in decided.record.candidates
    ]
    assert decided.record.challenger_version is None
    assert {c.challenger_propensity for c in decided.record.candidates} == {None}


# What a training set needs to rebuild each candidate


def test_each_scored_candidate_names_its_revision_channel_and_sailing() -> None:
    case = situation()
    olbia, other = campaign(), campaign("cmp-b", percent=20)
    record = one([SEARCHES_ONLY, olbia, other], case).record
    assert [(c.campaign_id, c.revision, c.channel, c.sailing_id) for c in record.candidates] == [
        (OLBIA, olbia.version, Channel.SMS, SAILING),
        ("cmp-b", other.version, Channel.SMS, SAILING),
        ("cmp-search", None, None, None),
    ]
    assert record.decided_at == case.now
    assert record.local_hour == case.now.astimezone(case.customer.tz).hour


# Settling with the ledger


def test_a_granted_reservation_keeps_the_record() -> None:
    decided = one([all_day()], situation(now=EVENING))
    assert decided.send is not None
    granted = Reservation(decided.send.decision_id, None)
    assert settle(decided, granted) == decided.record


@pytest.mark.parametrize("refusal", list(Refusal))
def test_a_refused_reservation_suppresses_the_send(refusal: Refusal) -> None:
    decided = one([all_day()], situation(now=EVENING))
    assert decided.send is not None and decided.record.send_at == ROME_MORNING
    record = settle(decided, Reservation(decided.send.decision_id, refusal, "detail"))
    assert (record.outcome, record.reason) == (DecisionOutcome.SUPPRESSED, refusal.value)
    assert record.send_at is None
    assert record.decision_id == decided.record.decision_id
    assert record.campaign_id == OLBIA
    assert record.candidates == decided.record.candidates


def test_a_send_is_settled_only_with_its_own_reservation() -> None:
    decided = one([campaign()], situation())
    assert decided.send is not None
    with pytest.raises(ValueError, match="needs the reservation of its send"):
        settle(decided, Reservation("dec-another", None))
    with pytest.raises(ValueError, match="needs the reservation of its send"):
        settle(decided, None)


def test_a_plan_without_a_send_needs_no_reservation() -> None:
    decided = one([], situation())
    assert settle(decided, None) == decided.record


def test_a_trigger_decided_before_planning_has_no_offer() -> None:
    record = without_offer(hit(), "stale_features", "v1")
    assert (record.outcome, record.reason) == (DecisionOutcome.NO_OFFER, "stale_features")
    assert record.model_version == "v1" and record.campaign_id is None
    assert record.decision_id == decision_id(hit(), None)
    assert without_offer(hit(), "no_model").model_version is None


# Replays


def test_planning_the_same_batch_twice_gives_the_same_decisions() -> None:
    def batch() -> list[Plan]:
        return decide(
            [all_day(holdout_share=0.5), all_day("cmp-b", percent=20)],
            *(situation(i, customer_id=c, now=EVENING) for i, c in enumerate(POPULATION[:6])),
            models=Models("v1", discount_propensity, "v2", half_propensity),
            settings=policy(global_control_share=0.3, exploration_share=0.3),
        )

    first, again = batch(), batch()
    assert [p.record for p in first] == [p.record for p in again]
    assert [p.send for p in first] == [p.send for p in again]
    assert len({p.record.decision_id for p in first}) == len(first)


# Social alerts and complaints


def test_under_an_alert_a_guarded_campaign_is_suppressed_and_others_still_send() -> None:
    alerted = frozenset({"port:LIV"})
    paused = one([guarded(campaign())], situation(), alerts=alerted)
    assert paused.send is None
    record = paused.record
    assert (record.outcome, record.reason) == (DecisionOutcome.SUPPRESSED, "social_alert")
    assert record.campaign_id == OLBIA
    assert record.decision_id == decision_id(hit(), OLBIA)
    assert listed(paused) == [(OLBIA, False, "social_alert")]
    other = one([guarded(campaign()), campaign("cmp-other")], situation(), alerts=alerted)
    assert (other.record.outcome, other.record.campaign_id) == (DecisionOutcome.SEND, "cmp-other")
    assert one([guarded(campaign())], situation()).record.outcome is DecisionOutcome.SEND


def test_a_campaign_that_came_closer_than_the_paused_one_explains_no_offer() -> None:
    paused = guarded(campaign("cmp-paused"))
    empty = campaign("cmp-empty")
    decided = one(
        [paused, empty],
        situation(),
        sailings={SAILING: sailing_row(seats=0)},
        alerts=frozenset({"port:LIV"}),
    )
    assert (decided.record.outcome, decided.record.reason) == (
        DecisionOutcome.NO_OFFER,
        "no_inventory",
    )


WINDOW = timedelta(hours=72)


@pytest.mark.parametrize(
    ("complained", "suppressed"),
    [
        (NOW - timedelta(minutes=1), True),
        (NOW, True),
        (NOW - WINDOW + timedelta(microseconds=1), True),
        (NOW - WINDOW, False),
        (NOW + timedelta(seconds=1), False),
        (None, False),
    ],
    ids=[
        "a-minute-ago",
        "at-the-same-moment",
        "window-end-not-reached",
        "window-over",
        "later",
        "none",
    ],
)
def test_a_recent_complaint_suppresses_the_offer_for_the_window(
    complained: datetime | None, suppressed: bool
) -> None:
    case = situation()
    decided = one([campaign()], Situation(case.hit, case.now, case.customer, 0, complained))
    if suppressed:
        assert decided.send is None
        assert (decided.record.outcome, decided.record.reason) == (
            DecisionOutcome.SUPPRESSED,
            "recent_complaint",
        )
        assert decided.record.campaign_id == OLBIA
    else:
        assert decided.record.outcome is DecisionOutcome.SEND and decided.send is not None


def test_the_complaint_window_follows_the_setting() -> None:
    case = situation()
    complained = Situation(case.hit, case.now, case.customer, 0, NOW - timedelta(hours=2))
    short = one([campaign()], complained, settings=policy(complaint_suppression_hours=1))
    assert short.record.outcome is DecisionOutcome.SEND
    never = one([campaign()], complained, settings=policy(complaint_suppression_hours=0))
    assert never.record.outcome is DecisionOutcome.SEND
    assert one([campaign()], complained).record.reason == "recent_complaint"


def test_the_global_control_group_comes_before_a_complaint() -> None:
    inside = next(c for c in POPULATION if in_global_control(c, 0.5))
    case = situation(customer_id=inside)
    complained = Situation(case.hit, case.now, case.customer, 0, NOW)
    decided = one([campaign()], complained, settings=policy(global_control_share=0.5))
    assert decided.record.outcome is DecisionOutcome.CONTROL
