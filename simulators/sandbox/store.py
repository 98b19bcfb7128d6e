"""What the sandbox remembers: accepted messages with every status they went through and
every webhook delivery, inbound replies, and the STOP list.

All access goes through a lock: the server's event loop writes while tests read from
their own thread. Readers get copies, never the live records.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _iso(at: datetime) -> str:
    return at.isoformat()


@dataclass(frozen=True)
class StatusChange:
    """One status a message reached, when, and the provider's error code if it failed."""

    status: str
    at: datetime
    error_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "at": _iso(self.at), "error_code": self.error_code}


@dataclass(frozen=True)
class WebhookAttempt:
    """One try at posting a webhook: what it reported, and how the receiver answered
    (``http_status``) or why it could not (``error``)."""

    url: str
    event: str
    attempt: int
    at: datetime
    http_status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "event": self.event,
            "attempt": self.attempt,
            "at": _iso(self.at),
            "http_status": self.http_status,
            "error": self.error,
            "ok": self.ok,
        }


@dataclass
class MessageRecord:
    """An accepted outbound message."""

    provider: str
    """``twilio`` or ``meta``."""
    channel: str
    """``sms``, ``whatsapp`` or ``messenger``."""
    id: str
    """Twilio's ``SM…`` SID, WhatsApp's ``wamid.…`` or Messenger's ``m_…``."""
    to: str
    sender: str | None
    body: str
    accepted_at: datetime
    validity_period_s: int | None = None
    status_callback: str | None = None
    messaging_service_sid: str | None = None
    num_segments: int = 1
    direction: str = "outbound-api"
    """Twilio's ``direction``: ``outbound-api``, or ``outbound-reply`` for TwiML replies."""
    biz_opaque_callback_data: str | None = None
    """What a WhatsApp sender asked to see again in the message's status webhooks."""
    statuses: list[StatusChange] = field(default_factory=list)
    webhooks: list[WebhookAttempt] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.statuses[-1].status

    @property
    def updated_at(self) -> datetime:
        return self.statuses[-1].at

    @property
    def error_code(self) -> int | None:
        return self.statuses[-1].error_code

    def reached(self, status: str) -> StatusChange | None:
        """When the message first reached ``status``, if it did."""
        return next((change for change in self.statuses if change.status == status), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "channel": self.channel,
            "id": self.id,
            "to": self.to,
            "from": self.sender,
            "body": self.body,
            "accepted_at": _iso(self.accepted_at),
            "validity_period_s": self.validity_period_s,
            "status_callback": self.status_callback,
            "messaging_service_sid": self.messaging_service_sid,
            "num_segments": self.num_segments,
            "direction": self.direction,
            "biz_opaque_callback_data": self.biz_opaque_callback_data,
            "status": self.status,
            "error_code": self.error_code,
            "statuses": [change.to_json() for change in self.statuses],
            "webhooks": [attempt.to_json() for attempt in self.webhooks],
        }


@dataclass
class InboundRecord:
    """A reply the sandbox posted to the inbound webhook, as Twilio would."""

    sid: str
    sender: str
    to: str
    body: str
    at: datetime
    keyword: str | None
    """``opt_out`` or ``opt_in`` when the body is one of Twilio's keywords."""
    webhooks: list[WebhookAttempt] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    """SIDs of the messages the application answered with (TwiML ``<Message>``)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "from": self.sender,
            "to": self.to,
            "body": self.body,
            "at": _iso(self.at),
            "keyword": self.keyword,
            "webhooks": [attempt.to_json() for attempt in self.webhooks],
            "replies": list(self.replies),
        }


class MessageStore:
    """Thread-safe records. ``generation`` grows at each reset, so that deliveries still
    under way for the messages of before stop instead of writing into the new state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, MessageRecord] = {}
        self._inbound: dict[str, InboundRecord] = {}
        self._stop_list: set[str] = set()
        self.generation = 0

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._inbound.clear()
            self._stop_list.clear()
            self.generation += 1

    def add(self, record: MessageRecord) -> None:
        with self._lock:
            self._messages[record.id] = record

    def get(self, message_id: str) -> MessageRecord | None:
        with self._lock:
            record = self._messages.get(message_id)
            return copy.deepcopy(record) if record is not None else None

    def find(
        self, *, to: str | None = None, channel: str | None = None, provider: str | None = None
    ) -> list[MessageRecord]:
        """Messages in the order they were accepted, optionally only some."""
        with self._lock:
            return [
                copy.deepcopy(record)
                for record in self._messages.values()
                if (to is None or record.to == to)
                and (channel is None or record.channel == channel)
                and (provider is None or record.provider == provider)
            ]

    def set_status(
        self, message_id: str, change: StatusChange, *, generation: int | None = None
    ) -> bool:
        """Appends a status; ``False`` when the message is gone (reset since)."""
        with self._lock:
            record = self._messages.get(message_id)
            if record is None or (generation is not None and generation != self.generation):
                return False
            record.statuses.append(change)
            return True

    def add_webhook(self, message_id: str, attempt: WebhookAttempt) -> None:
        with self._lock:
            record = self._messages.get(message_id)
            if record is not None:
                record.webhooks.append(attempt)
                return
            inbound = self._inbound.get(message_id)
            if inbound is not None:
                inbound.webhooks.append(attempt)

    def add_inbound(self, record: InboundRecord) -> None:
        with self._lock:
            self._inbound[record.sid] = record

    def add_replies(self, sid: str, message_ids: list[str]) -> None:
        with self._lock:
            record = self._inbound.get(sid)
            if record is not None:
                record.replies.extend(message_ids)

    def get_inbound(self, sid: str) -> InboundRecord | None:
        with self._lock:
            record = self._inbound.get(sid)
            return copy.deepcopy(record) if record is not None else None

    def inbound(self) -> list[InboundRecord]:
        with self._lock:
            return [copy.deepcopy(record) for record in self._inbound.values()]

    def opt_out(self, number: str) -> None:
        with self._lock:
            self._stop_list.add(number)

    def opt_in(self, number: str) -> None:
        with self._lock:
            self._stop_list.discard(number)

    def is_opted_out(self, number: str) -> bool:
        with self._lock:
            return number in self._stop_list

    def stop_list(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._stop_list)
