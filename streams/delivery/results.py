"""What came of one send: the provider's message id, or a failure classified for action.

Every failure is one of two kinds, because the sender does one of two things with it:

- :attr:`FailureKind.TRANSIENT`: try the same message again later (rate limited with 429
  and its ``Retry-After``, a 5xx, no answer in time, no connection). A timeout is
  ambiguous: the provider may have accepted the message before the answer was lost, and
  neither Twilio's nor the Graph API's send takes an idempotency key, so a retry may
  deliver it twice.
- :attr:`FailureKind.PERMANENT`: this message will never be accepted as it is; retrying
  is pointless. Some permanent failures say something about the customer
  (:class:`Reachability`): their address is invalid on the channel, or they opted out at
  the provider, and the channel must not be used for them again until that changes.
  Others say something about the engine (``auth``: the provider refused its credentials,
  and every message of the channel will fail until they are fixed).

The codes classified are the providers' documented ones; a code not listed falls back
on its HTTP status (429 and 5xx transient, any other 4xx permanent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from offers.contracts import Channel


class FailureKind(StrEnum):
    TRANSIENT = "transient"
    """Try again later."""
    PERMANENT = "permanent"
    """Do not send this message again."""


class Reachability(StrEnum):
    """What a permanent failure says about the customer on the channel."""

    UNCHANGED = "unchanged"
    """Nothing: only this message failed."""
    INVALID_ADDRESS = "invalid_address"
    """The address cannot receive messages on the channel (not a valid or mobile number,
    not a WhatsApp user, no such Messenger user): stop using it."""
    OPTED_OUT = "opted_out"
    """The customer opted out at the provider (SMS STOP, WhatsApp marketing stopped):
    record it as withdrawn consent for the channel."""


@dataclass(frozen=True, slots=True)
class SendFailure:
    """Why a send failed. ``code`` is the provider's error code (``"21211"``,
    ``"131026"``, with the Graph subcode when there is one: ``"100/2018001"``) or, when
    there is none, ``"http_<status>"``, ``"timeout"``, ``"connection"``,
    ``"validity_expired"`` or ``"bad_answer"``."""

    kind: FailureKind
    code: str
    message: str
    http_status: int | None = None
    retry_after_s: float | None = None
    """The provider's ``Retry-After``, in seconds, when it sent one."""
    reachability: Reachability = Reachability.UNCHANGED
    auth: bool = False
    """The provider refused the engine's credentials."""

    @property
    def transient(self) -> bool:
        return self.kind is FailureKind.TRANSIENT


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one send: the provider's message id, or the failure."""

    decision_id: str
    channel: Channel
    provider_message_id: str | None = None
    failure: SendFailure | None = None

    def __post_init__(self) -> None:
        if (self.provider_message_id is None) == (self.failure is None):
            raise ValueError("a send result has either a provider message id or a failure")

    @property
    def sent(self) -> bool:
        return self.failure is None


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: FailureKind
    reachability: Reachability = Reachability.UNCHANGED
    auth: bool = False


_TRANSIENT = _Rule(FailureKind.TRANSIENT)
_PERMANENT = _Rule(FailureKind.PERMANENT)
_INVALID = _Rule(FailureKind.PERMANENT, Reachability.INVALID_ADDRESS)
_OPTED_OUT = _Rule(FailureKind.PERMANENT, Reachability.OPTED_OUT)
_AUTH = _Rule(FailureKind.PERMANENT, auth=True)

TWILIO_RULES: Mapping[int, _Rule] = {
    20003: _AUTH,  # Authenticate: wrong Account SID or Auth Token
    20429: _TRANSIENT,  # Too Many Requests
    20500: _TRANSIENT,  # Internal Server Error
    20503: _TRANSIENT,  # Service Unavailable
    21211: _INVALID,  # Invalid 'To' phone number
    21614: _INVALID,  # 'To' number is not a valid mobile number
    21610: _OPTED_OUT,  # Attempt to send to unsubscribed recipient (STOP)
    21408: _PERMANENT,  # Permission to send to this region is not enabled
    21612: _PERMANENT,  # The 'To' number is not reachable from this sender
}
"""Twilio's error codes (``https://www.twilio.com/docs/api/errors``) with their rule."""

GRAPH_RULES: Mapping[int, _Rule] = {
    1: _TRANSIENT,  # unknown error, transient
    2: _TRANSIENT,  # service temporarily unavailable
    4: _TRANSIENT,  # application request limit reached
    17: _TRANSIENT,  # user request limit reached
    32: _TRANSIENT,  # page request limit reached
    613: _TRANSIENT,  # calls to this API have exceeded the rate limit
    80007: _TRANSIENT,  # WhatsApp Business Account rate limit
    130429: _TRANSIENT,  # Cloud API throughput reached
    131016: _TRANSIENT,  # service unavailable
    131048: _TRANSIENT,  # spam rate limit hit
    131056: _TRANSIENT,  # too many messages to one recipient: pair rate limit
    190: _AUTH,  # access token expired or invalid
    100: _PERMANENT,  # invalid parameter (see the subcodes)
    131026: _INVALID,  # message undeliverable: not a WhatsApp user, or cannot receive
    131030: _PERMANENT,  # recipient not in the allowed list (an app in development)
    131047: _PERMANENT,  # more than 24 hours since the customer's last message
    131050: _OPTED_OUT,  # the customer stopped marketing messages from the business
    551: _INVALID,  # this person isn't available right now (Messenger)
}
"""Graph API error codes (WhatsApp Cloud API, Messenger Send API) with their rule."""

GRAPH_SUBCODE_RULES: Mapping[tuple[int, int], _Rule] = {
    (100, 33): _PERMANENT,  # the phone number ID does not exist or is not the token's
    (100, 2018001): _INVALID,  # no Messenger user with this PSID
}


def twilio_failure(
    status: int, code: int | None, message: str, retry_after_s: float | None = None
) -> SendFailure:
    """The failure of a Twilio error answer (HTTP ``status``, Twilio ``code``)."""
    rule = TWILIO_RULES.get(code) if code is not None else None
    return _failure(rule, status, str(code) if code is not None else None, message, retry_after_s)


def graph_failure(status: int, body: Any, retry_after_s: float | None = None) -> SendFailure:
    """The failure of a Graph API error answer: HTTP ``status`` and its decoded JSON
    ``body`` (``{"error": {"code", "error_subcode", "message", "is_transient"}}``), or
    whatever else the body was."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return _failure(None, status, None, f"HTTP {status} without a Graph error", retry_after_s)
    code = error.get("code") if isinstance(error.get("code"), int) else None
    subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
    message = str(error.get("message") or f"Graph error {code}")
    details = error.get("error_data")
    if isinstance(details, dict) and isinstance(details.get("details"), str):
        message = f"{message}: {details['details']}"
    rule = None
    if code is not None:
        rule = GRAPH_SUBCODE_RULES.get((code, subcode or 0)) or GRAPH_RULES.get(code)
    if rule is None and error.get("is_transient") is True:
        rule = _TRANSIENT
    shown = None if code is None else (f"{code}/{subcode}" if subcode else str(code))
    return _failure(rule, status, shown, message, retry_after_s)


def transport_failure(code: str, detail: str) -> SendFailure:
    """No answer: ``code`` is ``"timeout"`` or ``"connection"``."""
    return SendFailure(FailureKind.TRANSIENT, code, detail)


def expired_failure(valid_until: datetime) -> SendFailure:
    """The message's validity ended before it could be sent; nothing was sent."""
    return SendFailure(
        FailureKind.PERMANENT,
        "validity_expired",
        f"the message was valid until {valid_until.isoformat()}; not sent",
    )


def bad_answer(status: int, detail: str) -> SendFailure:
    """A success status whose body names no message: the provider may have sent it, so
    it is not tried again."""
    return SendFailure(FailureKind.PERMANENT, "bad_answer", detail, http_status=status)


def _failure(
    rule: _Rule | None,
    status: int,
    code: str | None,
    message: str,
    retry_after_s: float | None,
) -> SendFailure:
    if rule is None:
        rule = _TRANSIENT if status == 429 or status >= 500 else _PERMANENT
    return SendFailure(
        kind=rule.kind,
        code=code or f"http_{status}",
        message=message,
        http_status=status,
        retry_after_s=retry_after_s,
        reachability=rule.reachability,
        auth=rule.auth,
    )
