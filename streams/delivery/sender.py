"""Sending one decision's message, once, whatever fails around it.

:meth:`Sender.deliver` takes a decision whose outcome is ``send`` and:

1. claims it in the send ledger (:mod:`streams.delivery.ledger`); a decision sent,
   failed or skipped before (a replay, a rebalance, a retry of the batch) is not sent
   again, only its status is published again (idempotent); one whose last attempt is in
   doubt (its worker died mid-send) is looked up at the provider first
   (:mod:`streams.delivery.reconcile`);
2. checks, at send time, what may have changed since the decision: consent for the
   channel (a STOP reply a moment ago counts), the customer's number, an address the
   provider refused before;
3. renders the message (:mod:`streams.delivery.messages`), keeps the offer in the offer
   book so that its redemption link works when it lands, and sends it: at the
   provider's rate (token bucket), retrying transient failures with capped, jittered
   backoff while the message is still valid, each attempt recorded in the ledger before
   the request;
4. records the outcome: the ledger entry, the status (``queued`` with the provider's
   message id, or ``failed`` with a code) in the status book and on
   ``offers.delivery-status``; a permanent failure also goes to the dead-letter topic
   and, when it says so, updates the customer's reachability (an opt-out at the
   provider withdraws consent for the channel; an invalid address is not tried again).

Codes of messages not sent (``error_code`` of their ``failed`` status): the provider's
code, or ``consent_withdrawn``, ``no_contact``, ``unreachable``, ``unknown_campaign``,
``not_renderable``, ``validity_expired``, ``attempts_exhausted``, ``in_doubt``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from redis import Redis

from offers.campaigns import Campaign, RenderError
from offers.contacts import Contact, ContactStore
from offers.contracts import (
    Channel,
    ConsentScope,
    DeliveryState,
    DeliveryStatus,
    Language,
    OfferDecision,
)
from offers.contracts.events import consent_key
from offers.delivery_status import Advance, StatusBook
from offers.offer_book import DEFAULT_RETENTION_AFTER_EXPIRY, OfferBook, StoredOffer
from offers.redis_values import redis_text
from offers.settings import Settings
from streams.decisions.clock import wall_clock
from streams.delivery.adapters import ChannelAdapter
from streams.delivery.clock import SendClock, SendMoment
from streams.delivery.ledger import Claim, ClaimKind, SendLedger, SendState
from streams.delivery.messages import MessageError, OutboundMessage, Recipient, outbound_message
from streams.delivery.personalisation import personalisation
from streams.delivery.policy import NoValidity, SendRateLimiter, retry_delay, validity_period
from streams.delivery.providers import PROVIDER_OF
from streams.delivery.reconcile import Reconciler
from streams.delivery.results import Reachability, SendFailure, SendResult
from streams.features.windows import from_ms, to_ms

log = logging.getLogger(__name__)

UNREACHABLE_KEY = "offers:delivery:unreachable:{customer_id}:{channel}"
DEADLINE_MARGIN = timedelta(seconds=2)
"""Added to a request's timeout for the deadline of its attempt in the ledger."""
AMBIGUOUS = frozenset({"timeout", "connection"})
"""Failures after which the provider may have the message all the same."""
ATTEMPT_TIMEOUT_FACTOR = 3
"""A request waits up to the timeout to connect, then to each read: its deadline allows
for several of them."""


class Outbox(Protocol):
    """Where the sender puts what other parts of the engine must hear about."""

    async def status(self, event: DeliveryStatus) -> None: ...

    async def dead_letter(self, decision: OfferDecision, reason: str) -> None: ...

    async def withdraw_consent(self, customer_id: str, scope: ConsentScope) -> None: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one decision: ``state`` is ``sending`` when another worker's attempt
    is under way (try again after ``retry_at_ms``)."""

    decision_id: str
    state: SendState
    message_id: str = ""
    code: str = ""
    retry_at_ms: int = 0


@dataclass(frozen=True, slots=True)
class SendContext:
    """What the sender reads at send time, held by the worker (followed from topics)."""

    consent: Mapping[str, bool]
    campaigns: Callable[[str], Campaign | None]
    sailings: Mapping[str, Mapping[str, Any]]


class Sender:
    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        ledger: SendLedger,
        adapters: Mapping[Channel, ChannelAdapter],
        context: SendContext,
        outbox: Outbox,
        *,
        clock: SendClock,
        limiter: SendRateLimiter,
        reconciler: Reconciler,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._redis = redis
        self.ledger = ledger
        self.adapters = adapters
        self.context = context
        self.outbox = outbox
        self.clock = clock
        self.limiter = limiter
        self.reconciler = reconciler
        self.contacts = ContactStore(redis, settings.secret_key.get_secret_value())
        self.offers = OfferBook(redis)
        self.statuses = StatusBook(redis)
        self._rng = rng or random.Random()

    async def deliver(self, decision: OfferDecision) -> Delivery:
        """Send ``decision``'s message unless it was sent, failed or skipped before."""
        moment = self.clock.moment(decision)
        claim = await asyncio.to_thread(self.ledger.claim, decision.decision_id, to_ms(moment.wall))
        if claim.kind is ClaimKind.DONE:
            return await self._published_again(decision, claim)
        if claim.kind is ClaimKind.BUSY:
            return Delivery(decision.decision_id, SendState.SENDING, retry_at_ms=claim.deadline_ms)
        if claim.kind is ClaimKind.IN_DOUBT:
            found = await self._reconcile(decision, claim)
            if found is not None:
                return found
        return await self._send_checked(decision, moment)

    # before sending -------------------------------------------------------------------

    async def _reconcile(self, decision: OfferDecision, claim: Claim) -> Delivery | None:
        contact = await asyncio.to_thread(self.contacts.contact, decision.customer_id)
        channel = decision.channel
        assert channel is not None
        since = from_ms(claim.claimed_ms)
        address = contact.phone if contact is not None else ""
        answer = await self.reconciler.find(decision, channel, address, since)
        if answer.message_id is not None:
            log.info("%s: an attempt in doubt reached the provider", decision.decision_id)
            return await self._sent(decision, answer.message_id)
        if answer.knowable:
            return None
        return await self._not_sent(decision, SendState.FAILED, "in_doubt", answer.reason)

    async def _send_checked(self, decision: OfferDecision, moment: SendMoment) -> Delivery:
        channel = decision.channel
        assert channel is not None and decision.campaign_id is not None
        scope = ConsentScope(channel.value)
        if not self.context.consent.get(consent_key(decision.customer_id, scope), False):
            return await self._not_sent(decision, SendState.SKIPPED, "consent_withdrawn")
        contact = await asyncio.to_thread(self.contacts.contact, decision.customer_id)
        if contact is None:
            return await self._not_sent(decision, SendState.SKIPPED, "no_contact")
        if await asyncio.to_thread(self._unreachable, contact, channel):
            return await self._not_sent(decision, SendState.SKIPPED, "unreachable")
        campaign = self.context.campaigns(decision.campaign_id)
        if campaign is None:
            return await self._not_sent(decision, SendState.FAILED, "unknown_campaign")
        validity = validity_period(
            moment.engine,
            self.settings.default_time_zone,
            decision.expires_at or moment.engine,
            quiet_start_hour=self.settings.quiet_hours_start,
            quiet_end_hour=self.settings.quiet_hours_end,
        )
        if isinstance(validity, NoValidity):
            return await self._not_sent(
                decision, SendState.FAILED, "validity_expired", validity.reason
            )
        try:
            message, offer = self._message(decision, campaign, contact, moment, validity.until)
        except (MessageError, RenderError) as exc:
            return await self._not_sent(decision, SendState.FAILED, "not_renderable", str(exc))
        keep_until = moment.to_wall(offer.expires_at) + DEFAULT_RETENTION_AFTER_EXPIRY
        await asyncio.to_thread(self.offers.add, offer, keep_until=keep_until)
        return await self._attempts(decision, message, contact)

    def _message(
        self,
        decision: OfferDecision,
        campaign: Campaign,
        contact: Contact,
        moment: SendMoment,
        valid_until: datetime,
    ) -> tuple[OutboundMessage, StoredOffer]:
        language = contact.language or _campaign_language(campaign)
        sailing = self.context.sailings.get(decision.sailing_id) if decision.sailing_id else None
        values = personalisation(
            decision, campaign, contact, language, sailing=sailing,
            zone=self.settings.default_time_zone,
        )  # fmt: skip
        recipient = Recipient(contact.phone, language, values)
        message = outbound_message(
            decision,
            campaign,
            recipient,
            valid_until=moment.to_wall(valid_until),
            settings=self.settings,
        )
        fare = (sailing or {}).get("fare_eur")
        assert decision.channel is not None and decision.expires_at is not None
        offer = StoredOffer(
            decision_id=decision.decision_id,
            customer_id=decision.customer_id,
            campaign_id=campaign.id,
            channel=decision.channel,
            language=language,
            message=message.body,
            offer=campaign.offer.model_dump(mode="json"),
            discount_eur=campaign.offer.discount_eur(float(fare)) if fare else 0.0,
            route_id=decision.route_id,
            sailing_id=decision.sailing_id,
            issued_at=moment.engine,
            expires_at=decision.expires_at,
        )
        return message, offer

    # sending --------------------------------------------------------------------------

    async def _attempts(
        self, decision: OfferDecision, message: OutboundMessage, contact: Contact
    ) -> Delivery:
        adapter = self.adapters[message.channel]
        provider = PROVIDER_OF[message.channel]
        attempts = self.settings.send_max_attempts
        timeout = timedelta(seconds=self.settings.send_timeout_seconds * ATTEMPT_TIMEOUT_FACTOR)
        last: SendFailure | None = None
        started = wall_clock()
        for attempt in range(1, attempts + 1):
            await self.limiter.acquire(provider)
            deadline = to_ms(wall_clock() + timeout + DEADLINE_MARGIN)
            began = await asyncio.to_thread(self.ledger.begin, decision.decision_id, deadline)
            if not began:  # another worker took it over (or finished it): it decides
                return Delivery(decision.decision_id, SendState.SENDING, retry_at_ms=deadline)
            result = await adapter.send(message)
            if result.provider_message_id is not None:
                return await self._sent(decision, result.provider_message_id)
            failure = _failure_of(result)
            if not failure.transient:
                return await self._failed(decision, contact, failure)
            last = failure
            delay = retry_delay(failure, attempt, attempts, rng=self._rng)
            if delay is None:
                break
            log.info(
                "%s: %s failed (%s), trying again in %.1f s",
                decision.decision_id, message.channel.value, failure.code, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)
            if failure.code in AMBIGUOUS:
                answer = await self.reconciler.find(
                    decision, message.channel, message.address, started
                )
                if answer.message_id is not None:
                    return await self._sent(decision, answer.message_id)
                if not answer.knowable:
                    return await self._not_sent(
                        decision, SendState.FAILED, "in_doubt", answer.reason
                    )
        detail = f"{attempts} attempts, the last: {last.code} {last.message}" if last else ""
        return await self._not_sent(decision, SendState.FAILED, "attempts_exhausted", detail)

    # outcomes -------------------------------------------------------------------------

    async def _sent(self, decision: OfferDecision, message_id: str) -> Delivery:
        await asyncio.to_thread(
            self.ledger.finish, decision.decision_id, SendState.SENT, message_id=message_id
        )
        await self._status(decision, DeliveryState.QUEUED, message_id=message_id)
        return Delivery(decision.decision_id, SendState.SENT, message_id=message_id)

    async def _failed(
        self, decision: OfferDecision, contact: Contact, failure: SendFailure
    ) -> Delivery:
        assert decision.channel is not None
        if failure.reachability is Reachability.OPTED_OUT:
            await self.outbox.withdraw_consent(
                decision.customer_id, ConsentScope(decision.channel.value)
            )
        elif failure.reachability is Reachability.INVALID_ADDRESS:
            await asyncio.to_thread(self._mark_unreachable, contact, decision.channel)
        reason = f"{failure.code}: {failure.message}"
        return await self._not_sent(decision, SendState.FAILED, failure.code, reason)

    async def _not_sent(
        self, decision: OfferDecision, state: SendState, code: str, detail: str = ""
    ) -> Delivery:
        kept = await asyncio.to_thread(
            self.ledger.finish, decision.decision_id, state, reason=f"{code}|{detail}"
        )
        if kept is SendState.SENT:  # another worker's attempt went through meanwhile
            entry = await asyncio.to_thread(self.ledger.entry, decision.decision_id)
            return await self._sent(decision, entry.get("message_id", ""))
        await self._status(decision, DeliveryState.FAILED, error_code=code)
        if state is SendState.FAILED:
            await self.outbox.dead_letter(decision, f"not sent: {code} {detail}".strip())
        return Delivery(decision.decision_id, state, code=code)

    async def _published_again(self, decision: OfferDecision, claim: Claim) -> Delivery:
        """A decision done before: its status again (the first publication may have been
        lost with the worker that made it; readers deduplicate)."""
        if claim.state is SendState.SENT:
            await self._status(decision, DeliveryState.QUEUED, message_id=claim.detail)
            return Delivery(decision.decision_id, SendState.SENT, message_id=claim.detail)
        code = claim.detail.split("|", 1)[0]
        await self._status(decision, DeliveryState.FAILED, error_code=code)
        return Delivery(decision.decision_id, claim.state, code=code)

    async def _status(
        self,
        decision: OfferDecision,
        status: DeliveryState,
        *,
        message_id: str | None = None,
        error_code: str | None = None,
    ) -> None:
        assert decision.channel is not None
        at = wall_clock()
        advance = await asyncio.to_thread(
            self.statuses.advance,
            decision.decision_id,
            decision.customer_id,
            decision.channel,
            status,
            message_id=message_id,
            error_code=error_code,
            at=at,
        )
        if advance is Advance.STALE:  # the provider reported further already
            return
        event = DeliveryStatus(
            event_id=status_event_id(decision.decision_id, status, message_id),
            event_time=at,
            decision_id=decision.decision_id,
            customer_id=decision.customer_id,
            channel=decision.channel,
            status=status,
            provider_message_id=message_id,
            error_code=error_code,
        )
        await self.outbox.status(event)

    # reachability ---------------------------------------------------------------------

    def _unreachable_key(self, contact: Contact, channel: Channel) -> str:
        return UNREACHABLE_KEY.format(customer_id=contact.customer_id, channel=channel.value)

    def _unreachable(self, contact: Contact, channel: Channel) -> bool:
        """Whether the provider refused this very address on the channel before."""
        marked = self._redis.get(self._unreachable_key(contact, channel))
        return marked is not None and redis_text(marked) == self.contacts.digest(contact.phone)

    def _mark_unreachable(self, contact: Contact, channel: Channel) -> None:
        """Remember that the channel's provider refused the customer's address (a new
        number clears it); kept as long as the ledger's entries."""
        key = self._unreachable_key(contact, channel)
        self._redis.set(key, self.contacts.digest(contact.phone), ex=timedelta(days=30))


def status_event_id(decision_id: str, status: DeliveryState, message_id: str | None) -> str:
    """The same id for the same status of the same message, within the identifier's
    alphabet and length (a WhatsApp message id is base64, with ``+``, ``/`` and ``=``)."""
    digest = hashlib.sha256(f"{decision_id}/{status.value}/{message_id or ''}".encode())
    return f"ds-{status.value}-{digest.hexdigest()[:40]}"


def _failure_of(result: SendResult) -> SendFailure:
    assert result.failure is not None
    return result.failure


def _campaign_language(campaign: Campaign) -> Language:
    languages = [template.language for template in campaign.templates]
    return languages[0] if languages else Language.IT
