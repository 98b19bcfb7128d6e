"""The sandbox sends back the application's TwiML answer to an inbound SMS, and echoes a
WhatsApp sender's ``biz_opaque_callback_data`` in status webhooks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simulators.sandbox import SandboxConfig, create_app, running_sandbox
from simulators.sandbox.callbacks import WebhookAnswer
from simulators.sandbox.twiml import TwimlMessage, twiml_messages
from tests.unit.simulators.answering_server import AnsweringServer

CUSTOMER = "+393400000007"
FAST = SandboxConfig(callback_delay_s=0.01, callback_retry_delay_s=0.01)
CONFIRMATION = "Non riceverai altri messaggi. Rispondi START per riattivarli."
TWIML = "text/xml"


def twiml(*messages: str) -> bytes:
    verbs = "".join(messages)
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{verbs}</Response>'.encode()


@pytest.fixture
def application() -> Iterator[AnsweringServer]:
    server = AnsweringServer(twiml(f"<Message>{CONFIRMATION}</Message>"), TWIML)
    yield server
    server.close()


def test_stop_gets_exactly_the_applications_confirmation(application: AnsweringServer) -> None:
    config = SandboxConfig(
        callback_delay_s=0.01, callback_retry_delay_s=0.01, inbound_url=application.url("/sms")
    )
    with running_sandbox(config) as sandbox:
        reply = httpx.post(
            f"{sandbox.base_url}/sandbox/reply", json={"from": CUSTOMER, "body": "STOP"}
        )
        assert reply.status_code == 200
        sent = sandbox.messages(to=CUSTOMER)
        assert len(sent) == 1
        record = sandbox.wait_for(sent[0].id, "delivered")
        sandbox.wait_idle()
        assert sandbox.messages(to=CUSTOMER) == [record]
        assert CUSTOMER in sandbox.stop_list
        inbound = sandbox.inbound()
    assert record.body == CONFIRMATION
    assert record.sender == config.twilio_number
    assert (record.provider, record.channel, record.direction) == (
        "twilio",
        "sms",
        "outbound-reply",
    )
    assert [change.status for change in record.statuses] == ["queued", "sent", "delivered"]
    assert record.status_callback is None and record.webhooks == []
    assert reply.json()["replies"] == [record.id]
    assert [message.replies for message in inbound] == [[record.id]]
    assert len(application.posted) == 1


def test_each_message_verb_is_sent_with_its_addresses(application: AnsweringServer) -> None:
    application.answer = twiml(
        "<Message>Prima</Message>",
        "<Message><Body>Seconda</Body></Message>",
        '<Message to="+393400000009" from="+15005550007">Terza</Message>',
    )
    config = SandboxConfig(callback_delay_s=0.01, inbound_url=application.url("/sms"))
    with running_sandbox(config) as sandbox:
        httpx.post(f"{sandbox.base_url}/sandbox/reply", json={"from": CUSTOMER, "body": "HELP"})
        sandbox.wait_idle()
        sent = sandbox.messages(provider="twilio")
    assert [(m.to, m.sender, m.body) for m in sent] == [
        (CUSTOMER, config.twilio_number, "Prima"),
        (CUSTOMER, config.twilio_number, "Seconda"),
        ("+393400000009", "+15005550007", "Terza"),
    ]
    assert all(m.status == "delivered" for m in sent)


def test_an_empty_answer_sends_nothing(application: AnsweringServer) -> None:
    application.answer = b""
    config = SandboxConfig(callback_delay_s=0.01, inbound_url=application.url("/sms"))
    with running_sandbox(config) as sandbox:
        reply = httpx.post(
            f"{sandbox.base_url}/sandbox/reply", json={"from": CUSTOMER, "body": "STOP"}
        )
        assert sandbox.messages() == []
    assert reply.json()["replies"] == []


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (twiml(), TWIML, []),
        (twiml("<Message> Ciao </Message>"), TWIML, [TwimlMessage("Ciao")]),
        (twiml("<Message>a</Message><Redirect>/x</Redirect>"), TWIML, [TwimlMessage("a")]),
        (b"<Response><Message>a</Message>", TWIML, []),
        (b"<Other><Message>a</Message></Other>", TWIML, []),
        (b"Thanks!", "text/plain", []),
        (b"", TWIML, []),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
            b"<Response><Message>&a;</Message></Response>",
            TWIML,
            [],
        ),
    ],
    ids=["no-verbs", "one", "other-verbs", "malformed", "not-twiml", "text", "empty", "doctype"],
)
def test_twiml_is_read_defensively(
    body: bytes, content_type: str, expected: list[TwimlMessage]
) -> None:
    assert twiml_messages(WebhookAnswer(content_type, body)) == expected


# --- WhatsApp biz_opaque_callback_data ---------------------------------------------------

WHATSAPP = f"/v21.0/{FAST.whatsapp_phone_number_id}/messages"
WA_AUTH = {"Authorization": f"Bearer {FAST.whatsapp_token}"}


def whatsapp(**extra: Any) -> dict[str, Any]:
    text = {"body": "Posti liberi stasera"}
    return {"messaging_product": "whatsapp", "to": "393400000007", "text": text} | extra


def post_whatsapp(payload: dict[str, Any]) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(FAST))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.post(WHATSAPP, json=payload, headers=WA_AUTH)

    return asyncio.run(go())


@pytest.mark.parametrize("data", ["x" * 513, 42, ["a"]], ids=["too-long", "number", "list"])
def test_bad_callback_data_is_graph_error_100(data: Any) -> None:
    response = post_whatsapp(whatsapp(biz_opaque_callback_data=data))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert "biz_opaque_callback_data" in error["message"]


def test_callback_data_of_512_characters_is_taken() -> None:
    assert post_whatsapp(whatsapp(biz_opaque_callback_data="x" * 512)).status_code == 200


def test_every_status_webhook_echoes_the_callback_data() -> None:
    hooks = AnsweringServer()
    config = SandboxConfig(
        callback_delay_s=0.01, read_rate=1.0, whatsapp_webhook_url=hooks.url("/wa")
    )
    try:
        with running_sandbox(config) as sandbox:
            answer = httpx.post(
                f"{sandbox.base_url}{WHATSAPP}",
                json=whatsapp(biz_opaque_callback_data="decision=dec-1"),
                headers=WA_AUTH,
            )
            wamid = answer.json()["messages"][0]["id"]
            posted = hooks.wait(3)
            record = sandbox.message(wamid)
    finally:
        hooks.close()
    statuses = [
        json.loads(post.body)["entry"][0]["changes"][0]["value"]["statuses"][0] for post in posted
    ]
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert all(s["biz_opaque_callback_data"] == "decision=dec-1" for s in statuses)
    assert record.biz_opaque_callback_data == "decision=dec-1"
    assert record.to_json()["biz_opaque_callback_data"] == "decision=dec-1"


def test_no_callback_data_no_field() -> None:
    hooks = AnsweringServer()
    config = SandboxConfig(callback_delay_s=0.01, whatsapp_webhook_url=hooks.url("/wa"))
    try:
        with running_sandbox(config) as sandbox:
            httpx.post(f"{sandbox.base_url}{WHATSAPP}", json=whatsapp(), headers=WA_AUTH)
            posted = hooks.wait(2)
    finally:
        hooks.close()
    for post in posted:
        status = json.loads(post.body)["entry"][0]["changes"][0]["value"]["statuses"][0]
        assert "biz_opaque_callback_data" not in status
