"""Channel adapters: one per channel, each with one method, ``send(message)``.

An adapter makes exactly one request to its provider and turns whatever comes back
into a :class:`~streams.delivery.results.SendResult`; it never retries, waits or
decides (that is :mod:`streams.delivery.policy`, applied by its caller). It sends
nothing once the message's ``valid_until`` has passed.

- SMS: Twilio's Messages API through the official ``twilio`` client, which blocks, so
  :meth:`SmsAdapter.send` runs it in a worker thread. The sender is ``From`` (a number,
  short code or alphanumeric ID) or ``MessagingServiceSid``; what is left of the
  message's validity goes as ``ValidityPeriod``, so that Twilio drops a message still
  queued when the recipient's quiet hours begin or the offer expires.
- WhatsApp: the Cloud API's ``POST /{version}/{phone_number_id}/messages``, a text
  message. The link preview is off, so that no preview fetcher opens the redemption
  link. WhatsApp accepts free text only within 24 hours of the customer's last message
  (later: error 131047); offers outside that window need approved templates.
- Messenger: the Send API's ``POST /{version}/me/messages`` with messaging type
  ``UPDATE``. Message tags (``CONFIRMED_EVENT_UPDATE`` and the others) are for
  non-promotional updates and may not carry offers; an ``UPDATE`` with promotional
  content is allowed within the 24-hour standard messaging window, and the Send API
  refuses it after (a permanent failure).

Push notifications have no adapter here.

No failure an adapter returns names the recipient's number: providers quote it in their
error messages (Twilio's 21211, the Cloud API's 131026 details), and failures go on to
the ledger, the logs and the dead-letter topic, where customers appear by pseudonymous
id only. A call the outbound policy refuses (:mod:`offers.outbound`) fails permanently
with the code ``outbound_refused``: nothing was sent.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import requests
from pydantic import SecretStr
from twilio.base.exceptions import TwilioRestException

from offers.contracts import Channel
from offers.errors import OffersError, OutboundUrlRefused
from offers.settings import Settings
from streams.delivery.messages import OutboundMessage
from streams.delivery.policy import remaining_validity, retry_after_seconds
from streams.delivery.providers import GraphAccount, TwilioAccount, vet_base
from streams.delivery.redemption import REDEMPTION_PATH
from streams.delivery.results import (
    FailureKind,
    SendFailure,
    SendResult,
    bad_answer,
    expired_failure,
    graph_failure,
    transport_failure,
    twilio_failure,
)

Clock = Callable[[], datetime]
"""The current time (aware, UTC)."""

RECIPIENT = "<recipient>"
"""What stands in a provider's message for the recipient's number."""
_DIGIT_RUN = re.compile(r"\+?\d{6,}")


class LookupFailed(OffersError):
    """Twilio could not be asked for a message; the message says why, without the
    recipient's number that the request named."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class ChannelAdapter(Protocol):
    """What the sender needs of an adapter."""

    @property
    def channel(self) -> Channel: ...

    async def send(self, message: OutboundMessage) -> SendResult: ...


class SmsAdapter:
    """SMS through Twilio's Messages API."""

    def __init__(self, account: TwilioAccount, *, timeout_s: float, clock: Clock = utc_now):
        self._account = account
        self._http = account.http_client(timeout_s)
        self._client = account.rest_client(self._http)
        self._clock = clock

    @property
    def channel(self) -> Channel:
        return Channel.SMS

    async def send(self, message: OutboundMessage) -> SendResult:
        """Sends ``message`` from a worker thread (the ``twilio`` client blocks)."""
        return await asyncio.to_thread(self.send_blocking, message)

    def send_blocking(self, message: OutboundMessage) -> SendResult:
        """Sends ``message`` from the calling thread."""
        _check_channel(message, Channel.SMS)
        validity = remaining_validity(message.valid_until, self._clock())
        if validity is None:
            return _failed(message, expired_failure(message.valid_until))
        try:
            created = self._client.messages.create(**self._parameters(message, validity))
        except TwilioRestException as error:
            header = self._http.last_headers().get("Retry-After")
            retry_after = retry_after_seconds(header, self._clock())
            return _failed(
                message, twilio_failure(error.status, error.code, error.msg, retry_after)
            )
        except requests.Timeout as error:
            return _failed(message, transport_failure("timeout", f"Twilio: {error}"))
        except requests.ConnectionError as error:
            return _failed(message, transport_failure("connection", f"Twilio: {error}"))
        except OutboundUrlRefused as error:
            return _failed(message, _refused(error))
        sid = getattr(created, "sid", None)
        if not isinstance(sid, str) or not sid:
            return _failed(message, bad_answer(201, "Twilio answered without a message SID"))
        return SendResult(message.decision_id, message.channel, provider_message_id=sid)

    def find_sent_blocking(self, decision_id: str, address: str, since: datetime) -> str | None:
        """The SID of a message to ``address`` created since ``since`` whose body carries
        the redemption link of ``decision_id``, if Twilio has one: whether an attempt
        whose answer was lost reached Twilio. Raises what the client raises.

        Twilio lists newest first; its date filter is on the date *sent*, which a message
        still queued has not, so the list is read by recipient only, up to the messages
        created a day before ``since``. What fails is raised as :class:`LookupFailed`
        (the client's errors quote the request, with the number)."""
        try:
            return self._find_sent(decision_id, address, since)
        except (TwilioRestException, requests.RequestException, OffersError) as error:
            raise LookupFailed(
                f"Twilio: {type(error).__name__}: {without_address(str(error), address)}"
            ) from None

    def _find_sent(self, decision_id: str, address: str, since: datetime) -> str | None:
        marker = f"{REDEMPTION_PATH}{decision_id}."
        oldest = since - timedelta(days=1)
        for sent in self._client.messages.stream(to=address, page_size=100):
            created = getattr(sent, "date_created", None)
            if isinstance(created, datetime) and created < oldest:
                return None
            if marker in (getattr(sent, "body", None) or ""):
                sid = getattr(sent, "sid", None)
                return sid if isinstance(sid, str) else None
        return None

    def close(self) -> None:
        """Closes the connections kept open to the provider."""
        if self._http.session is not None:
            self._http.session.close()

    def _parameters(self, message: OutboundMessage, validity_s: int) -> dict[str, Any]:
        sender = self._account.sender
        parameters: dict[str, Any] = {
            "to": message.address,
            "body": message.body,
            "validity_period": validity_s,
        }
        if self._account.sender_is_service:
            parameters["messaging_service_sid"] = sender
        else:
            parameters["from_"] = sender
        if message.status_callback is not None:
            parameters["status_callback"] = message.status_callback
        return parameters


class _GraphAdapter:
    """One send to a Graph API endpoint, with a bearer token, over a shared client."""

    def __init__(
        self, http: httpx.AsyncClient, url: str, token: SecretStr, channel: Channel, clock: Clock
    ) -> None:
        self._http = http
        self._url = url
        self._token = token
        self._channel = channel
        self._clock = clock

    @property
    def channel(self) -> Channel:
        return self._channel

    async def _post(
        self, message: OutboundMessage, payload: dict[str, Any], message_id: Callable[[Any], Any]
    ) -> SendResult:
        _check_channel(message, self._channel)
        if remaining_validity(message.valid_until, self._clock()) is None:
            return _failed(message, expired_failure(message.valid_until))
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        try:
            response = await self._http.post(self._url, json=payload, headers=headers)
        except httpx.TimeoutException as error:
            return _failed(message, transport_failure("timeout", f"Graph API: {error!r}"))
        except httpx.TransportError as error:
            return _failed(message, transport_failure("connection", f"Graph API: {error!r}"))
        except OutboundUrlRefused as error:
            return _failed(message, _refused(error))
        body = _json(response)
        if response.is_success:
            sent_id = message_id(body)
            if isinstance(sent_id, str) and sent_id:
                return SendResult(message.decision_id, self._channel, provider_message_id=sent_id)
            return _failed(message, bad_answer(response.status_code, "no message id in the answer"))
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), self._clock())
        return _failed(message, graph_failure(response.status_code, body, retry_after))


class WhatsAppAdapter(_GraphAdapter):
    """WhatsApp text messages through the Cloud API."""

    def __init__(self, account: GraphAccount, http: httpx.AsyncClient, *, clock: Clock = utc_now):
        super().__init__(
            http, account.whatsapp_url, account.whatsapp_token, Channel.WHATSAPP, clock
        )

    async def send(self, message: OutboundMessage) -> SendResult:
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.address,
            "type": "text",
            "text": {"preview_url": False, "body": message.body},
        }
        if message.callback_data is not None:
            payload["biz_opaque_callback_data"] = message.callback_data
        return await self._post(message, payload, _whatsapp_message_id)


class MessengerAdapter(_GraphAdapter):
    """Messenger messages through the Send API, as the page."""

    def __init__(self, account: GraphAccount, http: httpx.AsyncClient, *, clock: Clock = utc_now):
        super().__init__(
            http, account.messenger_url, account.messenger_token, Channel.MESSENGER, clock
        )

    async def send(self, message: OutboundMessage) -> SendResult:
        payload = {
            "recipient": {"id": message.address},
            "messaging_type": "UPDATE",
            "message": {"text": message.body},
        }
        return await self._post(message, payload, _messenger_message_id)


def channel_adapters(
    settings: Settings, http: httpx.AsyncClient, *, clock: Clock = utc_now
) -> dict[Channel, ChannelAdapter]:
    """An adapter for each channel with a provider, configured from ``settings``.

    ``http`` (see :func:`streams.delivery.providers.graph_http_client`) carries the Graph
    API requests and belongs to the caller, who closes it. Both APIs' bases are checked
    against the outbound policy here (:func:`~streams.delivery.providers.vet_base`).
    """
    graph = GraphAccount.from_settings(settings)
    vet_base(graph.policy, graph.api_base)
    return {
        Channel.SMS: SmsAdapter(
            TwilioAccount.from_settings(settings),
            timeout_s=settings.send_timeout_seconds,
            clock=clock,
        ),
        Channel.WHATSAPP: WhatsAppAdapter(graph, http, clock=clock),
        Channel.MESSENGER: MessengerAdapter(graph, http, clock=clock),
    }


def _whatsapp_message_id(body: Any) -> Any:
    messages = body.get("messages") if isinstance(body, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    return first.get("id") if isinstance(first, dict) else None


def _messenger_message_id(body: Any) -> Any:
    return body.get("message_id") if isinstance(body, dict) else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _check_channel(message: OutboundMessage, channel: Channel) -> None:
    if message.channel is not channel:
        raise ValueError(f"a {message.channel.value} message given to the {channel.value} adapter")


def without_address(text: str, address: str) -> str:
    """``text`` with the recipient's ``address`` replaced by :data:`RECIPIENT`: as given,
    and as any run of six digits or more (with or without ``+``) that is part of its
    digits or holds them, such as the number without its ``+`` or its national digits
    alone."""
    if address:
        text = text.replace(address, RECIPIENT)
    digits = re.sub(r"\D", "", address)
    if len(digits) < 6:
        return text

    def shown(run: re.Match[str]) -> str:
        found = run.group().lstrip("+")
        return RECIPIENT if found in digits or digits in found else run.group()

    return _DIGIT_RUN.sub(shown, text)


def _refused(error: OutboundUrlRefused) -> SendFailure:
    return SendFailure(FailureKind.PERMANENT, "outbound_refused", str(error))


def _failed(message: OutboundMessage, failure: SendFailure) -> SendResult:
    """The failed result of ``message``, its failure's text without the recipient's
    number."""
    shown = replace(failure, message=without_address(failure.message, message.address))
    return SendResult(message.decision_id, message.channel, failure=shown)
