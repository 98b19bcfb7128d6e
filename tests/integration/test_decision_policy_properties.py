"""The contact policy holds whatever happens, on the real Redis.

A Hypothesis state machine plays a few customers' triggers at moments that only move
forward (across local midnights, into quiet hours, across the nights Rome's clocks
change), withdraws and gives consent per channel, and tightens or loosens campaigns'
frequency caps and budgets. It decides every micro-batch as the decision agent does:
:func:`~streams.decisions.engine.plan` with each campaign's sends from the ledger, then
:meth:`~streams.decisions.ledger.ContactLedger.reserve` for every send, then
:func:`~streams.decisions.engine.settle`.

After every step, the offers the machine saw sent must respect, by its own account:
consent to the channel at decision time; the channel caps per local day and ISO week;
each campaign's frequency cap in force and its budget; the cooldown between two offers;
quiet hours (nothing sent at once inside them, nothing deferred into them); and the
global control group. Caps count a send on its effective time: ``send_at``, or the
moment it was decided.

The ledger's keys expire at moments derived from the decision time, by Redis's own
clock, so the simulated days lie ahead of the wall clock, around the next changes of
Rome's clocks. A decision record carries its trigger's event time, which the contract
keeps from lying ahead of the wall clock: the triggers are stamped when the run starts,
and decided as the agent's wall clock (:func:`~streams.decisions.clock.decision_time`)
reads the simulated moment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from redis import Redis

from models.inputs import Candidates, CustomerColumns
from offers.campaigns import Budget, Campaign, CampaignStatus, FrequencyCap, Trigger
from offers.contracts import Channel, DecisionOutcome, Language
from offers.settings import Settings
from streams.decisions.clock import decision_time
from streams.decisions.eligibility import CustomerContext
from streams.decisions.engine import FloatArray, Models, Situation, plan, settle
from streams.decisions.ledger import LEDGER_PREFIX, ContactLedger
from streams.decisions.policy import in_global_control
from streams.decisions.triggers import SailingSignal, TriggerHit, fan_out
from tests.unit.campaigns.factories import nested, valid_campaign
from tests.unit.decisions.decision_factories import sailing_row
from tests.unit.models.model_factories import online_row

ROME = ZoneInfo("Europe/Rome")
ROUTE = "LIV-OLB"
CUSTOMERS: dict[str, str] = {
    "cust-ada": "Europe/Rome",
    "cust-bruno": "Europe/Rome",
    "cust-dario": "Europe/Lisbon",
    "cust-gina": "Europe/Rome",
}
"""The customers and their time zones."""
CONTROL_SHARE = 0.25
IN_CONTROL = frozenset({"cust-bruno"})
"""The customers drawn into the global control group of CONTROL_SHARE."""
QUIET_START, QUIET_END = 21, 8
COOLDOWN = timedelta(hours=1)
CHANNEL_PER_DAY, CHANNEL_PER_WEEK = 2, 4
CONSENTABLE = (Channel.SMS, Channel.WHATSAPP)
WALL_TIMES = [
    time(h, m) for h, m in ((20, 59), (21, 0), (23, 59), (0, 0), (2, 30), (7, 59), (8, 0))
]
"""Moments of Rome's wall clock the machine jumps to: the edges of quiet hours and of
the day, and the hour the clocks skip or repeat on the nights they change."""

customer_ids = st.sampled_from(sorted(CUSTOMERS))
campaign_ids = st.sampled_from(["cmp-harbour", "cmp-night", "cmp-upgrade"])
triggers = st.sampled_from([Trigger.SEARCH, Trigger.ABANDONED_QUOTE])


@dataclass
class Stack:
    """What the machine takes from the test stack, set for each test by :func:`stack`."""

    redis: Redis | None = None
    stamped_at: datetime | None = None
    """The event time of every trigger: when the test starts."""
    clock_changes: dict[str, datetime] = field(default_factory=dict)
    """The next moment Rome's clocks go ``forward`` and ``back``, after next week."""


STACK = Stack()


def next_clock_change(after: datetime, *, forward: bool) -> datetime:
    """The first hour after ``after`` at which Rome's offset from UTC rises (forward)
    or falls (back)."""
    moment = after.replace(minute=0, second=0, microsecond=0)
    offset = moment.astimezone(ROME).utcoffset()
    while True:
        moment += timedelta(hours=1)
        new = moment.astimezone(ROME).utcoffset()
        if offset is not None and new is not None and new != offset and (new > offset) == forward:
            return moment
        offset = new


@pytest.fixture(autouse=True)
def stack(redis: Redis) -> Iterator[None]:
    ahead = datetime.now(UTC) + timedelta(days=7)
    STACK.redis = redis
    STACK.stamped_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    STACK.clock_changes = {
        "forward": next_clock_change(ahead, forward=True),
        "back": next_clock_change(ahead, forward=False),
    }
    yield
    STACK.redis = None
    STACK.stamped_at = None


def forget_the_ledger(redis: Redis) -> None:
    """Delete every key of the contact ledger: each run starts with no offer sent."""
    keys = list(redis.scan_iter(match=f"{LEDGER_PREFIX}*", count=1000))
    for start in range(0, len(keys), 500):
        redis.delete(*keys[start : start + 500])


def contact_policy() -> Settings:
    return Settings(
        global_control_share=CONTROL_SHARE,
        exploration_share=0.1,
        quiet_hours_start=QUIET_START,
        quiet_hours_end=QUIET_END,
        offer_cooldown_hours=COOLDOWN // timedelta(hours=1),
        channel_cap_per_day=CHANNEL_PER_DAY,
        channel_cap_per_week=CHANNEL_PER_WEEK,
    )


def evening_propensity(customers: CustomerColumns, candidates: Candidates) -> FloatArray:
    """A fixed model: likelier to convert later in the day and with a larger discount."""
    percent = np.nan_to_num(candidates.offer_percent)
    return np.clip(0.05 + 0.02 * candidates.local_hour + 0.005 * percent, 0.0, 0.95)


MODELS = Models("v-policy", evening_propensity)


def campaigns_from(start: datetime) -> dict[str, Campaign]:
    """Three campaigns running all day, every day, from a day before ``start`` for 60 days."""
    created = start - timedelta(days=1)
    schedule = nested(
        "schedule",
        start=created.isoformat(),
        end=(start + timedelta(days=60)).isoformat(),
        hours=...,
    )

    def build(campaign_id: str, triggers: list[str], **overrides: Any) -> Campaign:
        targeting = nested("targeting", triggers=triggers, geofences=[], segment_rules=[])
        return valid_campaign(
            CampaignStatus.ACTIVE,
            campaign_id=campaign_id,
            now=created,
            schedule=schedule,
            targeting=targeting,
            **overrides,
        )

    harbour = build(
        "cmp-harbour",
        ["search", "abandoned_quote", "fare_drop"],
        frequency_cap={"per_day": 2, "per_week": 3},
        budget={"max_sends": 5},
        holdout_share=0.1,
    )
    night = build(
        "cmp-night",
        ["search", "fare_drop"],
        offer={
            "kind": "fixed_discount",
            "amount_eur": 10.0,
            "route_ids": [ROUTE],
            "cost_eur": 10.0,
        },
        channels=["whatsapp"],
        frequency_cap={"per_day": 2, "per_week": 3},
        budget={"max_sends": 6},
        priority_eur=20.0,
        holdout_share=0.0,
        offer_expiry_hours=4,
    )
    upgrade = build(
        "cmp-upgrade",
        ["search", "abandoned_quote"],
        offer={"kind": "upgrade", "upgrade": "cabin", "all_routes": True, "cost_eur": 5.0},
        frequency_cap={"per_day": 2, "per_week": 4},
        budget={"max_sends": 10},
        priority_eur=15.0,
        holdout_share=0.2,
    )
    return {c.id: c for c in (harbour, night, upgrade)}


def sailings_from(start: datetime) -> dict[str, dict[str, Any]]:
    """Livorno-Olbia at 09:00 and 22:00 in Rome, every day for 45 days from the day
    before ``start``."""
    first = start.astimezone(ROME).date() - timedelta(days=1)
    rows: dict[str, dict[str, Any]] = {}
    for day in range(45):
        for hour in (9, 22):
            wall = datetime.combine(first + timedelta(days=day), time(hour), tzinfo=ROME)
            departs = wall.astimezone(UTC)
            sailing_id = f"{ROUTE}-{wall:%Y%m%d-%H%M}"
            rows[sailing_id] = sailing_row(sailing_id, route=ROUTE, seats=50, departs=departs)
    return rows


def next_wall_time(after: datetime, wall: time) -> datetime:
    """The first moment after ``after`` at which Rome's clock shows ``wall`` (on the
    night the clocks skip it, the moment an hour past it)."""
    today = after.astimezone(ROME).date()
    for offset in range(3):
        moment = datetime.combine(today + timedelta(days=offset), wall, tzinfo=ROME)
        if moment.astimezone(UTC) > after:
            return moment.astimezone(UTC)
    raise AssertionError(f"no {wall} in Rome within two days of {after}")


def quiet(moment: datetime, zone: str) -> bool:
    hour = moment.astimezone(ZoneInfo(zone)).hour
    return hour >= QUIET_START or hour < QUIET_END


@dataclass(frozen=True)
class Sent:
    """One offer granted, as the machine saw it decided, with the limits then in force."""

    order: int
    customer_id: str
    campaign_id: str
    channel: Channel
    decided_at: datetime
    send_at: datetime | None
    expires_at: datetime | None
    consented: frozenset[Channel]
    cap: FrequencyCap
    max_sends: int | None

    @property
    def effective(self) -> datetime:
        return self.send_at or self.decided_at

    @property
    def day(self) -> date:
        return self.effective.astimezone(ZoneInfo(CUSTOMERS[self.customer_id])).date()

    @property
    def week(self) -> tuple[int, int]:
        iso = self.day.isocalendar()
        return iso.year, iso.week


class ContactPolicyMachine(RuleBasedStateMachine):
    ledger: ContactLedger
    policy: Settings
    clock: datetime
    clock_change: datetime
    stamped_at: datetime
    campaigns: dict[str, Campaign]
    sailings: dict[str, dict[str, Any]]
    consent: dict[str, frozenset[Channel]]
    sent: list[Sent]
    events: int

    @initialize(change=st.sampled_from(["forward", "back"]), hours_before=st.integers(2, 40))
    def start(self, change: str, hours_before: int) -> None:
        assert STACK.redis is not None and STACK.stamped_at is not None, "set by stack()"
        forget_the_ledger(STACK.redis)
        self.ledger = ContactLedger(STACK.redis)
        self.policy = contact_policy()
        self.clock_change = STACK.clock_changes[change]
        self.stamped_at = STACK.stamped_at
        self.clock = self.clock_change - timedelta(hours=hours_before)
        self.campaigns = campaigns_from(self.clock)
        self.sailings = sailings_from(self.clock)
        self.consent = dict.fromkeys(CUSTOMERS, frozenset(CONSENTABLE))
        self.sent = []
        self.events = 0

    # Time and triggers

    @precondition(lambda self: self.clock < self.clock_change - timedelta(hours=1))
    @rule()
    def wait_for_the_clock_change(self) -> None:
        self.clock = self.clock_change - timedelta(minutes=30)

    @rule(customer_id=customer_ids, trigger=triggers, minutes=st.integers(0, 180))
    def trigger(self, customer_id: str, trigger: Trigger, minutes: int) -> None:
        self.clock += timedelta(minutes=minutes)
        self.decide([self.hit(trigger, customer_id)])

    @rule(customer_id=customer_ids, trigger=triggers, wall=st.sampled_from(WALL_TIMES))
    def trigger_when_rome_shows(self, customer_id: str, trigger: Trigger, wall: time) -> None:
        self.clock = next_wall_time(self.clock, wall)
        self.decide([self.hit(trigger, customer_id)])

    @rule(customers=st.sets(customer_ids, min_size=2), minutes=st.integers(0, 120))
    def fare_drop(self, customers: set[str], minutes: int) -> None:
        """A fare drop of the next sailing, reaching several customers in one batch."""
        self.clock += timedelta(minutes=minutes)
        self.events += 1
        sailing_id = min(
            (s for s, row in self.sailings.items() if row["departure_ts"] > self.clock.timestamp()),
            key=lambda s: self.sailings[s]["departure_ts"],
        )
        signal = SailingSignal(
            Trigger.FARE_DROP,
            sailing_id,
            ROUTE,
            f"ev-{self.events}",
            self.stamped_at,
            port="LIV",
        )
        self.decide(fan_out(signal, customers))

    def hit(self, trigger: Trigger, customer_id: str) -> TriggerHit:
        self.events += 1
        event_id = f"ev-{self.events}"
        return TriggerHit(trigger, event_id, customer_id, self.stamped_at, route_id=ROUTE)

    def decide(self, hits: list[TriggerHit]) -> None:
        """One micro-batch, decided as the agent decides it."""
        now = decision_time("wall", self.stamped_at, wall=self.clock)
        situations = [
            Situation(hit, now, self.context(hit.customer_id), row) for row, hit in enumerate(hits)
        ]
        campaigns = list(self.campaigns.values())
        active = [c.id for c in campaigns if c.status is CampaignStatus.ACTIVE]
        plans = plan(
            situations,
            campaigns,
            sailings=self.sailings,
            sends=self.ledger.sends_many(active),
            customers=CustomerColumns.from_rows([online_row() for _ in hits]),
            models=MODELS,
            settings=self.policy,
        )
        for situation, planned in zip(situations, plans, strict=True):
            reservation = self.ledger.reserve(planned.send) if planned.send else None
            record = settle(planned, reservation)
            event(f"{record.outcome.value}: {record.reason}")
            if record.outcome is not DecisionOutcome.SEND:
                continue
            assert record.campaign_id is not None and record.channel is not None
            campaign = self.campaigns[record.campaign_id]
            self.sent.append(
                Sent(
                    order=len(self.sent),
                    customer_id=situation.hit.customer_id,
                    campaign_id=campaign.id,
                    channel=record.channel,
                    decided_at=now,
                    send_at=record.send_at,
                    expires_at=record.expires_at,
                    consented=situation.customer.consented,
                    cap=campaign.frequency_cap,
                    max_sends=campaign.budget.max_sends,
                )
            )

    def context(self, customer_id: str) -> CustomerContext:
        return CustomerContext(
            customer_id,
            CUSTOMERS[customer_id],
            language=Language.IT,
            consented=self.consent[customer_id],
        )

    # Consent and campaigns

    @rule(customer_id=customer_ids, channel=st.sampled_from(CONSENTABLE), granted=st.booleans())
    def change_consent(self, customer_id: str, channel: Channel, granted: bool) -> None:
        channels = self.consent[customer_id]
        self.consent[customer_id] = channels | {channel} if granted else channels - {channel}

    @rule(campaign_id=campaign_ids, per_day=st.integers(1, 3), more_per_week=st.integers(0, 3))
    def change_frequency_cap(self, campaign_id: str, per_day: int, more_per_week: int) -> None:
        cap = FrequencyCap(per_day=per_day, per_week=per_day + more_per_week)
        self.revise(campaign_id, frequency_cap=cap)

    @rule(campaign_id=campaign_ids, max_sends=st.integers(1, 8))
    def change_budget(self, campaign_id: str, max_sends: int) -> None:
        old = self.campaigns[campaign_id].budget
        self.revise(
            campaign_id, budget=Budget.model_validate(old.model_dump() | {"max_sends": max_sends})
        )

    def revise(self, campaign_id: str, **changes: Any) -> None:
        """A new version of the campaign, still valid."""
        old = self.campaigns[campaign_id]
        at = max(self.clock, old.updated_at)
        new = old.model_copy(update={**changes, "version": old.version + 1, "updated_at": at})
        self.campaigns[campaign_id] = Campaign.model_validate(new.model_dump())

    # What must hold, by the machine's own account of what was sent

    @invariant()
    def sent_only_over_a_consented_channel(self) -> None:
        for sent in self.sent:
            assert sent.channel in sent.consented, sent

    @invariant()
    def channel_caps_hold(self) -> None:
        per_day = Counter((s.customer_id, s.channel, s.day) for s in self.sent)
        per_week = Counter((s.customer_id, s.channel, s.week) for s in self.sent)
        assert max(per_day.values(), default=0) <= CHANNEL_PER_DAY, per_day
        assert max(per_week.values(), default=0) <= CHANNEL_PER_WEEK, per_week

    @invariant()
    def campaign_caps_in_force_hold(self) -> None:
        for sent in self.sent:
            before = [
                s
                for s in self.sent[: sent.order + 1]
                if (s.campaign_id, s.customer_id) == (sent.campaign_id, sent.customer_id)
            ]
            assert sum(s.day == sent.day for s in before) <= sent.cap.per_day, before
            assert sum(s.week == sent.week for s in before) <= sent.cap.per_week, before

    @invariant()
    def budgets_hold(self) -> None:
        for sent in self.sent:
            before = [s for s in self.sent[: sent.order + 1] if s.campaign_id == sent.campaign_id]
            assert sent.max_sends is None or len(before) <= sent.max_sends, before

    @invariant()
    def the_cooldown_holds(self) -> None:
        for one, other in combinations(self.sent, 2):
            if one.customer_id == other.customer_id:
                assert abs(one.effective - other.effective) >= COOLDOWN, (one, other)

    @invariant()
    def quiet_hours_hold(self) -> None:
        for sent in self.sent:
            zone = CUSTOMERS[sent.customer_id]
            if sent.send_at is None:
                assert not quiet(sent.decided_at, zone), sent
                continue
            assert quiet(sent.decided_at, zone), sent
            assert sent.decided_at < sent.send_at and not quiet(sent.send_at, zone), sent
            assert sent.expires_at is not None and sent.send_at < sent.expires_at, sent

    @invariant()
    def the_global_control_group_gets_nothing(self) -> None:
        assert not [s for s in self.sent if s.customer_id in IN_CONTROL]

    @invariant()
    def the_ledger_counts_what_was_sent(self) -> None:
        counted = Counter(s.campaign_id for s in self.sent)
        for campaign_id in self.campaigns:
            assert self.ledger.sends(campaign_id) == counted[campaign_id], campaign_id


def test_the_machine_knows_the_global_control_group() -> None:
    assert {c for c in CUSTOMERS if in_global_control(c, CONTROL_SHARE)} == IN_CONTROL


TestContactPolicy = ContactPolicyMachine.TestCase
TestContactPolicy.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)
