"""The decision agent on a stack of its own (a real broker and Redis), with two workers.

One simulated day runs through two workers, one of which is killed (SIGKILL) half-way
and started again. Then: every trigger has exactly one decision, and the records that a
replay wrote again are the same records; every search, positive mention and port entry of
the input has its decision; and a replay of the contact policy written here, independent
of the engine, agrees with the outcome and reason of every decision, so their counts per
reason agree (a port entry of a customer whose location consent is not held is decided
without an offer, ``no_location_consent``; one customer sharing their location in five
has it withheld here). Further checks run on the same workers: 1,000 triggers at once for one
customer make one send; a model promoted or put in shadow is used without a restart;
and while Redis is frozen, decisions wait, then resume with nothing lost.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from kafka import KafkaProducer

from features.store import apply_feature_repo
from models.registry import ModelRegistry
from offers.campaigns import Campaign, Trigger
from offers.contracts import (
    BookingAction,
    BookingEvent,
    Channel,
    ConsentScope,
    DecisionOutcome,
    Event,
    GeofenceAction,
    GeofenceTransition,
    OfferDecision,
    SailingUpdate,
    SocialPost,
    decode,
    encode,
)
from offers.settings import Settings
from offers.stack import LocalStack
from offers.stack.workers import WorkerProcess, wait_caught_up
from offers.topics import GEOFENCE, TRIGGERS
from simulators.consent import consent_changes, grants
from simulators.sink import KafkaEventProducer
from simulators.world import World, WorldConfig
from streams.decisions.complaints import is_complaint
from streams.decisions.policy import held_out, in_global_control
from streams.decisions.triggers import TriggerHit, from_social, to_signal
from tests.integration.decision_runs import (
    active_campaign,
    every_trigger_wire,
    grant,
    read_decisions,
    reregistered,
    settled_decisions,
    trained_registry,
)
from tests.integration.kafka_io import read_records
from tests.integration.stacks import stack_settings_in

ROME = ZoneInfo("Europe/Rome")
COOLDOWN = timedelta(hours=24)


@dataclass
class DayRun:
    settings: Settings
    stack: LocalStack
    registry: ModelRegistry
    campaign: Campaign
    events: list[Event]
    consented: dict[str, frozenset[Channel]]
    located: frozenset[str]
    """The customers whose location consent is held."""
    decisions: list[OfferDecision]
    workers: list[WorkerProcess]


def consent_of(customers: list[str]) -> dict[str, frozenset[Channel]]:
    """SMS for nine customers in ten, WhatsApp for every third; none for the rest."""
    return {
        customer: frozenset(
            channel
            for channel, wanted in ((Channel.SMS, i % 10 != 9), (Channel.WHATSAPP, i % 3 == 0))
            if wanted
        )
        for i, customer in enumerate(customers)
    }


def located_of(customers: list[str], seed: int) -> frozenset[str]:
    """The customers the world's rule grants location (the only ones it sends pings of),
    but one in five of them, whose consent is withheld."""
    sharing = [c for c in customers if grants(seed, c, ConsentScope.LOCATION)]
    return frozenset(c for i, c in enumerate(sharing) if i % 5 != 4)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DayRun]:
    root: Path = tmp_path_factory.mktemp("decisions")
    with LocalStack(stack_settings_in(root), root) as stack:
        registry = trained_registry(root / "registry")
        settings = Settings(
            **{
                **stack.configured().model_dump(),
                "stream_app_id": "decisions",
                "decision_clock": "event",
                "model_dir": root / "registry",
                "model_poll_seconds": 0.5,
                "worker_session_timeout_seconds": 6.0,
            }
        )
        apply_feature_repo(settings)
        # a whole UTC day, whatever the hour the test runs at: the day's port entries
        # without location consent, searches and posts do not depend on it
        start = (datetime.now(UTC) - timedelta(days=2)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        campaign = active_campaign(settings, every_trigger_wire(start, days=1))
        events = list(World(WorldConfig(seed=11, customers=1_000, start=start, days=1)).events())
        customers = sorted({e.customer_id for e in events if hasattr(e, "customer_id")})
        consented = consent_of(customers)
        grant(settings, ((c, ch) for c, chs in consented.items() for ch in sorted(chs)))
        located = located_of(customers, seed=11)
        with KafkaEventProducer(settings) as producer:
            producer.produce(
                consent_changes(sorted(located), 11, at=start, shares={ConsentScope.LOCATION: 1.0})
            )
        workers = [WorkerProcess(settings, name, root) for name in ("a", "b")]
        try:
            for worker in workers:
                worker.wait_ready()
            half = len(events) // 2
            with KafkaEventProducer(settings) as producer:
                producer.produce(events[:half])
                time.sleep(4)
                workers[0].kill()
                producer.produce(events[half:])
            workers[0] = WorkerProcess(settings, "a-again", root)
            workers[0].wait_ready()
            wait_caught_up(settings, workers, timeout=600)
            settled_decisions(settings)
            yield DayRun(
                settings,
                stack,
                registry,
                campaign,
                events,
                consented,
                located,
                read_decisions(settings),
                workers,
            )
        finally:
            for worker in workers:
                worker.stop()


def trigger_of(decision: OfferDecision) -> tuple[str, str, str]:
    return decision.trigger_event_id, decision.trigger, decision.customer_id


def first_sightings(decisions: list[OfferDecision]) -> list[OfferDecision]:
    seen: set[str] = set()
    kept = []
    for decision in decisions:
        if decision.decision_id not in seen:
            seen.add(decision.decision_id)
            kept.append(decision)
    return kept


def test_every_trigger_has_one_decision_and_a_replay_repeats_it(day: DayRun) -> None:
    by_trigger: dict[tuple[str, str, str], set[str]] = {}
    by_id: dict[str, set[bytes]] = {}
    for decision in day.decisions:
        by_trigger.setdefault(trigger_of(decision), set()).add(decision.decision_id)
        by_id.setdefault(decision.decision_id, set()).add(encode(decision))
    assert len(by_trigger) > 50
    assert all(len(ids) == 1 for ids in by_trigger.values())
    assert all(len(forms) == 1 for forms in by_id.values())


def test_every_direct_trigger_of_the_input_is_decided(day: DayRun) -> None:
    decided = {trigger_of(d) for d in day.decisions}
    searches = [
        (e.event_id, Trigger.SEARCH.value, e.customer_id)
        for e in day.events
        if isinstance(e, BookingEvent) and e.action is BookingAction.SEARCH
    ]
    mentions = [
        (hit.source_event_id, hit.trigger.value, hit.customer_id)
        for e in day.events
        if isinstance(e, SocialPost) and (hit := from_social(e)) is not None
    ]
    transitions = [
        decode(r.value, expected=GeofenceTransition)
        for r in read_records(day.settings.kafka_bootstrap, GEOFENCE.name)
    ]
    entries = [
        (t.event_id, Trigger.GEOFENCE_ENTER.value, t.customer_id)
        for t in transitions
        if isinstance(t, GeofenceTransition) and t.action is GeofenceAction.ENTER
    ]
    assert searches and mentions and entries
    missing = [t for t in (*searches, *mentions, *entries) if t not in decided]
    assert missing == []


def in_quiet_hours(moment: datetime) -> bool:
    hour = moment.astimezone(ROME).hour
    return hour >= 21 or hour < 8


def expected_outcome(
    decision: OfferDecision,
    campaign: Campaign,
    control_share: float,
    cooldown: list[datetime],
    bookings: list[datetime],
    suppression: timedelta,
    complaints: list[datetime],
    complaint_window: timedelta,
) -> tuple[DecisionOutcome, str]:
    """What the contact policy must have made of a decision that names the campaign,
    replayed here from its definition: control, quiet hours, then the cooldown that the
    customer's latest grant started (the campaign's caps are looser than it), then the
    holdout, whose ghost contact starts a cooldown as a send does.
    ``cooldown`` holds the end of that cooldown, if any. A booking of the customer before
    the send's time suppresses it once the worker has read the booking; whether it had,
    when the booking came on another topic, only the worker knows: a decision suppressed
    for a booking in that span is accepted. So is a decision suppressed for a complaint of
    the customer (a negative post about the brand, a port or a route) within the
    complaint window before it: posts come on another topic too."""
    customer = decision.customer_id
    now = decision.event_time
    if in_global_control(customer, control_share):
        return DecisionOutcome.CONTROL, "global_control"
    complained = any(c <= now < c + complaint_window for c in complaints)
    if complained and decision.reason == "recent_complaint":
        return DecisionOutcome.SUPPRESSED, "recent_complaint"
    effective = now
    if in_quiet_hours(now):
        local = now.astimezone(ROME)
        end = local.replace(hour=8, minute=0, second=0, microsecond=0)
        if local.hour >= 21:
            end += timedelta(days=1)
        assert decision.expires_at is not None
        if decision.expires_at <= end:
            return DecisionOutcome.SUPPRESSED, "quiet_hours"
        effective = end.astimezone(UTC)
    converted = any(b <= effective < b + suppression for b in bookings)
    if converted and decision.reason == "suppressed":
        return DecisionOutcome.SUPPRESSED, "suppressed"
    if cooldown and cooldown[0] > effective:
        return DecisionOutcome.SUPPRESSED, "cooldown"
    cooldown[:] = [effective + COOLDOWN]
    if held_out(customer, campaign.id, campaign.holdout_share):
        return DecisionOutcome.HOLDOUT, "holdout"
    return DecisionOutcome.SEND, "deferred_quiet_hours" if effective != now else "send_now"


def test_each_outcome_agrees_with_an_independent_replay_of_the_contact_policy(
    day: DayRun,
) -> None:
    granted: dict[str, list[datetime]] = {}
    bookings: dict[str, list[datetime]] = {}
    for event in day.events:
        if isinstance(event, BookingEvent) and event.action is BookingAction.BOOK:
            bookings.setdefault(event.customer_id, []).append(event.event_time)
    complaints: dict[str, list[datetime]] = {}
    for event in day.events:
        if isinstance(event, SocialPost) and is_complaint(event):
            complaints.setdefault(event.customer_id, []).append(event.event_time)
    quiet = timedelta(hours=day.settings.conversion_suppression_hours)
    complaint_window = timedelta(hours=day.settings.complaint_suppression_hours)
    actual: Counter[tuple[str, str]] = Counter()
    replayed: Counter[tuple[str, str]] = Counter()
    disagreements = []
    for decision in first_sightings(day.decisions):
        actual[(decision.outcome.value, decision.reason)] += 1
        located = decision.customer_id in day.located
        if decision.trigger == Trigger.GEOFENCE_ENTER.value and not located:
            # a trigger that exists only because of the location, without its consent
            replayed[("no_offer", "no_location_consent")] += 1
            if (decision.outcome, decision.reason) != (
                DecisionOutcome.NO_OFFER,
                "no_location_consent",
            ):
                disagreements.append(
                    (decision.customer_id, decision.event_time, decision.reason, "location")
                )
            continue
        if decision.campaign_id is None:
            consented = day.consented.get(decision.customer_id, frozenset())
            if decision.reason == "no_consent":
                assert not consented
            if decision.reason == "no_location_consent":
                disagreements.append(
                    (decision.customer_id, decision.event_time, decision.reason, "located")
                )
            replayed[(decision.outcome.value, decision.reason)] += 1
            continue
        assert decision.channel in day.consented[decision.customer_id]
        outcome, reason = expected_outcome(
            decision,
            day.campaign,
            day.settings.global_control_share,
            granted.setdefault(decision.customer_id, []),
            bookings.get(decision.customer_id, []),
            quiet,
            complaints.get(decision.customer_id, []),
            complaint_window,
        )
        replayed[(outcome.value, reason)] += 1
        if (outcome, reason) != (decision.outcome, decision.reason):
            disagreements.append(
                (decision.customer_id, decision.event_time, decision.reason, reason)
            )
    assert disagreements == []
    assert actual == replayed
    assert actual[("send", "send_now")] > 0 and actual[("holdout", "holdout")] > 0
    assert actual[("no_offer", "no_location_consent")] > 0
    entries_with_consent = [
        d
        for d in first_sightings(day.decisions)
        if d.trigger == Trigger.GEOFENCE_ENTER.value and d.customer_id in day.located
    ]
    assert any(d.campaign_id is not None for d in entries_with_consent)


def test_no_send_breaks_a_cap_or_goes_out_in_quiet_hours(day: DayRun) -> None:
    sends = [d for d in first_sightings(day.decisions) if d.outcome is DecisionOutcome.SEND]
    per_day = Counter(
        (d.customer_id, (d.send_at or d.event_time).astimezone(ROME).date()) for d in sends
    )
    assert max(per_day.values()) <= day.campaign.frequency_cap.per_day
    for decision in sends:
        effective = decision.send_at or decision.event_time
        assert not in_quiet_hours(effective), decision
        assert not in_global_control(decision.customer_id, day.settings.global_control_share)


def signal_moment() -> datetime:
    """The latest local noon ten minutes or more ago: a past moment outside quiet hours."""
    local = (datetime.now(UTC) - timedelta(minutes=10)).astimezone(ROME)
    noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
    return (noon if noon <= local else noon - timedelta(days=1)).astimezone(UTC)


def sailing_for_signals(day: DayRun, at: datetime) -> SailingUpdate:
    """A sailing of the day departing well after ``at``, with seats left."""
    updates = [
        e
        for e in day.events
        if isinstance(e, SailingUpdate)
        and e.departure_time > at + timedelta(hours=6)
        and e.capacity_passengers > e.booked_passengers
    ]
    return max(updates, key=lambda u: u.event_time)


def fresh_customer(day: DayRun, tag: str) -> str:
    """A customer unknown to the day (no cooldown, no features), with SMS consent that the
    workers hold, outside the control group and the campaign's holdout."""
    customer = next(
        c
        for c in (f"c-{tag}-{i}" for i in range(1_000))
        if not in_global_control(c, day.settings.global_control_share)
        and not held_out(c, day.campaign.id, day.campaign.holdout_share)
    )
    grant(day.settings, [(customer, Channel.SMS)])
    deadline = time.monotonic() + 10
    while not all(w.page(f"/consent/{customer}") == {"sms": True} for w in day.workers):
        assert time.monotonic() < deadline, "the workers never saw the consent"
        time.sleep(0.1)
    return customer


def produce_signals(settings: Settings, hits: list[TriggerHit]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        for hit in hits:
            producer.send(TRIGGERS.name, key=hit.customer_id.encode(), value=encode(to_signal(hit)))
        producer.flush()
    finally:
        producer.close()


def fare_drops(day: DayRun, customer: str, count: int, tag: str) -> list[TriggerHit]:
    at = signal_moment()
    sailing = sailing_for_signals(day, at)
    return [
        TriggerHit(
            Trigger.FARE_DROP,
            f"{tag}-{i}",
            customer,
            at,
            port=sailing.origin_port,
            route_id=sailing.route_id,
            sailing_id=sailing.sailing_id,
        )
        for i in range(count)
    ]


def decisions_of(day: DayRun, prefix: str, count: int) -> list[OfferDecision]:
    deadline = time.monotonic() + 120
    while True:
        found = first_sightings(
            [d for d in read_decisions(day.settings) if d.trigger_event_id.startswith(prefix)]
        )
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(1)


def test_a_thousand_triggers_at_once_for_one_customer_make_one_send(day: DayRun) -> None:
    customer = fresh_customer(day, "burst")
    produce_signals(day.settings, fare_drops(day, customer, 1_000, "burst"))
    decisions = decisions_of(day, "burst-", 1_000)
    assert len(decisions) == 1_000
    outcomes = Counter((d.outcome.value, d.reason) for d in decisions)
    assert outcomes[("send", "send_now")] == 1
    assert outcomes[("send", "send_now")] + outcomes[("suppressed", "cooldown")] == 1_000


def test_a_promoted_model_and_a_challenger_are_used_without_a_restart(day: DayRun) -> None:
    registry = day.registry
    first = registry.champion()
    shadow = reregistered(registry)
    registry.shadow(shadow)
    time.sleep(3)  # a few polls of the registry
    customer = fresh_customer(day, "shadow")
    produce_signals(day.settings, fare_drops(day, customer, 5, "shadow"))
    scored = decisions_of(day, "shadow-", 5)
    assert {d.model_version for d in scored} == {first}
    assert {d.challenger_version for d in scored} == {shadow}
    assert all(c.challenger_propensity is not None for d in scored for c in d.candidates)
    registry.promote(shadow)
    time.sleep(3)
    produce_signals(day.settings, fare_drops(day, customer, 5, "promoted"))
    promoted = decisions_of(day, "promoted-", 5)
    assert {d.model_version for d in promoted} == {shadow}
    assert {d.challenger_version for d in promoted} == {None}


SWITCH_BOUND_S = 3.0
"""A promotion or a rollback reaches every worker's decisions within this long (the
workers poll the registry every 0.5 s here)."""


def test_promote_and_roll_back_under_load_switch_within_seconds_and_lose_nothing(
    day: DayRun,
) -> None:
    registry = day.registry
    first, second = registry.champion(), reregistered(registry)
    assert first is not None
    customer = fresh_customer(day, "swap")
    hits = fare_drops(day, customer, 120, "swap")
    produced_at: list[float] = []
    promoted_at = rolled_back_at = 0.0
    producer = KafkaProducer(bootstrap_servers=day.settings.kafka_bootstrap, acks="all")
    try:
        for i, hit in enumerate(hits):
            if i == 40:
                promoted_at = time.monotonic()
                registry.promote(second, actor="test")
            if i == 80:
                rolled_back_at = time.monotonic()
                assert registry.rollback(actor="test") == first
            producer.send(TRIGGERS.name, key=customer.encode(), value=encode(to_signal(hit)))
            producer.flush()
            produced_at.append(time.monotonic())
            time.sleep(0.1)
    finally:
        producer.close()
    decided = {d.trigger_event_id: d for d in decisions_of(day, "swap-", len(hits))}
    assert len(decided) == len(hits)  # none lost
    versions = [decided[f"swap-{i}"].model_version for i in range(len(hits))]
    assert set(versions[:30]) == {first}  # a second before the promotion
    # within the bound after each change, every decision is made by the new champion
    for i, at in enumerate(produced_at):
        if promoted_at + SWITCH_BOUND_S <= at < rolled_back_at:
            assert versions[i] == second, (i, at - promoted_at)
        if at >= rolled_back_at + SWITCH_BOUND_S:
            assert versions[i] == first, (i, at - rolled_back_at)
    switched = next(i for i in range(40, 80) if versions[i] == second)
    back = next(i for i in range(80, 120) if versions[i] == first)
    assert produced_at[switched] - promoted_at < SWITCH_BOUND_S
    assert produced_at[back] - rolled_back_at < SWITCH_BOUND_S
    assert [e.action for e in registry.history()][-2:] == ["promote", "rollback"]


def test_decisions_wait_while_redis_is_frozen_and_resume_with_nothing_lost(day: DayRun) -> None:
    customer = fresh_customer(day, "frozen")
    redis_pid = day.stack.state.redis_pid if day.stack.state else None
    assert redis_pid is not None
    os.kill(redis_pid, signal.SIGSTOP)
    try:
        produce_signals(day.settings, fare_drops(day, customer, 20, "frozen"))
        time.sleep(8)  # longer than the client's socket timeout
        decided = read_decisions(day.settings)
        assert [d for d in decided if d.trigger_event_id.startswith("frozen")] == []
    finally:
        os.kill(redis_pid, signal.SIGCONT)
    decisions = decisions_of(day, "frozen-", 20)
    assert len(decisions) == 20
    assert Counter(d.outcome for d in decisions)[DecisionOutcome.SEND] == 1
    assert all(w.process.poll() is None for w in day.workers)
