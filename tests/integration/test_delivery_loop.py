"""A simulated day through the whole engine and the loop around it: the real broker and
Redis, a stream-processor worker, a delivery worker, the API, the provider sandbox and
the simulated customers. Every offer to send is sent exactly once, and the funnel the
reports count agrees with what the sandbox and the customers saw."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis

from offers.closed_loop import CampaignResult, Loop, closed_loop, loop_report
from offers.contracts import DecisionOutcome, OfferDecision
from offers.demo import prepare_state, settle
from offers.demo_setup import PlacedCampaigns, engine_settings, wait_worker_holds
from offers.settings import Settings
from offers.stack.workers import WorkerProcess
from simulators.reaction import find_offer_link
from simulators.responder import Response
from simulators.sandbox.store import MessageRecord
from simulators.sink import KafkaEventProducer, at_speed
from simulators.world import World, WorldConfig
from streams.decisions.clock import Watermark
from streams.delivery.ledger import SendLedger
from streams.delivery.schedule import SendSchedule
from tests.integration.decision_runs import read_decisions, trained_registry

pytestmark = pytest.mark.integration

WORLD = WorldConfig(seed=11, customers=1_000, days=1)
SPEED = 2_400.0
"""Simulated seconds per second: the day in 36 s, the loop's answers within the hour."""


@dataclass(frozen=True)
class LoopDay:
    """What a simulated day left behind, read before the loop stopped."""

    placed: PlacedCampaigns
    sends: dict[str, OfferDecision]
    """The day's decisions to send, of its campaigns, by id."""
    offers: list[MessageRecord]
    """The sandbox's messages that carry an offer's link."""
    ledger: dict[str, dict[str, str]]
    scheduled_after_end: set[str]
    responses: list[Response]
    results: list[CampaignResult]


def run_day(settings: Settings, logs: Path) -> LoopDay:
    placed, _ = prepare_state(settings, WORLD)
    world = World(WORLD)
    with closed_loop(settings, world.customers, placed.campaigns, logs, seed=11) as loop:
        with WorkerProcess(loop.settings, "worker", logs) as worker:
            worker.wait_ready()
            wait_worker_holds(worker, placed.campaigns, settings.kafka_bootstrap)
            with KafkaEventProducer(settings) as producer:
                producer.produce(at_speed(world.events(), SPEED), rate=3_000.0)
            settle(loop.settings, worker, loop)
        return inspect(loop, placed)


def inspect(loop: Loop, placed: PlacedCampaigns) -> LoopDay:
    ids = {c.id for c in placed.campaigns}
    sends = {
        d.decision_id: d
        for d in read_decisions(loop.settings)
        if d.outcome is DecisionOutcome.SEND and d.campaign_id in ids
    }
    redis = Redis.from_url(loop.settings.redis_url)
    try:
        ledger = SendLedger(redis, "inspection")
        entries = {decision_id: ledger.entry(decision_id) for decision_id in sends}
        mark = Watermark(redis).current()
        waiting = set()
        for raw in SendSchedule(redis).due(2**62, limit=100_000):
            waiting.add(raw)
    finally:
        redis.close()
    assert mark is not None
    later = {d.decision_id for d in sends.values() if d.send_at is not None and d.send_at > mark}
    offers = [m for m in loop.sandbox.messages() if find_offer_link(m.body) is not None]
    responses = loop.responder.responses()
    results = loop_report(loop.settings, placed.campaigns, responses)
    return LoopDay(placed, sends, offers, entries, later, responses, results)


@pytest.fixture(scope="module")
def day(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopDay]:
    root = tmp_path_factory.mktemp("loop")
    registry = trained_registry(root / "registry")
    settings = engine_settings(stack_settings, registry.directory)
    yield run_day(settings, root / "logs")


def decision_of(message: MessageRecord) -> str:
    link = find_offer_link(message.body)
    assert link is not None
    return link.decision_id


def test_every_offer_to_send_is_sent_exactly_once(day: LoopDay) -> None:
    per_decision = Counter(decision_of(m) for m in day.offers if decision_of(m) in day.sends)
    assert per_decision, "no offer reached the sandbox"
    assert max(per_decision.values()) == 1, per_decision.most_common(3)
    sent = {d for d, entry in day.ledger.items() if entry.get("state") == "sent"}
    assert set(per_decision) == sent
    not_sent = {
        decision_id: entry.get("reason", "")
        for decision_id, entry in day.ledger.items()
        if entry.get("state") in ("failed", "skipped")
    }
    unaccounted = set(day.sends) - sent - set(not_sent) - day.scheduled_after_end
    assert unaccounted == set(), f"{len(unaccounted)} decisions neither sent nor refused"
    reasons = Counter(reason.split("|", 1)[0] for reason in not_sent.values())
    assert set(reasons) <= {"consent_withdrawn", "validity_expired"}, reasons


def test_the_funnel_agrees_with_the_sandbox_and_the_customers(day: LoopDay) -> None:
    campaign_of = {d.decision_id: d.campaign_id for d in day.sends.values()}
    for result in day.results:
        campaign = result.campaign.id
        funnel = result.report.funnel
        mine = [m for m in day.offers if campaign_of.get(decision_of(m)) == campaign]
        answered = [r for r in day.responses if r.campaign_id == campaign]
        assert funnel.sent == sum(1 for c in campaign_of.values() if c == campaign)
        assert funnel.delivered == sum(1 for m in mine if m.reached("delivered")), campaign
        # an offer may expire before its customer gets to it (410): not a click
        assert funnel.clicked == sum(1 for r in answered if r.clicked and not r.click_error)
        assert funnel.redeemed == sum(1 for r in answered if r.redeemed), (
            campaign,
            Counter(r.redemption_error for r in answered if r.caused),
        )
        assert funnel.converted == sum(1 for r in answered if r.redeemed and r.booking_ref)


def test_the_customers_answer_by_the_ground_truth(day: LoopDay) -> None:
    caused = [r for r in day.responses if r.caused]
    expected = sum(r.u for r in day.responses)
    assert day.responses, "no customer answered"
    assert abs(len(caused) - expected) <= 4 * max(expected, 1) ** 0.5 + 2
    refused = Counter((r.redemption_error or "")[:8] for r in caused if not r.redeemed)
    assert set(refused) <= {"HTTP 410"}, refused  # only offers expired before redemption


def test_the_decisions_happened_on_the_simulated_day(day: LoopDay) -> None:
    for decision in day.sends.values():
        assert WORLD.start <= decision.event_time <= WORLD.end
    assert datetime.now(UTC) > WORLD.end
