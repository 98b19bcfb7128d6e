"""Webhooks of the WhatsApp Cloud API (Meta): the verification of the URL, and the statuses
of the messages sent.

Meta verifies the URL once with a GET carrying ``hub.verify_token``, which must equal
``OFFERS_WHATSAPP_VERIFY_TOKEN``; the answer is its ``hub.challenge``. Each notification
is a POST whose raw body is signed with ``X-Hub-Signature-256`` under the app secret
(``OFFERS_META_APP_SECRET``); an unsigned or forged one gets 403, a malformed one 422.

A status names its decision and customer through the ``biz_opaque_callback_data`` the
sender set, ``"{decision_id} {customer_id}"``. A status without it, or of a kind not
tracked, is skipped and counted rather than refused: Meta sends a notification again and
again until it is answered with 200. A status is recorded and published only when it
moves its message forward (see :mod:`offers.delivery_status`), under an event id derived
from the message and the status, so that a repeated notification is one event to its
readers. Customers' own messages in a notification are acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from offers.contracts import Channel, DeliveryState, DeliveryStatus
from offers.delivery_status import Advance
from offers_api.deps import StateDep
from offers_api.routes.webhooks import publish_status
from offers_api.schemas import StatusWebhookReceipt, problem
from offers_api.signatures import META_SIGNATURE_HEADER, verify_meta

router = APIRouter(prefix="/v1/webhooks/whatsapp", tags=["webhooks"])
log = logging.getLogger(__name__)

WHATSAPP_STATUSES: dict[str, DeliveryState] = {
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.DELIVERED,
    "failed": DeliveryState.FAILED,
}
"""The statuses of a message that are tracked; a read message counts as delivered."""
_ID = r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}"
CALLBACK_DATA = re.compile(f"({_ID}) ({_ID})")
"""``biz_opaque_callback_data`` as the sender sets it: the decision id, then the customer's."""


class _MetaModel(BaseModel):
    """Meta adds fields to its webhooks over time: unknown ones are accepted."""

    model_config = ConfigDict(extra="allow")


class StatusError(_MetaModel):
    code: int
    title: str | None = None


class MessageStatus(_MetaModel):
    id: str = Field(min_length=1, max_length=200, description="The message's wamid.")
    status: str
    timestamp: int = Field(ge=0, le=10**11, description="Unix seconds.")
    recipient_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[StatusError] = []


class ChangeValue(_MetaModel):
    statuses: list[MessageStatus] = []


class Change(_MetaModel):
    field: str
    value: ChangeValue


class Entry(_MetaModel):
    id: str
    changes: list[Change] = []


class Notification(_MetaModel):
    """A webhook notification of a WhatsApp Business Account."""

    object: Literal["whatsapp_business_account"]
    entry: list[Entry]

    def statuses(self) -> list[MessageStatus]:
        return [
            status
            for entry in self.entry
            for change in entry.changes
            if change.field == "messages"
            for status in change.value.statuses
        ]


@router.get(
    "",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        403: problem("The mode or the verify token is wrong."),
    },
)
def verify_subscription(
    state: StateDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    verify_token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=256)] = None,
) -> PlainTextResponse:
    """Meta's check that this URL is the app's: the challenge echoed when the verify
    token is the one configured."""
    expected = state.settings.whatsapp_verify_token.get_secret_value()
    if mode != "subscribe":
        raise HTTPException(status_code=403, detail="hub.mode must be 'subscribe'")
    if not verify_token or not hmac.compare_digest(verify_token.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail="hub.verify_token does not match")
    if not challenge:
        raise HTTPException(status_code=422, detail="hub.challenge is missing")
    return PlainTextResponse(challenge)


async def signed_body(request: Request, state: StateDep) -> bytes:
    """The raw body of a request whose Meta signature is valid; else 403."""
    signature = request.headers.get(META_SIGNATURE_HEADER)
    if not signature:
        raise HTTPException(status_code=403, detail=f"missing {META_SIGNATURE_HEADER} header")
    body = await request.body()
    if not verify_meta(state.settings.meta_app_secret.get_secret_value(), body, signature):
        raise HTTPException(status_code=403, detail=f"{META_SIGNATURE_HEADER} does not match")
    return body


SignedBody = Annotated[bytes, Depends(signed_body)]


@router.post(
    "",
    response_model=StatusWebhookReceipt,
    responses={403: problem("The X-Hub-Signature-256 header is missing or does not match.")},
)
def status_notification(body: SignedBody, state: StateDep) -> StatusWebhookReceipt:
    """The statuses of messages sent: each recorded if it moves its message forward, then
    published to offers.delivery-status (see the Twilio status callback)."""
    try:
        notification = Notification.model_validate_json(body)
    except ValidationError as error:
        located = [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        raise RequestValidationError(located) from None
    recorded = skipped = 0
    for status in notification.statuses():
        try:
            event = status_event(status)
        except ValueError as reason:
            log.info("skipped status %r of message %s: %s", status.status, status.id, reason)
            skipped += 1
            continue
        if publish_status(state, event) is Advance.STALE:
            skipped += 1
        else:
            recorded += 1
    return StatusWebhookReceipt(statuses=recorded, skipped=skipped)


def status_event(status: MessageStatus) -> DeliveryStatus:
    """The delivery status event of a WhatsApp status; ValueError saying why there is
    none (no callback data naming the decision, a kind of status not tracked)."""
    addressee = CALLBACK_DATA.fullmatch(status.biz_opaque_callback_data or "")
    if addressee is None:
        raise ValueError("no biz_opaque_callback_data of the form '{decision_id} {customer_id}'")
    state = WHATSAPP_STATUSES.get(status.status)
    if state is None:
        raise ValueError(f"a status not tracked (only {', '.join(WHATSAPP_STATUSES)})")
    decision_id, customer_id = addressee.groups()
    return DeliveryStatus(
        event_id=status_event_id(status.id, state),
        event_time=datetime.fromtimestamp(status.timestamp, UTC),
        decision_id=decision_id,
        customer_id=customer_id,
        channel=Channel.WHATSAPP,
        status=state,
        provider_message_id=status.id,
        error_code=str(status.errors[0].code)[:200] if status.errors else None,
    )


def status_event_id(message_id: str, state: DeliveryState) -> str:
    """The event id of a message's status: the same for every callback of that status.
    A wamid is base64 (``+``, ``/`` and ``=`` are not allowed in an event id) and often
    longer than one, so it is represented by 128 bits of its SHA-256."""
    digest = hashlib.sha256(message_id.encode()).hexdigest()[:32]
    return f"ds-wa-{digest}-{state.value}"
