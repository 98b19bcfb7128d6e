"""Webhooks the sandbox sends, and the timed progress of each message that triggers them.

* Twilio status callbacks and inbound SMS: form-encoded, signed with ``X-Twilio-Signature``
  computed by the official :class:`twilio.request_validator.RequestValidator` over the
  exact URL and the form fields.
* WhatsApp status notifications: JSON, signed with ``X-Hub-Signature-256``
  (``sha256=`` and the hex HMAC-SHA256 of the raw body under the app secret), plus the
  legacy SHA-1 ``X-Hub-Signature`` Meta still sends.

Each webhook is tried up to ``callback_attempts`` times, waiting ``callback_retry_delay_s``
and then twice as long each time, on a connection error, a timeout or a non-2xx answer;
every try is recorded, the last failure included.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import ssl
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from simulators.sandbox.config import SandboxConfig
from simulators.sandbox.store import MessageStore, StatusChange, WebhookAttempt

TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
META_SIGNATURE_HEADER = "X-Hub-Signature-256"
META_LEGACY_SIGNATURE_HEADER = "X-Hub-Signature"
TWILIO_USER_AGENT = "TwilioProxy/1.1"
META_USER_AGENT = "facebookexternalua"


def now() -> datetime:
    return datetime.now(UTC)


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The ``X-Twilio-Signature`` Twilio sends with a form webhook to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def twilio_form(
    auth_token: str, url: str, params: Mapping[str, str], idempotency_key: str
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a Twilio form webhook. ``I-Twilio-Idempotency-Token`` stays the
    same across the retries of one event, as Twilio's does."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": TWILIO_USER_AGENT,
        TWILIO_SIGNATURE_HEADER: twilio_signature(auth_token, url, params),
        "I-Twilio-Idempotency-Token": hashlib.sha256(idempotency_key.encode()).hexdigest()[:32],
    }
    return urlencode(params).encode("utf-8"), headers


def meta_signature(app_secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256``: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def meta_json(app_secret: str, payload: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a Meta webhook."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    legacy = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha1).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": META_USER_AGENT,
        META_SIGNATURE_HEADER: meta_signature(app_secret, body),
        META_LEGACY_SIGNATURE_HEADER: "sha1=" + legacy,
    }
    return body, headers


MAX_ANSWER_BYTES = 64 * 1024
"""Longest webhook answer the sandbox reads: more than any TwiML reply needs."""


@dataclass(frozen=True)
class WebhookAnswer:
    """What a webhook receiver answered: its content type and body."""

    content_type: str
    body: bytes


class Background:
    """Tasks the sandbox runs after answering (deliveries); cancelled on shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class WebhookPoster:
    """Posts webhooks with retries and records each try on the message (or reply)."""

    def __init__(self, store: MessageStore, config: Callable[[], SandboxConfig]) -> None:
        self._store = store
        self._config = config
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def _tls_context(self) -> ssl.SSLContext:
        """One TLS context for every client: making one per webhook costs more than the
        request itself."""
        with self._lock:
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            return self._tls

    async def post(
        self, record_id: str, url: str, event: str, body: bytes, headers: Mapping[str, str]
    ) -> WebhookAttempt:
        """The last try: the first that succeeded, or the last that failed."""
        attempt, _ = await self.exchange(record_id, url, event, body, headers)
        return attempt

    async def exchange(
        self, record_id: str, url: str, event: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[WebhookAttempt, WebhookAnswer | None]:
        """Like :meth:`post`, with the receiver's answer to the try that succeeded (at most
        :data:`MAX_ANSWER_BYTES` of it), as Twilio reads TwiML from an inbound webhook's
        answer; ``None`` when every try failed."""
        config = self._config()
        delay = config.callback_retry_delay_s
        attempt: WebhookAttempt | None = None
        tls = self._tls_context()
        async with httpx.AsyncClient(timeout=config.callback_timeout_s, verify=tls) as client:
            for number in range(1, config.callback_attempts + 1):
                if number > 1:
                    await asyncio.sleep(delay)
                    delay *= 2
                answer: WebhookAnswer | None = None
                try:
                    response = await client.post(url, content=body, headers=dict(headers))
                    attempt = WebhookAttempt(url, event, number, now(), response.status_code)
                    content_type = response.headers.get("content-type", "")
                    answer = WebhookAnswer(content_type, response.content[:MAX_ANSWER_BYTES])
                except httpx.HTTPError as error:
                    reason = f"{type(error).__name__}: {error}".rstrip(": ")
                    attempt = WebhookAttempt(url, event, number, now(), None, reason)
                self._store.add_webhook(record_id, attempt)
                if attempt.ok:
                    return attempt, answer
        assert attempt is not None  # callback_attempts >= 1
        return attempt, None


@dataclass(frozen=True)
class Step:
    """A status a message will reach ``after_s`` seconds after the previous step."""

    after_s: float
    status: str
    error_code: int | None = None


Notify = Callable[[StatusChange], Awaitable[None]]


async def play(
    store: MessageStore,
    message_id: str,
    generation: int,
    steps: Sequence[Step],
    notify: Notify | None,
) -> None:
    """Moves the message through ``steps``, announcing each with ``notify``; stops when
    the sandbox is reset meanwhile."""
    for step in steps:
        await asyncio.sleep(step.after_s)
        change = StatusChange(step.status, now(), step.error_code)
        if not store.set_status(message_id, change, generation=generation):
            return
        if notify is not None:
            await notify(change)
