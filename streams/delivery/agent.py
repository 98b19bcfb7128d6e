"""The delivery agent: decisions in, each ``send`` decision's message sent once.

``deliveries`` reads ``offers.decisions`` in micro-batches. A decision to send whose
``send_at`` has come is handed to the :class:`~streams.delivery.sender.Sender` (many at
once, up to ``OFFERS_DELIVERY_CONCURRENCY``); one that must wait for the end of the
recipient's quiet hours goes to the :class:`~streams.delivery.schedule.SendSchedule`,
which a timer reads every second. A batch is acknowledged once every message of it was
sent, failed, skipped or scheduled: a worker killed mid-batch leaves its decisions to
the next owner of the partition, and the send ledger keeps that from sending twice.

Statuses go to ``offers.delivery-status``, decisions whose message could not be sent to
the dead-letter topic with the reason, and an opt-out the provider reports to
``state.consent``. While Redis is unreachable, a send is retried with a capped backoff
and nothing is acknowledged. A record that cannot be read is dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar, cast

import faust
from redis import Redis
from redis.exceptions import RedisError

from offers.campaigns.history import CampaignHistory
from offers.contracts import (
    Channel,
    ConsentChange,
    ConsentScope,
    ConsentSource,
    DecisionOutcome,
    DeliveryStatus,
    OfferDecision,
    ValidationClock,
    decode,
    encode,
    to_dead_letter,
)
from offers.contracts.events import consent_key
from offers.delivery_status import StatusBook
from offers.errors import ContractError, OffersError
from offers.outbound import OutboundPolicy
from offers.settings import Settings
from offers.topics import CONSENT, DEAD_LETTER, DECISIONS, DELIVERY_STATUS
from streams.dead_letters import send_dead_letter
from streams.decisions.clock import Watermark
from streams.delivery.adapters import SmsAdapter, channel_adapters
from streams.delivery.clock import SendClock
from streams.delivery.ledger import SendLedger, SendState
from streams.delivery.policy import SendRateLimiter
from streams.delivery.providers import graph_http_client
from streams.delivery.reconcile import Reconciler
from streams.delivery.schedule import SendSchedule
from streams.delivery.sender import Delivery, SendContext, Sender
from streams.followers import all_read, wait_read
from streams.metrics import StreamMetrics

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEDULE_TICK_S = 1.0
MAX_BACKOFF_S = 5.0
MAX_BUSY_WAIT_S = 60.0


class NotSent(OffersError):
    """Why a decision's message was not sent (the reason of its dead letter)."""


class TopicOutbox:
    """The sender's outbox on the worker's topics; each send waits for Kafka's ack."""

    def __init__(self, app: faust.App) -> None:
        self.statuses = app.topic(DELIVERY_STATUS.name, key_type=bytes, value_type=bytes)
        self.dead_letters = app.topic(DEAD_LETTER.name, key_type=bytes, value_type=bytes)
        self.consent = app.topic(CONSENT.name, key_type=bytes, value_type=bytes)

    async def status(self, event: DeliveryStatus) -> None:
        await self._send(self.statuses, event.customer_id, encode(event))

    async def dead_letter(self, decision: OfferDecision, reason: str) -> None:
        letter = to_dead_letter(
            encode(decision),
            NotSent(reason),
            source_topic=DECISIONS.name,
            source_key=decision.customer_id,
            stage="delivery",
        )
        await self._send(self.dead_letters, decision.customer_id, encode(letter))

    async def withdraw_consent(self, customer_id: str, scope: ConsentScope) -> None:
        change = ConsentChange(
            event_id=f"consent-provider-{uuid.uuid4().hex}",
            event_time=datetime.now(UTC),
            customer_id=customer_id,
            scope=scope,
            granted=False,
            source=ConsentSource.PROVIDER,
        )
        await self._send(self.consent, consent_key(customer_id, scope), encode(change))

    @staticmethod
    async def _send(topic: faust.types.TopicT, key: str, value: bytes) -> None:
        sent = await topic.send(key=key.encode(), value=value)
        await sent


class DeliveryAgents:
    """The delivery agent, its schedule timer and its clients, for one worker."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        *,
        consent: Mapping[str, bool],
        campaigns: CampaignHistory,
        sailings: Mapping[str, Mapping[str, Any]],
        metrics: StreamMetrics,
        ready: Sequence[asyncio.Event] = (),
    ) -> None:
        """``ready``: set once consent and campaigns are read to the end; nothing is sent
        before (a copy still filling would refuse consent given long ago)."""
        self.app = app
        self.ready = tuple(ready)
        self.settings = settings
        self.metrics = metrics
        self.validation = ValidationClock.from_settings(settings)
        self.redis = Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2, retry_on_timeout=False
        )
        self.schedule = SendSchedule(self.redis)
        event_clock = settings.decision_clock == "event"
        watermark = Watermark(self.redis) if event_clock else None
        self.clock = SendClock(settings.decision_clock, watermark)
        self.outbox = TopicOutbox(app)
        self.dead_letters = self.outbox.dead_letters
        self.http = graph_http_client(
            settings.send_timeout_seconds, OutboundPolicy.from_settings(settings)
        )
        adapters = channel_adapters(settings, self.http)
        sms = adapters.get(Channel.SMS)
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sender = Sender(
            settings,
            self.redis,
            SendLedger(self.redis, owner),
            adapters,
            SendContext(consent=consent, campaigns=campaigns.get, sailings=sailings),
            self.outbox,
            clock=self.clock,
            limiter=SendRateLimiter.from_settings(settings),
            reconciler=Reconciler(
                sms if isinstance(sms, SmsAdapter) else None,
                StatusBook(self.redis),
                settings.delivery_reconcile_seconds,
            ),
        )
        self._slots = asyncio.Semaphore(settings.delivery_concurrency)
        self._degraded = False

    def install(self) -> None:
        decisions = self.app.topic(DECISIONS.name, key_type=bytes, value_type=bytes)
        self.app.agent(decisions, name="deliveries")(self._deliver_stream)
        self.app.timer(SCHEDULE_TICK_S, name="scheduled_sends")(self._scheduled)

    async def _deliver_stream(self, stream: faust.StreamT[bytes]) -> None:
        await wait_read(self.ready, "deliveries")
        batches = cast(faust.Stream[bytes], stream).take_events(
            self.settings.decision_batch_size, within=self.settings.decision_batch_ms / 1000
        )
        async for events in batches:
            decisions = await self._read(events)
            due: list[OfferDecision] = []
            later: list[OfferDecision] = []
            for decision in decisions:
                now_due = await self._retrying(partial(self.clock.due, decision))
                (due if now_due else later).append(decision)
            if later:
                await self._retrying(partial(self.schedule.add, later))
            await asyncio.gather(*(self._deliver(d) for d in due))

    async def _read(self, events: Sequence[faust.EventT[bytes]]) -> list[OfferDecision]:
        """The decisions to send; an unreadable record is dead-lettered."""
        found: list[OfferDecision] = []
        for event in events:
            message = event.message
            try:
                decision = decode(
                    message.value or b"", expected=OfferDecision, clock=self.validation
                )
            except ContractError as exc:
                await send_dead_letter(self.dead_letters, message, exc, "delivery", self.metrics)
                continue
            assert isinstance(decision, OfferDecision)
            if decision.outcome is DecisionOutcome.SEND:
                found.append(decision)
        return found

    async def _scheduled(self) -> None:
        """Send the scheduled messages whose time has come."""
        if not all_read(self.ready):
            return
        try:
            now = await asyncio.to_thread(self.clock.now)
            if now is None:
                return
            due = await asyncio.to_thread(self.schedule.due, int(now.timestamp() * 1000))
            self.metrics.scheduled.set(await asyncio.to_thread(self.schedule.waiting))
        except (RedisError, OSError) as exc:
            log.warning("scheduled sends: Redis unreachable, trying again later: %s", exc)
            return
        done = await asyncio.gather(*(self._deliver_scheduled(raw) for raw in due))
        await self._retrying(lambda: self.schedule.remove(raw for raw in done if raw))

    async def _deliver_scheduled(self, raw: bytes) -> bytes | None:
        try:
            decision = decode(raw, expected=OfferDecision, clock=self.validation)
        except ContractError:
            log.error("scheduled sends: dropping an unreadable record")
            return raw
        assert isinstance(decision, OfferDecision)
        delivery = await self._deliver(decision)
        return raw if delivery.state is not SendState.SENDING else None

    async def _deliver(self, decision: OfferDecision) -> Delivery:
        """The decision delivered, waiting out another worker's attempt in progress and
        Redis outages."""
        async with self._slots:
            try:
                delivery = await self._until_done(decision)
            except Exception as exc:  # a defect: say so, keep the agent going
                log.exception("%s: delivery failed", decision.decision_id)
                await self.outbox.dead_letter(decision, f"delivery failed: {exc!r}")
                delivery = Delivery(decision.decision_id, SendState.FAILED, code="defect")
        channel = decision.channel.value if decision.channel else ""
        self.metrics.deliveries.labels(channel, delivery.state.value, delivery.code).inc()
        return delivery

    async def _until_done(self, decision: OfferDecision) -> Delivery:
        while True:
            delivery = await self._retrying_async(partial(self.sender.deliver, decision))
            if delivery.state is not SendState.SENDING:
                return delivery
            wait_s = delivery.retry_at_ms / 1000 - datetime.now(UTC).timestamp()
            await asyncio.sleep(min(max(wait_s, 0.1), MAX_BUSY_WAIT_S))

    async def _retrying(self, work: Callable[[], T]) -> T:
        """``work`` in a thread, retried while Redis is unreachable."""
        return await self._retrying_async(lambda: asyncio.to_thread(work))

    async def _retrying_async(self, work: Callable[[], Awaitable[T]]) -> T:
        delay = 0.1
        while True:
            try:
                result = await work()
            except (RedisError, OSError) as exc:
                if not self._degraded:
                    log.warning("deliveries paused: Redis unreachable (%s); retrying", exc)
                    self._degraded = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            if self._degraded:
                log.warning("deliveries resumed: Redis is back")
                self._degraded = False
            return result
