"""Sandbox-only endpoints under ``/sandbox``: what was sent, resets, bursts of 429, and
customer replies posted to the inbound webhook as Twilio posts an incoming SMS (with the
application's TwiML answer sent back to the customer)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from simulators.sandbox.callbacks import now, twilio_form
from simulators.sandbox.state import Sandbox
from simulators.sandbox.store import InboundRecord
from simulators.sandbox.twilio_api import API_VERSION, E164, num_segments
from simulators.sandbox.twiml import send_replies

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
"""Twilio's default opt-out keywords: the whole body, trimmed, in any case."""
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
"""Twilio's default opt-in keywords, which take a number off the STOP list."""


def keyword(body: str) -> Literal["opt_out", "opt_in"] | None:
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return "opt_out"
    if word in OPT_IN_KEYWORDS:
        return "opt_in"
    return None


class Reply(BaseModel):
    """A customer's SMS to the sandbox's number."""

    model_config = ConfigDict(populate_by_name=True)

    sender: str = Field(alias="from", pattern=E164.pattern, description="E.164 number")
    body: str
    to: str | None = Field(default=None, description="defaults to the sandbox's number")


class Burst(BaseModel):
    count: int = Field(ge=0)
    provider: Literal["twilio", "graph"] | None = None


def inbound_params(sandbox: Sandbox, record: InboundRecord) -> dict[str, str]:
    """The form Twilio posts to a number's messaging webhook for an incoming SMS."""
    params = {
        "AccountSid": sandbox.config.account_sid,
        "ApiVersion": API_VERSION,
        "Body": record.body,
        "From": record.sender,
        "MessageSid": record.sid,
        "NumMedia": "0",
        "NumSegments": str(num_segments(record.body)),
        "SmsMessageSid": record.sid,
        "SmsSid": record.sid,
        "SmsStatus": "received",
        "To": record.to,
    }
    if record.keyword is not None:
        params["OptOutType"] = "STOP" if record.keyword == "opt_out" else "START"
    return params


def inspection_routes(sandbox: Sandbox) -> APIRouter:
    router = APIRouter(prefix="/sandbox", tags=["sandbox"])

    @router.get("/messages")
    async def list_messages(
        to: str | None = None, channel: str | None = None, provider: str | None = None
    ) -> list[dict[str, Any]]:
        records = sandbox.messages(to=to, channel=channel, provider=provider)
        return [record.to_json() for record in records]

    @router.get("/messages/{message_id}")
    async def get_message(message_id: str) -> dict[str, Any]:
        record = sandbox.store.get(message_id)
        if record is None:
            raise HTTPException(404, f"no message {message_id}")
        return record.to_json()

    @router.get("/inbound")
    async def list_inbound() -> list[dict[str, Any]]:
        return [record.to_json() for record in sandbox.inbound()]

    @router.get("/stop-list")
    async def stop_list() -> dict[str, list[str]]:
        return {"numbers": sorted(sandbox.stop_list)}

    @router.post("/reset")
    async def reset() -> dict[str, bool]:
        sandbox.reset()
        return {"reset": True}

    @router.post("/faults/burst")
    async def burst(request: Burst) -> dict[str, Any]:
        sandbox.burst(request.count, request.provider)
        return {"burst": request.count, "provider": request.provider}

    @router.post("/reply")
    async def reply(request: Reply) -> dict[str, Any]:
        """Takes the reply as Twilio would: an opt-out keyword puts the sender on the STOP
        list (an opt-in keyword takes it off), then the inbound webhook is posted, signed,
        the ``<Message>`` verbs of its TwiML answer are sent back to the sender, and the
        result is returned."""
        config = sandbox.config
        record = InboundRecord(
            sid=sandbox.ids.twilio_sid("SM"),
            sender=request.sender,
            to=request.to or config.twilio_number,
            body=request.body,
            at=now(),
            keyword=keyword(request.body),
        )
        if record.keyword == "opt_out":
            sandbox.opt_out(record.sender)
        elif record.keyword == "opt_in":
            sandbox.opt_in(record.sender)
        sandbox.store.add_inbound(record)
        url = config.inbound_url
        if url is not None:
            params = inbound_params(sandbox, record)
            body, headers = twilio_form(config.auth_token, url, params, record.sid)
            _, answer = await sandbox.webhooks.exchange(record.sid, url, "received", body, headers)
            sandbox.store.add_replies(record.sid, send_replies(sandbox, record, answer))
        stored = sandbox.store.get_inbound(record.sid)
        return (stored or record).to_json()

    return router
