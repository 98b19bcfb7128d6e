"""Meta's Graph API, the parts the channel adapters call: the WhatsApp Cloud API
(``POST /{version}/{phone_number_id}/messages``) and the Messenger Send API
(``POST /{version}/me/messages``), with Graph's error shape, bearer tokens and signed
WhatsApp status webhooks (``sent``, ``delivered``, ``read`` or ``failed``).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from simulators.sandbox.callbacks import Step, meta_json, now, play
from simulators.sandbox.graph_errors import (
    GraphError,
    check_token,
    fault_error,
    invalid,
    json_body,
    unknown_object,
)
from simulators.sandbox.state import Sandbox
from simulators.sandbox.store import MessageRecord, StatusChange

VERSION = re.compile(r"v\d+\.\d+")
WHATSAPP_NUMBER = re.compile(r"[1-9]\d{7,14}")
PSID = re.compile(r"\d{1,32}")
MAX_WHATSAPP_TEXT = 4096
MAX_MESSENGER_TEXT = 2000
MAX_CALLBACK_DATA = 512
"""Longest ``biz_opaque_callback_data`` the Cloud API takes, in characters."""
UNDELIVERABLE = 131026
NOT_ALLOWED = 131030
MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})
MESSAGE_TAGS = frozenset(
    {"CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT"}
)


def whatsapp_message(body: dict[str, Any], allowed: frozenset[str] | None) -> tuple[str, str]:
    """The recipient's digits and the text to record, or the Cloud API's error."""
    if body.get("messaging_product") != "whatsapp":
        raise invalid(
            "The parameter messaging_product is required.", "messaging_product must be 'whatsapp'"
        )
    to = body.get("to")
    if not isinstance(to, str) or not to.strip():
        raise invalid("The parameter to is required.")
    digits = re.sub(r"[\s()+\-.]", "", to)
    if not WHATSAPP_NUMBER.fullmatch(digits):
        raise GraphError(
            400,
            UNDELIVERABLE,
            "(#131026) Message undeliverable",
            details=f"{to} is not a valid WhatsApp number.",
        )
    if allowed is not None and digits not in allowed:
        message = "(#131030) Recipient phone number not in allowed list"
        raise GraphError(
            400,
            NOT_ALLOWED,
            message,
            details="Add the number to the app's test recipients.",
        )
    kind = body.get("type", "text")
    if kind == "text":
        text = body.get("text")
        content = text.get("body") if isinstance(text, dict) else None
        if not isinstance(content, str) or not content.strip():
            raise invalid("The parameter text['body'] is required.")
        if len(content) > MAX_WHATSAPP_TEXT:
            raise invalid("Param text['body'] must be at most 4096 characters long.")
        return digits, content
    if kind == "template":
        template = body.get("template")
        name = template.get("name") if isinstance(template, dict) else None
        language = template.get("language") if isinstance(template, dict) else None
        code = language.get("code") if isinstance(language, dict) else None
        if not isinstance(name, str) or not name or not isinstance(code, str) or not code:
            raise invalid(
                "The parameter template['name'] and template['language']['code'] are required."
            )
        assert isinstance(template, dict)
        return digits, f"template {name} ({code}): " + json.dumps(template.get("components", []))
    raise invalid(f"Param type must be one of {{TEXT, TEMPLATE}}, not {kind!r}.")


def callback_data(body: dict[str, Any]) -> str | None:
    """The sender's ``biz_opaque_callback_data``, echoed in every status webhook of the
    message; error 100 when it is not a string of at most 512 characters."""
    data = body.get("biz_opaque_callback_data")
    if data is None:
        return None
    if not isinstance(data, str):
        raise invalid("Param biz_opaque_callback_data must be a string.")
    if len(data) > MAX_CALLBACK_DATA:
        raise invalid(
            f"Param biz_opaque_callback_data must be at most {MAX_CALLBACK_DATA} characters long."
        )
    return data


def messenger_message(body: dict[str, Any]) -> tuple[str, str]:
    """The recipient's PSID and the text, or the Send API's error."""
    recipient = body.get("recipient")
    psid = recipient.get("id") if isinstance(recipient, dict) else None
    if isinstance(psid, int):
        psid = str(psid)
    if not isinstance(psid, str) or not PSID.fullmatch(psid):
        raise invalid("No matching user found", subcode=2018001)
    messaging_type = body.get("messaging_type")
    if messaging_type not in MESSAGING_TYPES:
        raise invalid("param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
    if messaging_type == "MESSAGE_TAG" and body.get("tag") not in MESSAGE_TAGS:
        raise invalid("param tag must be one of " + "{" + ", ".join(sorted(MESSAGE_TAGS)) + "}")
    message = body.get("message")
    text = message.get("text") if isinstance(message, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise invalid("param message[text] must be non-empty.")
    if len(text) > MAX_MESSENGER_TEXT:
        raise invalid("Length of param message[text] must be less than or equal to 2000")
    return psid, text


def status_webhook(sandbox: Sandbox, record: MessageRecord, change: StatusChange) -> dict[str, Any]:
    """A WhatsApp ``statuses`` notification, in the Cloud API's webhook shape."""
    config = sandbox.config
    status: dict[str, Any] = {
        "id": record.id,
        "status": change.status,
        "timestamp": str(int(change.at.timestamp())),
        "recipient_id": record.to,
    }
    if record.biz_opaque_callback_data is not None:
        status["biz_opaque_callback_data"] = record.biz_opaque_callback_data
    if change.error_code is not None:
        title = "Message undeliverable"
        details = {"details": "Message Undeliverable."}
        status["errors"] = [
            {"code": change.error_code, "title": title, "message": title, "error_data": details}
        ]
    metadata = {
        "display_phone_number": config.whatsapp_display_number,
        "phone_number_id": config.whatsapp_phone_number_id,
    }
    value = {"messaging_product": "whatsapp", "metadata": metadata, "statuses": [status]}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": config.whatsapp_business_account_id,
                "changes": [{"field": "messages", "value": value}],
            }
        ],
    }


def whatsapp_plan(sandbox: Sandbox) -> list[Step]:
    delay = sandbox.config.callback_delay_s
    undelivered = sandbox.draw_undelivered()
    read = sandbox.draw_read()
    if undelivered:
        return [Step(delay, "sent"), Step(delay, "failed", UNDELIVERABLE)]
    steps = [Step(delay, "sent"), Step(delay, "delivered")]
    return steps + [Step(delay, "read")] if read else steps


def graph_routes(sandbox: Sandbox) -> APIRouter:
    router = APIRouter(tags=["graph"])

    async def deliver(record: MessageRecord, steps: list[Step], generation: int) -> None:
        async def notify(change: StatusChange) -> None:
            url = sandbox.config.whatsapp_webhook_url
            if url is None:
                return
            payload = status_webhook(sandbox, record, change)
            body, headers = meta_json(sandbox.config.app_secret, payload)
            await sandbox.webhooks.post(record.id, url, change.status, body, headers)

        await play(sandbox.store, record.id, generation, steps, notify)

    async def admit(
        request: Request, version: str, token: str, phone_number_id: str | None
    ) -> dict[str, Any]:
        """Latency, path, token, object, then injected faults; the JSON body if all pass.
        ``phone_number_id`` is ``None`` for Messenger."""
        config = sandbox.config
        if config.latency_s:
            await asyncio.sleep(config.latency_s)
        if not VERSION.fullmatch(version):
            raise GraphError(400, 2500, f"Unknown path components: /{version}")
        check_token(request, token)
        if phone_number_id is not None and phone_number_id != config.whatsapp_phone_number_id:
            raise unknown_object(phone_number_id)
        fault = sandbox.faults["graph"].draw()
        if fault is not None:
            raise fault_error(fault, whatsapp=phone_number_id is not None)
        return await json_body(request)

    def answer(error: GraphError) -> JSONResponse:
        headers = (
            {"Retry-After": str(sandbox.config.retry_after_s)} if error.status == 429 else None
        )
        return error.response(sandbox.ids.fbtrace_id(), headers)

    # Registered first: "me" is not a phone number ID.
    @router.post("/{version}/me/messages")
    async def send_messenger(version: str, request: Request) -> Response:
        try:
            body = await admit(request, version, sandbox.config.messenger_page_token, None)
            psid, text = messenger_message(body)
        except GraphError as error:
            return answer(error)
        accepted_at = now()
        record = MessageRecord(
            provider="meta",
            channel="messenger",
            id=sandbox.ids.messenger_mid(),
            to=psid,
            sender=None,
            body=text,
            accepted_at=accepted_at,
            statuses=[StatusChange("sent", accepted_at)],
        )
        sandbox.store.add(record)
        if late := sandbox.answer_delay():
            await asyncio.sleep(late)
        return JSONResponse({"recipient_id": psid, "message_id": record.id})

    @router.post("/{version}/{phone_number_id}/messages")
    async def send_whatsapp(version: str, phone_number_id: str, request: Request) -> Response:
        config = sandbox.config
        try:
            body = await admit(request, version, config.whatsapp_token, phone_number_id)
            digits, text = whatsapp_message(body, config.whatsapp_allowed_recipients)
            opaque = callback_data(body)
        except GraphError as error:
            return answer(error)
        accepted_at = now()
        record = MessageRecord(
            provider="meta",
            channel="whatsapp",
            id=sandbox.ids.wamid(),
            to=digits,
            sender=config.whatsapp_phone_number_id,
            body=text,
            accepted_at=accepted_at,
            biz_opaque_callback_data=opaque,
            statuses=[StatusChange("accepted", accepted_at)],
        )
        generation = sandbox.store.generation
        sandbox.store.add(record)
        sandbox.background.spawn(deliver(record, whatsapp_plan(sandbox), generation))
        sent: dict[str, Any] = {"id": record.id}
        if body.get("type") == "template":
            sent["message_status"] = "accepted"
        to = body["to"]
        if late := sandbox.answer_delay():
            await asyncio.sleep(late)
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": digits}],
                "messages": [sent],
            }
        )

    return router
