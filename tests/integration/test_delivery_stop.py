"""A STOP reply through the provider's inbound webhook: every send to that customer stops
within a second, decisions already on their way included, and one confirmation, with no
offer in it, reaches the customer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from kafka import KafkaProducer
from redis import Redis

from offers.closed_loop import Loop, closed_loop
from offers.contracts import Channel, OfferDecision, encode
from offers.settings import Settings
from offers.topics import DECISIONS
from offers_api.sms_keywords import classify, reply_for
from simulators.phones import phone_number
from simulators.reaction import find_offer_link
from simulators.world import World, WorldConfig
from streams.delivery.ledger import SendLedger
from tests.integration.decision_runs import active_campaign, every_trigger_wire, grant

pytestmark = pytest.mark.integration

CUSTOMER_INDEX = 41
CUSTOMER = f"c{CUSTOMER_INDEX + 1:07d}"
PHONE = phone_number(CUSTOMER_INDEX)
AFTER_STOP_S = 3.0
EVERY_S = 0.05
WITHIN_S = 1.0


@dataclass(frozen=True)
class Stopped:
    before: str
    """A decision sent before the STOP."""
    after: list[tuple[float, str]]
    """Decisions produced after the STOP: seconds after it, and the decision id."""
    ledger: dict[str, dict[str, str]]
    messages: list[tuple[str, str]]
    """Every message to the customer: its id and body."""


def decision(campaign_id: str) -> OfferDecision:
    now = datetime.now(UTC)
    identifier = f"dec-stop-{uuid.uuid4().hex}"
    return OfferDecision(
        event_id=identifier,
        event_time=now,
        decision_id=identifier,
        customer_id=CUSTOMER,
        trigger_event_id=f"ev-{uuid.uuid4().hex[:12]}",
        trigger="geofence_enter",
        outcome="send",
        reason="send_now",
        campaign_id=campaign_id,
        channel=Channel.SMS,
        expires_at=now + timedelta(hours=2),
        port="LIV",
    )


def wait_for_message(loop: Loop, decision_id: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for message in loop.sandbox.messages():
            link = find_offer_link(message.body)
            if link is not None and link.decision_id == decision_id:
                return
        time.sleep(0.1)
    redis = Redis.from_url(loop.settings.redis_url)
    try:
        entry = SendLedger(redis, "inspection").entry(decision_id)
    finally:
        redis.close()
    counts = {
        labels: value
        for worker in loop.deliveries
        for (name, labels), value in worker.metrics().items()
        if name == "offers_deliveries_total"
    }
    raise AssertionError(f"{decision_id} never reached the sandbox: {entry} {counts}")


def run_stop(settings: Settings, loop: Loop, campaign_id: str) -> Stopped:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:

        def send(record: OfferDecision) -> None:
            producer.send(DECISIONS.name, key=CUSTOMER.encode(), value=encode(record)).get(10)

        first = decision(campaign_id)
        send(first)
        wait_for_message(loop, first.decision_id)
        assert loop.sandbox.base_url is not None
        reply = httpx.post(
            f"{loop.sandbox.base_url}/sandbox/reply", json={"from": PHONE, "body": "STOP"}
        )
        assert reply.status_code < 300, reply.text
        stopped_at = time.monotonic()
        after: list[tuple[float, str]] = []
        while (elapsed := time.monotonic() - stopped_at) < AFTER_STOP_S:
            record = decision(campaign_id)
            send(record)
            after.append((elapsed, record.decision_id))
            time.sleep(EVERY_S)
    finally:
        producer.close()
    loop.settle(quiet_s=3.0)
    redis = Redis.from_url(loop.settings.redis_url)
    try:
        ledger = SendLedger(redis, "inspection")
        entries = {d: ledger.entry(d) for _, d in after}
    finally:
        redis.close()
    messages = [(m.id, m.body) for m in loop.sandbox.messages() if m.to == PHONE]
    return Stopped(first.decision_id, after, entries, messages)


@pytest.fixture(scope="module")
def stopped(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stopped]:
    settings = stack_settings.model_copy(update={"quiet_hours_start": 0, "quiet_hours_end": 0})
    campaign = active_campaign(settings, every_trigger_wire(datetime.now(UTC), 1))
    grant(settings, [(CUSTOMER, Channel.SMS)])
    customers = World(WorldConfig(customers=1_000)).customers
    logs = tmp_path_factory.mktemp("stop")
    with closed_loop(settings, customers, [campaign], logs, respond=False) as loop:
        yield run_stop(settings, loop, campaign.id)


def test_sends_stop_within_a_second_of_the_stop_reply(stopped: Stopped) -> None:
    states = [
        (at, stopped.ledger[d].get("state"), stopped.ledger[d].get("reason", ""))
        for at, d in stopped.after
    ]
    late = [(at, state) for at, state, _ in states if at >= WITHIN_S and state != "skipped"]
    assert late == [], late[:5]
    reasons = {reason.split("|")[0] for at, state, reason in states if at >= WITHIN_S}
    assert reasons == {"consent_withdrawn"}
    sent_after = [at for at, state, _ in states if state == "sent"]
    assert max(sent_after, default=0.0) < WITHIN_S


def test_one_confirmation_without_an_offer_reaches_the_customer(stopped: Stopped) -> None:
    offers = [body for _, body in stopped.messages if find_offer_link(body) is not None]
    others = [body for _, body in stopped.messages if find_offer_link(body) is None]
    assert others == [reply_for(classify("STOP"), brand="Moby")]
    assert any(stopped.before in body for body in offers)
