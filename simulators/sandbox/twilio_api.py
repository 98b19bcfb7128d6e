"""Twilio's Messages API, the part the channel adapters call: create a message, fetch it.

Requests and answers keep Twilio's shapes: form-encoded parameters, HTTP Basic auth with
the Account SID and Auth Token, message resources and error bodies as Twilio's JSON, and
signed status callbacks (``sent`` then ``delivered``, or ``undelivered``/``failed``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import re
import secrets
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from simulators.sandbox.callbacks import Step, now, play, twilio_form
from simulators.sandbox.faults import Fault
from simulators.sandbox.state import Sandbox
from simulators.sandbox.store import InboundRecord, MessageRecord, StatusChange

API_VERSION = "2010-04-01"
MESSAGES_PATH = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json"
MESSAGE_PATH = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages/{{sid}}.json"
WHATSAPP_PREFIX = "whatsapp:"
MAX_BODY_CHARS = 1600
MAX_VALIDITY_S = 36_000
UNDELIVERED_ERROR = 30003
"""Unreachable destination handset: the carrier could not deliver a sent message."""
EXPIRED_ERROR = 30036
"""Validity Period Expired: the message waited in the queue longer than it was valid."""
ERROR_MESSAGES = {
    UNDELIVERED_ERROR: "Unreachable destination handset",
    EXPIRED_ERROR: "Validity Period Expired",
}
CALLBACK_STATUSES = frozenset({"sent", "delivered", "undelivered", "failed"})

E164 = re.compile(r"\+[1-9]\d{1,14}")
ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
SHORT_CODE = re.compile(r"\d{3,8}")
# GSM 03.38: the basic set, and the extension characters that take two septets.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def twilio_error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error in Twilio's JSON shape."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def fault_response(fault: Fault, retry_after_s: int) -> JSONResponse:
    if fault.rate_limited:
        headers = {"Retry-After": str(retry_after_s)}
        return twilio_error(429, 20429, "Too Many Requests", headers)
    if fault.status == 503:
        return twilio_error(503, 20503, "Service Unavailable")
    return twilio_error(500, 20500, "Internal Server Error")


def num_segments(body: str) -> int:
    """SMS segments of ``body``: GSM-7 (160 characters, 153 per part) when every character
    is in the GSM alphabet, UCS-2 otherwise (70 UTF-16 units, 67 per part)."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in body):
        units = sum(2 if char in GSM7_EXTENSION else 1 for char in body)
        single, part = 160, 153
    else:
        units = sum(2 if ord(char) > 0xFFFF else 1 for char in body)
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


def resource(record: MessageRecord, account_sid: str) -> dict[str, Any]:
    """The message as Twilio's API returns it."""
    uri = MESSAGE_PATH.format(account_sid=account_sid, sid=record.id)
    sent = record.reached("sent")
    error_code = record.error_code
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": record.body,
        "date_created": format_datetime(record.accepted_at),
        "date_sent": format_datetime(sent.at) if sent is not None else None,
        "date_updated": format_datetime(record.updated_at),
        "direction": record.direction,
        "error_code": error_code,
        "error_message": ERROR_MESSAGES.get(error_code) if error_code is not None else None,
        "from": record.sender,
        "messaging_service_sid": record.messaging_service_sid,
        "num_media": "0",
        "num_segments": str(record.num_segments if record.sender is not None else 0),
        "price": None,
        "price_unit": "USD",
        "sid": record.id,
        "status": record.status,
        "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
        "to": record.to,
        "uri": uri,
    }


def inbound_resource(record: InboundRecord, account_sid: str) -> dict[str, Any]:
    """A received SMS as Twilio's API returns it (``direction`` ``inbound``)."""
    uri = MESSAGE_PATH.format(account_sid=account_sid, sid=record.sid)
    date = format_datetime(record.at)
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": record.body,
        "date_created": date,
        "date_sent": date,
        "date_updated": date,
        "direction": "inbound",
        "error_code": None,
        "error_message": None,
        "from": record.sender,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": str(num_segments(record.body)),
        "price": None,
        "price_unit": "USD",
        "sid": record.sid,
        "status": "received",
        "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
        "to": record.to,
        "uri": uri,
    }


def authenticated(request: Request, path_account_sid: str, account_sid: str, token: str) -> bool:
    """HTTP Basic with the Account SID as username and the Auth Token as password, for
    the account named in the path."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    username, _, password = decoded.partition(":")
    return (
        secrets.compare_digest(username.encode(), account_sid.encode())
        & secrets.compare_digest(path_account_sid.encode(), account_sid.encode())
        & secrets.compare_digest(password.encode(), token.encode())
    )


def unauthorised() -> JSONResponse:
    return twilio_error(
        401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'}
    )


def _valid_sender(sender: str, channel: str) -> bool:
    if channel == "whatsapp":
        return sender.startswith(WHATSAPP_PREFIX) and bool(
            E164.fullmatch(sender.removeprefix(WHATSAPP_PREFIX))
        )
    return any(form.fullmatch(sender) for form in (E164, ALPHANUMERIC_SENDER, SHORT_CODE))


def validate(fields: dict[str, str], sandbox: Sandbox) -> MessageRecord | JSONResponse:
    """The message the form fields create, or Twilio's 400 for the first problem."""
    to = fields.get("To", "").strip()
    if not to:
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    channel = "whatsapp" if to.startswith(WHATSAPP_PREFIX) else "sms"
    number = to.removeprefix(WHATSAPP_PREFIX)
    if not E164.fullmatch(number):
        return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    sender = fields.get("From", "").strip() or None
    service = fields.get("MessagingServiceSid", "").strip() or None
    if sender is None and service is None:
        message = "A 'From' or 'MessagingServiceSid' parameter is required to send a message."
        return twilio_error(400, 21603, message)
    if sender is not None and not _valid_sender(sender, channel):
        if channel == "whatsapp" or sender.startswith(WHATSAPP_PREFIX):
            message = "Invalid From and To pair. From and To should be of the same channel."
            return twilio_error(400, 21910, message)
        message = (
            f"The 'From' number {sender} is not a valid phone number, shortcode, "
            "or alphanumeric sender ID."
        )
        return twilio_error(400, 21212, message)
    body = fields.get("Body", "")
    if not body.strip():
        return twilio_error(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY_CHARS:
        message = "The concatenated message body exceeds the 1600 character limit."
        return twilio_error(400, 21617, message)
    validity: int | None = None
    if (raw := fields.get("ValidityPeriod")) is not None:
        try:
            validity = int(raw)
        except ValueError:
            validity = 0
        if not 1 <= validity <= MAX_VALIDITY_S:
            message = f"Invalid validity period value: {raw}. Use an integer from 1 to 36000."
            return twilio_error(400, 21624, message)
    callback = fields.get("StatusCallback") or None
    if callback is not None:
        parts = urlsplit(callback)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return twilio_error(400, 21609, f"The StatusCallback URL {callback} is not valid.")
    if sandbox.store.is_opted_out(number):
        return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
    accepted_at = now()
    return MessageRecord(
        provider="twilio",
        channel=channel,
        id=sandbox.ids.twilio_sid("SM"),
        to=to,
        sender=sender,
        body=body,
        accepted_at=accepted_at,
        validity_period_s=validity,
        status_callback=callback,
        messaging_service_sid=service,
        num_segments=num_segments(body),
        statuses=[StatusChange("queued" if sender is not None else "accepted", accepted_at)],
    )


def plan(sandbox: Sandbox, record: MessageRecord) -> list[Step]:
    """Statuses the message will go through. A message that cannot leave the queue within
    its validity period fails with 30036 when that period ends, never sent."""
    config = sandbox.config
    queue = record.messaging_service_sid or record.sender or ""
    to_sent = sandbox.queue_wait(queue) + config.callback_delay_s
    undelivered = sandbox.draw_undelivered()
    validity = record.validity_period_s or MAX_VALIDITY_S
    if to_sent > validity:
        return [Step(validity, "failed", EXPIRED_ERROR)]
    last = Step(config.callback_delay_s, "delivered")
    if undelivered:
        last = Step(config.callback_delay_s, "undelivered", UNDELIVERED_ERROR)
    return [Step(to_sent, "sent"), last]


def callback_params(
    sandbox: Sandbox, record: MessageRecord, change: StatusChange
) -> dict[str, str]:
    """The form Twilio posts to a message's StatusCallback."""
    config = sandbox.config
    params = {
        "AccountSid": config.account_sid,
        "ApiVersion": API_VERSION,
        "From": record.sender or config.twilio_number,
        "MessageSid": record.id,
        "MessageStatus": change.status,
        "SmsSid": record.id,
        "SmsStatus": change.status,
        "To": record.to,
    }
    if record.messaging_service_sid is not None:
        params["MessagingServiceSid"] = record.messaging_service_sid
    if change.error_code is not None:
        params["ErrorCode"] = str(change.error_code)
    return params


async def deliver(
    sandbox: Sandbox, record: MessageRecord, steps: list[Step], generation: int
) -> None:
    """Moves an accepted message through ``steps``, posting its status callback (if it
    has one) at each status Twilio reports."""
    callback = record.status_callback

    async def notify(change: StatusChange) -> None:
        if callback is None or change.status not in CALLBACK_STATUSES:
            return
        params = callback_params(sandbox, record, change)
        key = f"{record.id}:{change.status}"
        body, headers = twilio_form(sandbox.config.auth_token, callback, params, key)
        await sandbox.webhooks.post(record.id, callback, change.status, body, headers)

    await play(sandbox.store, record.id, generation, steps, notify)


def send(sandbox: Sandbox, record: MessageRecord) -> None:
    """Keeps an accepted message and starts its delivery (from the server's loop)."""
    generation = sandbox.store.generation
    sandbox.store.add(record)
    sandbox.background.spawn(deliver(sandbox, record, plan(sandbox, record), generation))


def not_found(account_sid: str, sid: str) -> JSONResponse:
    path = MESSAGE_PATH.format(account_sid=account_sid, sid=sid)
    return twilio_error(404, 20404, f"The requested resource {path} was not found")


def twilio_routes(sandbox: Sandbox) -> APIRouter:
    router = APIRouter(tags=["twilio"])

    @router.post(MESSAGES_PATH, status_code=201)
    async def create_message(account_sid: str, request: Request) -> Response:
        config = sandbox.config
        if config.latency_s:
            await asyncio.sleep(config.latency_s)
        if not authenticated(request, account_sid, config.account_sid, config.auth_token):
            return unauthorised()
        fault = sandbox.faults["twilio"].draw()
        if fault is not None:
            return fault_response(fault, config.retry_after_s)
        form = await request.form()
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
        record = validate(fields, sandbox)
        if isinstance(record, JSONResponse):
            return record
        send(sandbox, record)
        if late := sandbox.answer_delay():
            await asyncio.sleep(late)
        return JSONResponse(resource(record, config.account_sid), status_code=201)

    @router.get(MESSAGE_PATH)
    async def fetch_message(account_sid: str, sid: str, request: Request) -> Response:
        config = sandbox.config
        if not authenticated(request, account_sid, config.account_sid, config.auth_token):
            return unauthorised()
        record = sandbox.store.get(sid)
        if record is not None and record.provider == "twilio":
            return JSONResponse(resource(record, config.account_sid))
        inbound = sandbox.store.get_inbound(sid)
        if inbound is not None:
            return JSONResponse(inbound_resource(inbound, config.account_sid))
        return not_found(account_sid, sid)

    return router
