"""Sending one decision's message once, against the stack's Redis and the provider
sandbox: repeats, attempts in doubt, another worker's attempt under way, transient and
permanent failures, and what is checked at send time."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from redis import Redis

from offers.campaigns import Campaign, CampaignStatus
from offers.contacts import ContactStore
from offers.contracts import (
    Channel,
    ConsentScope,
    DeliveryState,
    DeliveryStatus,
    Language,
    OfferDecision,
)
from offers.contracts.events import consent_key
from offers.delivery_status import StatusBook
from offers.offer_book import OfferBook
from offers.outbound import OutboundPolicy
from offers.settings import Settings
from simulators.sandbox import Sandbox, SandboxConfig, running_sandbox
from streams.delivery.adapters import SmsAdapter, channel_adapters
from streams.delivery.clock import SendClock
from streams.delivery.ledger import SendLedger, SendState
from streams.delivery.policy import SendRateLimiter
from streams.delivery.providers import Provider, graph_http_client
from streams.delivery.reconcile import Reconciler
from streams.delivery.sender import Delivery, SendContext, Sender
from tests.unit.campaigns.factories import CAMPAIGN_ID, valid_campaign

pytestmark = pytest.mark.integration

SANDBOX = SandboxConfig(callback_delay_s=0.0, callback_attempts=1, retry_after_s=0)


@dataclass
class RecordingOutbox:
    """What the sender published (on a worker it goes to Kafka topics)."""

    statuses: list[DeliveryStatus] = field(default_factory=list)
    dead: list[tuple[str, str]] = field(default_factory=list)
    withdrawn: list[tuple[str, ConsentScope]] = field(default_factory=list)

    async def status(self, event: DeliveryStatus) -> None:
        self.statuses.append(event)

    async def dead_letter(self, decision: OfferDecision, reason: str) -> None:
        self.dead.append((decision.decision_id, reason))

    async def withdraw_consent(self, customer_id: str, scope: ConsentScope) -> None:
        self.withdrawn.append((customer_id, scope))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with running_sandbox(SANDBOX) as served:
        yield served


@pytest.fixture
def settings(stack_settings: Settings, sandbox: Sandbox) -> Settings:
    assert sandbox.base_url is not None
    sandbox.reset(SANDBOX)
    config = sandbox.config
    return stack_settings.model_copy(
        update={
            "outbound_allowed_hosts": ("127.0.0.1",),
            "outbound_allow_private": True,
            "twilio_api_base": sandbox.base_url,
            "twilio_account_sid": config.account_sid,
            "twilio_auth_token": SecretStr(config.auth_token),
            "twilio_sender": config.twilio_number,
            "graph_api_base": sandbox.base_url,
            "whatsapp_phone_number_id": config.whatsapp_phone_number_id,
            "whatsapp_access_token": SecretStr(config.whatsapp_token),
            "messenger_page_token": SecretStr(config.messenger_page_token),
            "send_timeout_seconds": 2.0,
            "send_max_attempts": 6,
            "delivery_reconcile_seconds": 0.5,
            "quiet_hours_start": 0,
            "quiet_hours_end": 0,
        }
    )


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return valid_campaign(CampaignStatus.ACTIVE)


class Rig:
    """A sender (one worker) over the stack's Redis and the sandbox."""

    def __init__(self, settings: Settings, redis: Redis, campaign: Campaign) -> None:
        self.settings = settings
        self.redis = redis
        self.customer = f"c-{uuid.uuid4().hex[:10]}"
        self.phone = f"+39340{random.randrange(10**7):07d}"
        ContactStore(redis, settings.secret_key.get_secret_value()).put(
            self.customer, self.phone, language=Language.IT, name="Giulia"
        )
        self.consent: dict[str, bool] = {consent_key(self.customer, ConsentScope.SMS): True}
        self.outbox = RecordingOutbox()
        self.campaign = campaign

    def sender(self, owner: str = "worker-a") -> tuple[Sender, httpx.AsyncClient]:
        http = graph_http_client(2.0, OutboundPolicy.from_settings(self.settings))
        adapters = channel_adapters(self.settings, http)
        sms = adapters[Channel.SMS]
        assert isinstance(sms, SmsAdapter)
        sender = Sender(
            self.settings,
            self.redis,
            SendLedger(self.redis, owner),
            adapters,
            SendContext(self.consent, {CAMPAIGN_ID: self.campaign}.get, {}),
            self.outbox,
            clock=SendClock("wall"),
            limiter=SendRateLimiter({p: 1_000.0 for p in Provider}),
            reconciler=Reconciler(sms, StatusBook(self.redis), 0.5),
            rng=random.Random(3),
        )
        return sender, http

    def decision(self, channel: Channel = Channel.SMS, **overrides: Any) -> OfferDecision:
        now = datetime.now(UTC)
        identifier = f"dec-{uuid.uuid4().hex}"
        data: dict[str, Any] = {
            "event_id": identifier,
            "event_time": now,
            "decision_id": identifier,
            "customer_id": self.customer,
            "trigger_event_id": "loc-1",
            "trigger": "geofence_enter",
            "outcome": "send",
            "reason": "send_now",
            "campaign_id": CAMPAIGN_ID,
            "channel": channel,
            "expires_at": now + timedelta(hours=48),
            "port": "LIV",
        } | overrides
        return OfferDecision.model_validate(data)

    def deliver(self, decision: OfferDecision, owner: str = "worker-a") -> Delivery:
        async def run() -> Delivery:
            sender, http = self.sender(owner)
            try:
                return await sender.deliver(decision)
            finally:
                await http.aclose()

        return asyncio.run(run())


@pytest.fixture
def rig(settings: Settings, redis: Redis, campaign: Campaign) -> Rig:
    return Rig(settings, redis, campaign)


def messages_to(sandbox: Sandbox, phone: str) -> list[Any]:
    return [m for m in sandbox.messages() if m.to == phone]


def test_a_decision_is_sent_once_and_its_repeats_only_publish_again(
    rig: Rig, sandbox: Sandbox, redis: Redis
) -> None:
    decision = rig.decision()
    first = rig.deliver(decision)
    again = rig.deliver(decision, owner="worker-b")  # a replay, on another worker
    sent = messages_to(sandbox, rig.phone)
    assert first.state is SendState.SENT and again.state is SendState.SENT
    assert [m.id for m in sent] == [first.message_id] == [again.message_id]
    body = sent[0].body
    assert "Giulia" in body and "Livorno" in body
    assert f"/r/{decision.decision_id}." in body
    assert [s.status for s in rig.outbox.statuses] == [DeliveryState.QUEUED] * 2
    assert {s.event_id for s in rig.outbox.statuses} == {rig.outbox.statuses[0].event_id}
    kept = OfferBook(redis).get(rig.customer, decision.decision_id)
    assert kept is not None and kept.message == body


def test_an_attempt_in_doubt_that_reached_the_provider_is_not_sent_again(
    rig: Rig, sandbox: Sandbox
) -> None:
    decision = rig.decision()
    sent = rig.deliver(decision)
    # as if the worker had died between the provider's answer and its record
    past = int(datetime.now(UTC).timestamp() * 1000) - 1
    rig.redis.hset(
        f"offers:delivery:send:{decision.decision_id}",
        mapping={"state": "sending", "owner": "worker-dead", "attempts": 1, "deadline_ms": past},
    )
    recovered = rig.deliver(decision, owner="worker-b")
    assert (recovered.state, recovered.message_id) == (SendState.SENT, sent.message_id)
    assert len(messages_to(sandbox, rig.phone)) == 1


def test_a_delivery_tried_again_by_its_own_worker_after_a_send_is_not_sent_again(
    rig: Rig, sandbox: Sandbox
) -> None:
    decision = rig.decision()
    sent = rig.deliver(decision)
    # as if Redis had gone away between the provider's answer and its record, and the
    # same worker tried the whole delivery again once Redis was back
    key = f"offers:delivery:send:{decision.decision_id}"
    deadline = int(datetime.now(UTC).timestamp() * 1000) + 60_000
    rig.redis.hset(key, mapping={"state": "sending", "attempts": 1, "deadline_ms": deadline})
    assert rig.redis.hget(key, "owner") == b"worker-a"
    again = rig.deliver(decision, owner="worker-a")
    assert (again.state, again.message_id) == (SendState.SENT, sent.message_id)
    assert [m.id for m in messages_to(sandbox, rig.phone)] == [sent.message_id]


def test_an_attempt_in_doubt_that_never_reached_the_provider_is_sent(
    rig: Rig, sandbox: Sandbox
) -> None:
    decision = rig.decision()
    dead = SendLedger(rig.redis, "worker-dead")
    past = int(datetime.now(UTC).timestamp() * 1000) - 1
    dead.claim(decision.decision_id, past)
    dead.begin(decision.decision_id, past)
    recovered = rig.deliver(decision, owner="worker-b")
    assert recovered.state is SendState.SENT
    assert [m.id for m in messages_to(sandbox, rig.phone)] == [recovered.message_id]


def test_another_workers_attempt_under_way_is_waited_for(rig: Rig, sandbox: Sandbox) -> None:
    decision = rig.decision()
    other = SendLedger(rig.redis, "worker-busy")
    now = int(datetime.now(UTC).timestamp() * 1000)
    other.claim(decision.decision_id, now)
    other.begin(decision.decision_id, now + 60_000)
    waiting = rig.deliver(decision, owner="worker-b")
    assert waiting.state is SendState.SENDING and waiting.retry_at_ms == now + 60_000
    assert messages_to(sandbox, rig.phone) == []


def test_rate_limits_and_server_errors_are_retried_into_one_message(
    rig: Rig, sandbox: Sandbox
) -> None:
    sandbox.reset(SandboxConfig(callback_delay_s=0.0, callback_attempts=1, retry_after_s=0))
    sandbox.burst(3, "twilio")  # the next three sends get 429
    delivery = rig.deliver(rig.decision())
    assert delivery.state is SendState.SENT
    assert len(messages_to(sandbox, rig.phone)) == 1


def test_consent_withdrawn_since_the_decision_skips_the_send(rig: Rig, sandbox: Sandbox) -> None:
    rig.consent[consent_key(rig.customer, ConsentScope.SMS)] = False
    delivery = rig.deliver(rig.decision())
    assert (delivery.state, delivery.code) == (SendState.SKIPPED, "consent_withdrawn")
    assert messages_to(sandbox, rig.phone) == []
    assert rig.outbox.statuses[-1].error_code == "consent_withdrawn"
    assert rig.outbox.dead == []  # not a failure


def test_an_opt_out_at_the_provider_is_dead_lettered_and_withdraws_consent(
    rig: Rig, sandbox: Sandbox
) -> None:
    sandbox.opt_out(rig.phone)
    decision = rig.decision()
    delivery = rig.deliver(decision)
    assert (delivery.state, delivery.code) == (SendState.FAILED, "21610")
    assert [d for d, _ in rig.outbox.dead] == [decision.decision_id]
    assert rig.outbox.withdrawn == [(rig.customer, ConsentScope.SMS)]


def test_an_invalid_address_is_not_tried_again(rig: Rig, sandbox: Sandbox, redis: Redis) -> None:
    short = "+3934000"  # E.164 in form, too short for a WhatsApp number
    ContactStore(redis, rig.settings.secret_key.get_secret_value()).put(rig.customer, short)
    rig.consent[consent_key(rig.customer, ConsentScope.WHATSAPP)] = True
    first = rig.deliver(rig.decision(Channel.WHATSAPP))
    second = rig.deliver(rig.decision(Channel.WHATSAPP))
    assert (first.state, first.code) == (SendState.FAILED, "131026")
    assert (second.state, second.code) == (SendState.SKIPPED, "unreachable")
    assert not [m for m in sandbox.messages() if m.to.endswith("3934000")]
