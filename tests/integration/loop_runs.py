"""Running simulated days through the whole engine and the loop around it, and what a
run leaves behind for the tests to check: the decisions to send of the run, the
sandbox's offer messages, the send ledger, the customers' responses and the reports."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis

from offers.campaigns import CampaignStatus, LifecycleAction
from offers.closed_loop import CampaignResult, Loop, closed_loop, loop_report
from offers.contracts import DecisionOutcome, OfferDecision
from offers.demo import prepare_state, read_decisions, settle
from offers.demo_setup import (
    DEMO_ACTOR,
    PlacedCampaigns,
    demo_campaigns,
    partition_ends,
    wait_worker_holds,
)
from offers.settings import Settings
from offers.stack.workers import WorkerProcess
from offers.state.campaigns import CampaignStore
from offers.state.compacted import TopicWriter
from offers.topics import DECISIONS
from simulators.reaction import find_offer_link
from simulators.responder import Response
from simulators.sandbox.store import MessageRecord
from simulators.sink import KafkaEventProducer, at_speed
from simulators.world import DEFAULT_START, World, WorldConfig
from streams.decisions.clock import Watermark
from streams.delivery.ledger import SendLedger

During = Callable[[Loop, threading.Event], None]
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
    during: During | None = None,
) -> LoopDay:
    """The world of ``world_config`` through a stream-processor worker and the loop,
    ``speed`` simulated seconds per second; ``during`` runs in a thread meanwhile."""
    end_demo_campaigns(settings)
    placed, _ = prepare_state(settings, world_config)
    world = World(world_config)
    decisions_from = partition_ends(settings.kafka_bootstrap, DECISIONS.name)
    with closed_loop(
        settings, world.customers, placed.campaigns, logs,
        seed=world_config.seed, delivery_workers=delivery_workers, faults=faults,
    ) as loop:  # fmt: skip
        with WorkerProcess(loop.settings, "worker", logs) as worker:
            worker.wait_ready()
            wait_worker_holds(worker, placed.campaigns, settings.kafka_bootstrap)
            done = threading.Event()
            side = threading.Thread(target=during, args=(loop, done)) if during else None
            if side is not None:
                side.start()
            try:
                with KafkaEventProducer(settings) as producer:
                    producer.produce(at_speed(world.events(), speed), rate=3_000.0)
            finally:
                done.set()
                if side is not None:
                    side.join()
            for delivery in loop.deliveries:
                delivery.wait_ready()
            settle(loop.settings, worker, loop)
        return inspect(loop, placed, decisions_from)


def inspect(loop: Loop, placed: PlacedCampaigns, decisions_from: dict[int, int]) -> LoopDay:
    ids = {c.id for c in placed.campaigns}
    sends = {
        d.decision_id: d
        for d in read_decisions(loop.settings.kafka_bootstrap, decisions_from)
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
    return LoopDay(placed, sends, offers, entries, later, responses, results, int(defects))


NOT_SENT_REASONS = frozenset({"consent_withdrawn", "validity_expired"})
"""Why an offer to send may rightly not be sent: its customer replied STOP meanwhile, or
its time ran out while it waited for the end of quiet hours."""


def assert_sent_exactly_once(day: LoopDay) -> None:
    """No decision's offer reached the sandbox twice, every decision the ledger says was
    sent reached it, and every other decision was refused for a reason or still waits
    for its time."""
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
    assert set(reasons) <= NOT_SENT_REASONS, reasons
