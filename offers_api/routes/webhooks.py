"""Callbacks from the SMS provider (Twilio): inbound messages and delivery statuses.

Each request must carry a valid ``X-Twilio-Signature`` over the public URL the provider
called (``OFFERS_PUBLIC_BASE_URL`` + path + query) and the form fields; a forged or
unsigned one gets 403. An inbound STOP (or its equivalent in Italian, French or German)
withdraws SMS consent, START grants it again, HELP is answered; the reply is TwiML.
An inbound message acts once: its ``MessageSid`` is kept in Redis for
``OFFERS_WEBHOOK_REPLAY_WINDOW_HOURS``, and the same message posted again (Twilio's retry
or a replayed request, whose signature is as valid as the first) changes nothing and is
answered without a reply, so no second SMS goes out. A message's status is recorded only
when it moves the message forward (see :mod:`offers.delivery_status`), and then
published; a repeated status is published again under the same event id, which its
readers count once.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from offers.contracts import (
    Channel,
    ConsentScope,
    ConsentSource,
    DeliveryState,
    DeliveryStatus,
    encode,
)
from offers.delivery_status import Advance
from offers.topics import DELIVERY_STATUS
from offers_api.deps import StateDep
from offers_api.signatures import TWILIO_SIGNATURE_HEADER as SIGNATURE_HEADER
from offers_api.signatures import public_url, verify_twilio
from offers_api.sms_keywords import KeywordKind, classify, reply_for

router = APIRouter(prefix="/v1/webhooks/twilio", tags=["webhooks"])
log = logging.getLogger(__name__)

TWIML = "application/xml"
IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
MESSAGE_SID = re.compile(r"[A-Za-z0-9]{2,64}")
"""A Twilio message id as it comes (``SM`` or ``MM`` and 32 hex digits), loosely checked."""
INBOUND_SEEN_KEY = "webhooks:twilio:inbound:{sid}"
"""Redis key marking an inbound message that has acted (see the module's docstring)."""

TWILIO_STATUSES: dict[str, DeliveryState | None] = {
    **{state.value: state for state in DeliveryState},
    "accepted": DeliveryState.QUEUED,
    "scheduled": DeliveryState.QUEUED,
    "sending": DeliveryState.SENT,
    "read": DeliveryState.DELIVERED,
    "canceled": DeliveryState.FAILED,
    "receiving": None,
    "received": None,
    "partially_delivered": None,
}
"""Each ``MessageStatus`` Twilio sends, as a delivery state; None for those that say
nothing about an offer's delivery (inbound messages, parts of one), which are ignored."""


async def signed_form(request: Request, state: StateDep) -> dict[str, str]:
    """The form fields of a request whose Twilio signature is valid; else 403."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise HTTPException(status_code=403, detail=f"missing {SIGNATURE_HEADER} header")
    form = await request.form()
    fields = {key: str(value) for key, value in form.multi_items()}
    url = public_url(state.settings.public_base_url, request.url.path, request.url.query)
    token = state.settings.twilio_auth_token.get_secret_value()
    if not verify_twilio(token, url, form, signature):
        raise HTTPException(status_code=403, detail=f"{SIGNATURE_HEADER} does not match")
    return fields


SignedForm = Annotated[dict[str, str], Depends(signed_form)]


def twiml(message: str | None) -> Response:
    body = f"<Message>{escape(message)}</Message>" if message else ""
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>', 200, media_type=TWIML
    )


@router.post("/sms", response_class=Response, responses={200: {"content": {TWIML: {}}}})
def inbound_sms(form: SignedForm, state: StateDep) -> Response:
    """An SMS from a customer: opt-out, opt-in or help keywords act, once per message;
    anything else is acknowledged without a reply."""
    sender, body, sid = form.get("From"), form.get("Body"), form.get("MessageSid")
    if not sender or body is None:
        raise HTTPException(status_code=422, detail="an inbound SMS needs From and Body")
    if sid is not None and not MESSAGE_SID.fullmatch(sid):
        raise HTTPException(
            status_code=422, detail="MessageSid must be 2 to 64 letters and digits (SM...)"
        )
    match = classify(body)
    if match.kind is KeywordKind.OTHER:
        return twiml(None)
    if sid is not None and not first_arrival(state, sid):
        log.info("inbound SMS %s was already acted on; ignored", sid)
        return twiml(None)
    try:
        act_on_keyword(state, sender, match.kind)
    except Exception:
        if sid is not None:
            state.redis.delete(INBOUND_SEEN_KEY.format(sid=sid))  # let Twilio's retry act
        raise
    return twiml(reply_for(match, brand="Moby"))


def first_arrival(state: StateDep, sid: str) -> bool:
    """Whether the inbound message ``sid`` arrives for the first time in the replay window;
    it is marked as arrived at once (atomically), so two deliveries of it never both act."""
    window_s = state.settings.webhook_replay_window_hours * 3600
    return bool(state.redis.set(INBOUND_SEEN_KEY.format(sid=sid), b"1", nx=True, ex=window_s))


def act_on_keyword(state: StateDep, sender: str, kind: KeywordKind) -> None:
    """STOP withdraws and START grants the SMS consent of the customer with this number
    (none if the number is not a customer's); HELP changes nothing."""
    customer = state.contacts.customer_for_phone(sender)
    if customer is not None and kind in (KeywordKind.OPT_OUT, KeywordKind.OPT_IN):
        granted = kind is KeywordKind.OPT_IN
        state.consent.set(customer, ConsentScope.SMS, granted, ConsentSource.SMS_REPLY)


@router.post("/status", status_code=204, response_class=Response)
def delivery_status(
    form: SignedForm,
    state: StateDep,
    decision_id: Annotated[str, Query(min_length=1, max_length=64, pattern=IDENTIFIER)],
    customer_id: Annotated[str, Query(min_length=1, max_length=64, pattern=IDENTIFIER)],
) -> Response:
    """A message's status for the decision and customer named in the callback URL the
    sender set: recorded if it moves the message forward, and then published to
    offers.delivery-status. A repeated callback is published again under the same event
    id (derived from the message and status), which readers count once; one behind the
    recorded status is dropped."""
    sid, status = form.get("MessageSid"), form.get("MessageStatus")
    if not sid or not status:
        raise HTTPException(
            status_code=422, detail="a status callback needs MessageSid and MessageStatus"
        )
    if status not in TWILIO_STATUSES:
        known = ", ".join(TWILIO_STATUSES)
        raise HTTPException(
            status_code=422, detail=f"MessageStatus {status!r} is not one of {known}"
        )
    delivery_state = TWILIO_STATUSES[status]
    if delivery_state is None:
        return Response(status_code=204)
    event = DeliveryStatus(
        event_id=f"ds-{sid}-{delivery_state.value}"[:64],
        event_time=datetime.now(UTC),
        decision_id=decision_id,
        customer_id=customer_id,
        channel=Channel.SMS,
        status=delivery_state,
        provider_message_id=sid[:200],
        error_code=(form.get("ErrorCode") or "")[:200] or None,
    )
    publish_status(state, event)
    return Response(status_code=204)


def publish_status(state: StateDep, event: DeliveryStatus) -> Advance:
    """Record a provider's status of a message and publish it, unless it is behind the
    status recorded (a late callback, dropped). A repeated status is published again:
    its first publication may have been lost after it was recorded."""
    advance = state.statuses.advance(
        event.decision_id,
        event.customer_id,
        event.channel,
        event.status,
        message_id=event.provider_message_id,
        error_code=event.error_code,
        at=event.event_time,
    )
    if advance is not Advance.STALE:
        state.writer.put(DELIVERY_STATUS.name, event.customer_id, encode(event))
    return advance
