"""Running simulated days through the whole engine and the loop around it, and what a
run leaves behind for the tests to check: the decisions to send of the run, the
sandbox's offer messages, the send ledger, the customers' responses and the reports."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis

from offers.campaigns import CampaignStatus, LifecycleAction
from offers.campaigns.presets import demo_campaigns
from offers.closed_loop import CampaignResult, Loop, closed_loop, loop_report
from offers.contracts import DecisionOutcome, OfferDecision
from offers.demo import prepare_state, read_decisions, settle
from offers.demo_setup import (
    DEMO_ACTOR,
    PlacedCampaigns,
    partition_ends,
    wait_worker_holds,
)
from offers.settings import Settings
from offers.stack.workers import WorkerProcess, stop_all
from offers.state.campaigns import CampaignStore
from offers.state.compacted import TopicWriter
from offers.topics import DEAD_LETTER, DECISIONS, GEOFENCE
from simulators.reaction import find_offer_link
from simulators.responder import Response
from simulators.sandbox.store import MessageRecord
from simulators.sink import KafkaEventProducer, at_speed
from simulators.world import DEFAULT_START, World, WorldConfig
from streams.decisions.clock import Watermark
from streams.delivery.ledger import SendLedger


class Engine:
    """The run's stream-processor workers (features and decisions), named in turn, to
    kill, add and stop while the world flows."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.workers: list[WorkerProcess] = []
        self.started = 0

    def add(self) -> WorkerProcess:
        worker = WorkerProcess(self.settings, f"worker-{self.started}", self.logs)
        self.started += 1
        self.workers.append(worker)
        return worker

    def kill(self, index: int = 0) -> None:
        """SIGKILL the worker at ``index`` and forget it."""
        self.workers.pop(index).kill()

    def stop(self, index: int = -1) -> None:
        """Stop the worker at ``index`` as a scale-down would (SIGTERM) and forget it."""
        self.workers.pop(index).stop()

    def stop_all(self) -> None:
        stop_all(self.workers)
        self.workers.clear()


@dataclass(frozen=True)
class Rig:
    """What work done during a run can act on: the loop around the engine (delivery
    workers, the provider sandbox) and the engine's own workers."""

    loop: Loop
    engine: Engine


During = Callable[[Rig, threading.Event], None]
"""Work done while the world flows (killing workers...), until the event is set."""


@dataclass(frozen=True)
class LoopDay:
    """What a run left behind, read before the loop stopped."""

    placed: PlacedCampaigns
    sends: dict[str, OfferDecision]
    """The run's decisions to send, of its campaigns, by id."""
    offers: list[MessageRecord]
    """The sandbox's messages that carry an offer's link."""
    ledger: dict[str, dict[str, str]]
    scheduled_after_end: set[str]
    """Decisions whose ``send_at`` the engine's clock had not reached at the end."""
    responses: list[Response]
    results: list[CampaignResult]
    defects: int
    """Decisions the running delivery workers failed on unexpectedly (their metrics)."""
    decisions: list[OfferDecision]
    """Every decision record the run wrote (a record written again by a replay too)."""
    started: dict[str, dict[int, int]]
    """The end offset of each partition of the decisions, geofence and dead-letter topics
    when the run started: where the run's own records begin."""

    def offers_per_decision(self) -> Counter[str]:
        return Counter(decision_of(m) for m in self.offers if decision_of(m) in self.sends)

    def ledger_states(self, *states: str) -> dict[str, str]:
        """Decisions whose ledger entry is in one of ``states``, with its reason."""
        return {
            decision_id: entry.get("reason", "")
            for decision_id, entry in self.ledger.items()
            if entry.get("state") in states
        }


def decision_of(message: MessageRecord) -> str:
    link = find_offer_link(message.body)
    assert link is not None
    return link.decision_id


def end_demo_campaigns(settings: Settings) -> None:
    """End the demo's campaigns a run before left running, so that this run gets its own
    (a report folds every decision of its campaign that the topics hold)."""
    names = {wire["name"] for wire in demo_campaigns(DEFAULT_START, DEFAULT_START)}
    writer = TopicWriter(settings.kafka_bootstrap)
    store = CampaignStore(settings.kafka_bootstrap, writer)
    try:
        store.view.wait_until_current()
        for campaign in store.all():
            if campaign.name in names and campaign.status is CampaignStatus.ACTIVE:
                store.move(campaign.id, LifecycleAction.END, DEMO_ACTOR)
    finally:
        store.close()
        writer.close()


def run_days(
    settings: Settings,
    logs: Path,
    world_config: WorldConfig,
    *,
    speed: float,
    delivery_workers: int = 1,
    faults: Mapping[str, Any] | None = None,
    during: Sequence[During] = (),
    placed_campaigns: Callable[[Settings, WorldConfig], PlacedCampaigns] | None = None,
) -> LoopDay:
    """The world of ``world_config`` through a stream-processor worker and the loop,
    ``speed`` simulated seconds per second; each of ``during`` runs in a thread
    meanwhile. ``placed_campaigns`` places the run's campaigns (default: the demo's)."""
    end_demo_campaigns(settings)
    if placed_campaigns is None:
        placed, _ = prepare_state(settings, world_config)
    else:
        placed = placed_campaigns(settings, world_config)
    world = World(world_config)
    started = {
        topic.name: partition_ends(settings.kafka_bootstrap, topic.name)
        for topic in (DECISIONS, GEOFENCE, DEAD_LETTER)
    }
    with closed_loop(
        settings, world.customers, placed.campaigns, logs,
        seed=world_config.seed, delivery_workers=delivery_workers, faults=faults,
    ) as loop:  # fmt: skip
        engine = Engine(loop.settings, logs)
        try:
            first = engine.add()
            first.wait_ready()
            wait_worker_holds(first, placed.campaigns, settings.kafka_bootstrap)
            done = threading.Event()
            sides = [
                threading.Thread(target=work, args=(Rig(loop, engine), done)) for work in during
            ]
            for side in sides:
                side.start()
            try:
                with KafkaEventProducer(settings) as producer:
                    producer.produce(at_speed(world.events(), speed), rate=3_000.0)
            finally:
                done.set()
                for side in sides:
                    side.join()
            while len(engine.workers) > 1:
                engine.stop()
            engine.workers[0].wait_ready()
            for delivery in loop.deliveries:
                delivery.wait_ready()
            settle(loop.settings, engine.workers[0], loop)
        finally:
            engine.stop_all()
        return inspect(loop, placed, started)


def inspect(loop: Loop, placed: PlacedCampaigns, started: dict[str, dict[int, int]]) -> LoopDay:
    ids = {c.id for c in placed.campaigns}
    decisions = list(read_decisions(loop.settings.kafka_bootstrap, started[DECISIONS.name]))
    sends = {
        d.decision_id: d
        for d in decisions
        if d.outcome is DecisionOutcome.SEND and d.campaign_id in ids
    }
    redis = Redis.from_url(loop.settings.redis_url)
    try:
        ledger = SendLedger(redis, "inspection")
        entries = {decision_id: ledger.entry(decision_id) for decision_id in sends}
        mark = Watermark(redis).current()
    finally:
        redis.close()
    assert mark is not None
    later = {d.decision_id for d in sends.values() if d.send_at is not None and d.send_at > mark}
    offers = [m for m in loop.sandbox.messages() if find_offer_link(m.body) is not None]
    responses = loop.responder.responses()
    results = loop_report(loop.settings, placed.campaigns, responses)
    defects = sum(
        value
        for worker in loop.deliveries
        for (name, labels), value in worker.metrics().items()
        if name == "offers_deliveries_total" and ("code", "defect") in labels
    )
    return LoopDay(
        placed, sends, offers, entries, later, responses, results, int(defects), decisions, started
    )


NOT_SENT_REASONS = frozenset({"consent_withdrawn", "validity_expired"})
"""Why an offer to send may rightly not be sent: its customer replied STOP meanwhile, or
its time ran out while it waited for the end of quiet hours."""


def assert_sent_exactly_once(
    day: LoopDay, not_sent_reasons: frozenset[str] = NOT_SENT_REASONS
) -> None:
    """No decision's offer reached the sandbox twice, every decision the ledger says was
    sent reached it, and every other decision was refused for one of
    ``not_sent_reasons`` or still waits for its time."""
    assert day.defects == 0
    per_decision = day.offers_per_decision()
    assert per_decision, "no offer reached the sandbox"
    assert max(per_decision.values()) == 1, per_decision.most_common(3)
    sent = set(day.ledger_states("sent"))
    assert set(per_decision) == sent
    not_sent = day.ledger_states("failed", "skipped")
    unaccounted = set(day.sends) - sent - set(not_sent) - day.scheduled_after_end
    assert unaccounted == set(), f"{len(unaccounted)} decisions neither sent nor refused"
    reasons = Counter(reason.split("|", 1)[0] for reason in not_sent.values())
    assert set(reasons) <= not_sent_reasons, reasons
