"""What every fault scenario shares: its size, the poison mixed into its input, the
campaigns it runs (one with a budget small enough to be reached), and the count, made
from the topics, the provider sandbox and the workers' logs rather than from the
engine's own metrics, of what the run must hold: no event lost, no offer sent twice, no
cap or budget exceeded, no agent stopped.

Two sizes: ``short`` (the default, inside ``make test``) and ``full`` (``make chaos``,
which sets ``CHAOS_SCALE=full``): the scenario that kills workers then runs 100,000
events.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from offers.campaigns import Budget, Campaign, CampaignUpdate, LifecycleAction
from offers.contracts import (
    BookingAction,
    BookingEvent,
    DeadLetter,
    DecisionOutcome,
    Event,
    GeofenceAction,
    GeofenceTransition,
    LocationPing,
    LocationSource,
    OfferDecision,
    SocialPost,
    Trigger,
    decode,
    encode,
)
from offers.demo import prepare_state
from offers.demo_setup import DEMO_ACTOR, PlacedCampaigns
from offers.settings import Settings
from offers.state.campaigns import CampaignStore
from offers.state.compacted import TopicWriter
from offers.topics import BOOKING, DEAD_LETTER, GEOFENCE, LOCATION, SAILING, SOCIAL
from simulators.world import DEFAULT_START, World, WorldConfig
from streams.decisions.triggers import from_social
from tests.integration.kafka_io import read_records
from tests.integration.loop_runs import During, LoopDay, Rig, run_days

SCALE_VARIABLE = "CHAOS_SCALE"
ROME = ZoneInfo("Europe/Rome")


@dataclass(frozen=True, slots=True)
class Scale:
    """How big the scenarios' worlds are, and how long their faults last."""

    name: str
    customers: int
    days: int
    speed: float
    """Simulated seconds per wall second."""
    kill_customers: int
    kill_days: int
    """The world of the worker-kill scenario (the 100,000 events of the full run)."""
    redis_outage_s: float
    broker_down_s: float
    storm_rounds: int
    storm_days: int
    """The rebalance storm's world lasts this many days, time for its rounds."""


SHORT = Scale(
    "short", customers=1_000, days=1, speed=1_800.0, kill_customers=1_000, kill_days=2,
    redis_outage_s=12.0, broker_down_s=5.0, storm_rounds=2, storm_days=2,
)  # fmt: skip
FULL = Scale(
    "full", customers=2_000, days=2, speed=1_200.0, kill_customers=8_400, kill_days=7,
    redis_outage_s=30.0, broker_down_s=15.0, storm_rounds=6, storm_days=3,
)  # fmt: skip


def current_scale() -> Scale:
    """``short`` unless ``CHAOS_SCALE=full``."""
    name = os.environ.get(SCALE_VARIABLE, SHORT.name)
    scales = {scale.name: scale for scale in (SHORT, FULL)}
    if name not in scales:
        raise ValueError(f"{SCALE_VARIABLE}={name!r}: expected one of {', '.join(scales)}")
    return scales[name]


def world_config(seed: int, customers: int, days: int) -> WorldConfig:
    """A world of its own: each scenario runs on a stack of its own, so any day will do."""
    return WorldConfig(
        seed=seed, customers=customers, days=days, start=DEFAULT_START + timedelta(days=3)
    )


def wall_seconds(config: WorldConfig, speed: float) -> float:
    """How long the world takes to flow at ``speed``."""
    return (config.end - config.start).total_seconds() / speed


# campaigns -----------------------------------------------------------------------------

TIGHT_BUDGET = 12
"""Offers the quote campaign may send in all during a scenario: reached in every run, so
that the budget is tested under the fault, not only the caps."""


def with_a_tight_budget(settings: Settings, config: WorldConfig) -> PlacedCampaigns:
    """The demo's campaigns and consent, the quote campaign's budget cut to
    :data:`TIGHT_BUDGET` sends."""
    placed, _ = prepare_state(settings, config)
    writer = TopicWriter(settings.kafka_bootstrap)
    store = CampaignStore(settings.kafka_bootstrap, writer)
    try:
        store.view.wait_until_current()
        campaigns = tuple(
            tightened(store, c) if Trigger.ABANDONED_QUOTE in c.targeting.triggers else c
            for c in placed.campaigns
        )
    finally:
        store.close()
        writer.close()
    assert any(c.budget.max_sends == TIGHT_BUDGET for c in campaigns)
    return PlacedCampaigns(campaigns, placed.records)


def tightened(store: CampaignStore, campaign: Campaign) -> Campaign:
    """The campaign paused, its budget cut to :data:`TIGHT_BUDGET` sends, resumed."""
    store.move(campaign.id, LifecycleAction.PAUSE, DEMO_ACTOR)
    store.update(campaign.id, CampaignUpdate(budget=Budget(max_sends=TIGHT_BUDGET)), DEMO_ACTOR)
    return store.move(campaign.id, LifecycleAction.RESUME, DEMO_ACTOR)


# poison --------------------------------------------------------------------------------

POISON_SHARE = 0.01


def _ping_wire(**changes: Any) -> bytes:
    ping = LocationPing(
        event_id="poison-template",
        event_time=DEFAULT_START,
        customer_id="poison-customer",
        lat=43.55,
        lon=10.31,
        accuracy_m=8.0,
        source=LocationSource.GPS,
    )
    wire = orjson.loads(encode(ping))
    wire.update(changes)
    return orjson.dumps(wire)


POISON_KINDS: dict[str, bytes] = {
    "not_json": b"{this is not json",
    "invalid_utf8": b'{"type": "location_ping", "customer_id": "\xff\xfe\xfd"}',
    "deep_nesting": b"[" * 20_000 + b"]" * 20_000,
    "missing_fields": b'{"type": "location_ping"}',
    "latitude_out_of_range": _ping_wire(lat=91.5),
    "huge_number": _ping_wire(lat=None).replace(b'"lat":null', b'"lat":1e400'),
    "unknown_type": _ping_wire(type="teleport"),
    "wrong_types": _ping_wire(lat="north", accuracy_m=[1, 2]),
    "empty": b"",
}
"""Records no parser may accept, each to be dead-lettered with its reason."""

POISON_TOPICS = (LOCATION.name, SOCIAL.name, BOOKING.name, SAILING.name)


@dataclass
class Poison:
    """Produces ``count`` poison records, evenly over ``seconds``, to the input topics in
    turn, each keyed ``poison-<n>`` (a key no customer has)."""

    bootstrap: str
    count: int
    seconds: float
    produced: dict[str, str] = field(default_factory=dict)
    """Kind of each poison record, by key."""

    def __call__(self, rig: Rig, done: threading.Event) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", retries=10)
        kinds = list(POISON_KINDS.items())
        try:
            for n in range(self.count):
                if n and done.wait(self.seconds / self.count):
                    break
                kind, value = kinds[n % len(kinds)]
                key = f"poison-{n}"
                topic = POISON_TOPICS[n % len(POISON_TOPICS)]
                producer.send(topic, key=key.encode(), value=value).get(timeout=60)
                self.produced[key] = kind
        finally:
            producer.close()


def poison_for(settings: Settings, events: int, seconds: float) -> Poison:
    """One poison record per hundred valid events, spread over the run."""
    return Poison(settings.kafka_bootstrap, max(len(POISON_KINDS), events // 100), seconds)


# the count ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tally:
    """What a run did and whether it held, counted independently of the engine."""

    events: int
    """Valid input events of the simulated world."""
    poison: int
    poison_dead_lettered: int
    """Poison records found in the dead-letter topic, each with a reason."""
    valid_dead_lettered: int
    """Records of the input topics dead-lettered at decoding without being poison."""
    triggers: int
    """Searches, positive mentions and port entries of the input: each needs a decision."""
    undecided: int
    double_decisions: int
    """Triggers decided under more than one decision id."""
    offers_sent: int
    """Offer messages the provider sandbox accepted."""
    duplicate_sends: int
    """Offer messages beyond the first for one decision."""
    cap_breaches: int
    budget_breaches: int
    budget_refusals: int
    """Decisions refused because a budget was spent: the budget was reached."""
    agent_crashes: int
    """``Crashed`` lines in the workers' logs: an agent that stopped."""

    @property
    def lost(self) -> int:
        """Valid events whose effect is missing plus poison that vanished."""
        return self.undecided + (self.poison - self.poison_dead_lettered)

    def figures(self) -> dict[str, int]:
        return {
            "events": self.events,
            "poison": self.poison,
            "poison_dead_lettered": self.poison_dead_lettered,
            "lost": self.lost,
            "duplicate_sends": self.duplicate_sends,
            "double_decisions": self.double_decisions,
            "offers_sent": self.offers_sent,
            "cap_breaches": self.cap_breaches,
            "budget_breaches": self.budget_breaches,
            "agent_crashes": self.agent_crashes,
        }

    def assert_held(self) -> None:
        """The guarantees: nothing lost, nothing twice, limits kept, no agent stopped."""
        assert self.triggers > 0 and self.offers_sent > 0, self
        assert self.undecided == 0, self
        assert self.poison_dead_lettered == self.poison, self
        assert self.valid_dead_lettered == 0, self
        assert self.double_decisions == 0, self
        assert self.duplicate_sends == 0, self
        assert self.cap_breaches == 0, self
        assert self.budget_breaches == 0 and self.budget_refusals > 0, self
        assert self.agent_crashes == 0, self


def tally(
    day: LoopDay, settings: Settings, events: list[Event], poison: Poison, logs: Path
) -> Tally:
    """Count what the run ``day`` did with the world's ``events`` and the ``poison``."""
    letters = [
        decode(r.value, expected=DeadLetter)
        for r in read_records(
            settings.kafka_bootstrap, DEAD_LETTER.name, day.started[DEAD_LETTER.name]
        )
    ]
    dead_poison = {
        letter.source_key
        for letter in letters
        if isinstance(letter, DeadLetter) and letter.source_key in poison.produced and letter.reason
    }
    valid_dead = [
        letter
        for letter in letters
        if isinstance(letter, DeadLetter)
        and letter.stage == "decode"
        and letter.source_topic in POISON_TOPICS
        and letter.source_key not in poison.produced
    ]
    triggers = list(direct_triggers(events, settings, day.started[GEOFENCE.name]))
    decided: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for decision in day.decisions:
        decided[(decision.trigger_event_id, decision.trigger, decision.customer_id)].add(
            decision.decision_id
        )
    per_decision = day.offers_per_decision()
    sends = first_sends(day.decisions)
    return Tally(
        events=len(events),
        poison=len(poison.produced),
        poison_dead_lettered=len(dead_poison),
        valid_dead_lettered=len(valid_dead),
        triggers=len(triggers),
        undecided=sum(1 for t in triggers if t not in decided),
        double_decisions=sum(1 for ids in decided.values() if len(ids) > 1),
        offers_sent=sum(per_decision.values()),
        duplicate_sends=sum(n - 1 for n in per_decision.values()),
        cap_breaches=cap_breaches(sends, day.placed.campaigns),
        budget_breaches=budget_breaches(sends, day.placed.campaigns),
        budget_refusals=sum(1 for d in day.decisions if d.reason == "budget_exhausted"),
        agent_crashes=crashes(logs),
    )


def direct_triggers(
    events: Iterable[Event], settings: Settings, geofence_from: dict[int, int]
) -> Iterator[tuple[str, str, str]]:
    """The triggers the input makes by itself, as (event id, trigger, customer): every
    search, every positive mention, and every port entry the run's pings made."""
    for event in events:
        if isinstance(event, BookingEvent) and event.action is BookingAction.SEARCH:
            yield event.event_id, Trigger.SEARCH.value, event.customer_id
        elif isinstance(event, SocialPost) and (hit := from_social(event)) is not None:
            yield hit.source_event_id, hit.trigger.value, hit.customer_id
    for record in read_records(settings.kafka_bootstrap, GEOFENCE.name, geofence_from):
        transition = decode(record.value, expected=GeofenceTransition)
        if isinstance(transition, GeofenceTransition) and transition.action is GeofenceAction.ENTER:
            yield transition.event_id, Trigger.GEOFENCE_ENTER.value, transition.customer_id


def first_sends(decisions: Iterable[OfferDecision]) -> list[OfferDecision]:
    """Each decision to send once (a replay may write a record again)."""
    seen: dict[str, OfferDecision] = {}
    for decision in decisions:
        if decision.outcome is DecisionOutcome.SEND:
            seen.setdefault(decision.decision_id, decision)
    return list(seen.values())


def cap_breaches(sends: list[OfferDecision], campaigns: Iterable[Campaign]) -> int:
    """Customers given more of a campaign's offers in a local day, or in a local calendar
    week (Monday to Sunday, the ISO week), than its frequency cap allows."""
    caps = {c.id: c.frequency_cap for c in campaigns}
    times: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for decision in sends:
        if decision.campaign_id in caps:
            times[(decision.customer_id, decision.campaign_id)].append(
                decision.send_at or decision.event_time
            )
    breaches = 0
    for (_, campaign_id), moments in times.items():
        cap = caps[campaign_id]
        days = [moment.astimezone(ROME).date() for moment in moments]
        per_day = Counter(days)
        per_week = Counter(day.isocalendar()[:2] for day in days)
        breaches += sum(1 for n in per_day.values() if n > cap.per_day)
        breaches += sum(1 for n in per_week.values() if n > cap.per_week)
    return breaches


def budget_breaches(sends: list[OfferDecision], campaigns: Iterable[Campaign]) -> int:
    """Campaigns that sent more offers than their budget's ``max_sends``."""
    per_campaign = Counter(d.campaign_id for d in sends)
    return sum(
        1
        for c in campaigns
        if c.budget.max_sends is not None and per_campaign[c.id] > c.budget.max_sends
    )


def crashes(logs: Path) -> int:
    """Lines of the workers' logs that say a service (an agent) crashed."""
    return sum(
        line.count("Crashed reason=")
        for path in logs.glob("*.log")
        for line in path.read_text(errors="replace").splitlines()
    )


# lag -----------------------------------------------------------------------------------


class LagWatch:
    """The engine group's lag, sampled every ``every_s`` while a run flows and after it,
    to tell how long the engine took to catch up after ``fault``.

    Once the run's events are all produced it goes on sampling until the lag is back to
    normal after the fault (or ``settle_s`` have passed): a fault late in a run, or a
    broker that answers slowly once back, would otherwise leave no sample to tell."""

    def __init__(
        self, sample: Any, fault: FaultAt, every_s: float = 0.5, settle_s: float = 300.0
    ) -> None:
        self._sample = sample
        self._fault = fault
        self._every_s = every_s
        self._settle_s = settle_s
        self.samples: list[tuple[float, int]] = []

    def __call__(self, rig: Rig, done: threading.Event) -> None:
        while not done.wait(self._every_s):
            self._take()
        deadline = time.monotonic() + self._settle_s
        while time.monotonic() < deadline and not self._recovered():
            time.sleep(self._every_s)
            self._take()

    def _take(self) -> None:
        try:
            lag = self._sample()
        except (KafkaError, OSError):  # the broker is away: no sample
            return
        if lag is not None:
            self.samples.append((time.monotonic(), lag))

    def _recovered(self) -> bool:
        if self._fault.started is None:  # the run ended before the fault
            return True
        if self._fault.ended is None:
            return False
        return self._recovery(self._fault.started, self._fault.ended) is not None

    def _recovery(self, fault_start: float, fault_end: float) -> float | None:
        before = [lag for at, lag in self.samples if fault_start - 10 <= at < fault_start]
        normal = max([*before, 50])
        after = [at for at, lag in self.samples if at >= fault_end and lag <= normal]
        return after[0] - fault_end if after else None

    def recovery_s(self) -> float:
        """Seconds after the fault ended until the lag was back at most where it stood
        before the fault (its highest in the 10 s before, and at least 50 records)."""
        begun, ended = self._fault.window()
        recovery = self._recovery(begun, ended)
        if recovery is None:
            raise AssertionError(
                f"the lag never came back within {self._settle_s} s: {self.samples[-5:]}"
            )
        return recovery


# a run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioRun:
    day: LoopDay
    tally: Tally
    logs: Path


def run_scenario(
    settings: Settings,
    logs: Path,
    config: WorldConfig,
    *,
    speed: float,
    during: Sequence[During] = (),
    delivery_workers: int = 1,
    faults: Mapping[str, Any] | None = None,
) -> ScenarioRun:
    """The world of ``config`` with 1 % poison through the engine and the closed loop
    (the quote campaign on a tight budget) while ``during`` injects its faults; then the
    independent count."""
    events = list(World(config).events())
    poison = poison_for(settings, len(events), wall_seconds(config, speed))
    day = run_days(
        settings, logs, config,
        speed=speed, delivery_workers=delivery_workers, faults=faults,
        during=[poison, *during], placed_campaigns=with_a_tight_budget,
    )  # fmt: skip
    return ScenarioRun(day, tally(day, settings, events, poison, logs), logs)


class FaultAt:
    """Runs ``fault`` once, ``after_s`` into the run (unless the run ends first), and keeps
    the monotonic times it started and ended."""

    def __init__(self, after_s: float, fault: Callable[[], None]) -> None:
        self.after_s = after_s
        self.fault = fault
        self.started: float | None = None
        self.ended: float | None = None

    def __call__(self, rig: Rig, done: threading.Event) -> None:
        if done.wait(self.after_s):
            return
        self.started = time.monotonic()
        self.fault()
        self.ended = time.monotonic()

    def window(self) -> tuple[float, float]:
        assert self.started is not None and self.ended is not None, "the fault never ran"
        return self.started, self.ended
