"""The sandbox's Graph API: WhatsApp Cloud API and Messenger Send API requests, answers
and errors."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from simulators.sandbox import Sandbox, SandboxConfig, create_app

CONFIG = SandboxConfig(whatsapp_allowed_recipients=None)
WHATSAPP = f"/v21.0/{CONFIG.whatsapp_phone_number_id}/messages"
MESSENGER = "/v21.0/me/messages"
WA_AUTH = {"Authorization": f"Bearer {CONFIG.whatsapp_token}"}
PAGE_AUTH = {"Authorization": f"Bearer {CONFIG.messenger_page_token}"}


def text(to: str = "393331234567", body: str = "Posti liberi stasera") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


def post(app: FastAPI, url: str, payload: Any, headers: dict[str, str] | None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.post(url, json=payload, headers=headers)

    return asyncio.run(go())


def graph_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == code
    assert error["message"] and error["type"] and error["fbtrace_id"]
    return error


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(CONFIG)


@pytest.fixture
def app(sandbox: Sandbox) -> FastAPI:
    return create_app(sandbox=sandbox)


@pytest.mark.parametrize(
    "headers",
    [None, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {CONFIG.whatsapp_token}"}],
    ids=["missing", "wrong", "not-bearer"],
)
def test_whatsapp_bad_token_is_oauth_190(app: FastAPI, headers: dict[str, str] | None) -> None:
    error = graph_error(post(app, WHATSAPP, text(), headers), 401, 190)
    assert error["type"] == "OAuthException"


def test_messenger_needs_the_page_token(app: FastAPI) -> None:
    payload = {"recipient": {"id": "42"}, "messaging_type": "UPDATE", "message": {"text": "x"}}
    graph_error(post(app, MESSENGER, payload, WA_AUTH), 401, 190)


def test_whatsapp_text_is_accepted(app: FastAPI, sandbox: Sandbox) -> None:
    response = post(app, WHATSAPP, text(to="+39 333 123 4567"), WA_AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+39 333 123 4567", "wa_id": "393331234567"}]
    [sent] = body["messages"]
    assert sent["id"].startswith("wamid.")
    [record] = sandbox.messages(channel="whatsapp")
    assert (record.provider, record.id, record.to) == ("meta", sent["id"], "393331234567")
    assert record.body == "Posti liberi stasera"


def test_whatsapp_template_is_accepted(app: FastAPI, sandbox: Sandbox) -> None:
    payload = {
        "messaging_product": "whatsapp",
        "to": "393331234567",
        "type": "template",
        "template": {"name": "fare_drop", "language": {"code": "it"}},
    }
    response = post(app, WHATSAPP, payload, WA_AUTH)
    assert response.status_code == 200
    assert response.json()["messages"][0]["message_status"] == "accepted"
    assert sandbox.messages()[0].body.startswith("template fare_drop (it)")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (text(to="12ab"), 131026),
        (text(to="+0039"), 131026),
        ({**text(), "messaging_product": "sms"}, 100),
        ({**text(), "to": None}, 100),
        ({**text(), "text": {"body": ""}}, 100),
        ({**text(), "text": {"body": "x" * 4097}}, 100),
        ({**text(), "type": "sticker"}, 100),
        ({**text(), "type": "template"}, 100),
        ([1, 2], 100),
    ],
)
def test_whatsapp_invalid_requests(app: FastAPI, payload: Any, code: int) -> None:
    graph_error(post(app, WHATSAPP, payload, WA_AUTH), 400, code)


def test_whatsapp_recipient_outside_the_allowed_list_is_131030() -> None:
    app = create_app(SandboxConfig(whatsapp_allowed_recipients=frozenset({"393330000000"})))
    error = graph_error(post(app, WHATSAPP, text(), WA_AUTH), 400, 131030)
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert post(app, WHATSAPP, text(to="393330000000"), WA_AUTH).status_code == 200


def test_unknown_phone_number_id(app: FastAPI) -> None:
    error = graph_error(post(app, "/v21.0/999/messages", text(), WA_AUTH), 400, 100)
    assert error["error_subcode"] == 33
    graph_error(post(app, "/latest/999/messages", text(), WA_AUTH), 400, 2500)


def test_messenger_message_is_accepted(app: FastAPI, sandbox: Sandbox) -> None:
    payload = {
        "recipient": {"id": "6543210987"},
        "messaging_type": "MESSAGE_TAG",
        "tag": "POST_PURCHASE_UPDATE",
        "message": {"text": "La tua cabina è pronta"},
    }
    response = post(app, MESSENGER, payload, PAGE_AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["recipient_id"] == "6543210987"
    assert re.fullmatch(r"m_[A-Za-z0-9_-]+", body["message_id"])
    [record] = sandbox.messages(channel="messenger")
    assert (record.id, record.status) == (body["message_id"], "sent")


@pytest.mark.parametrize(
    ("payload", "subcode"),
    [
        (
            {"recipient": {"id": "abc"}, "messaging_type": "UPDATE", "message": {"text": "x"}},
            2018001,
        ),
        ({"recipient": {"id": "42"}, "messaging_type": "PROMO", "message": {"text": "x"}}, None),
        (
            {"recipient": {"id": "42"}, "messaging_type": "MESSAGE_TAG", "message": {"text": "x"}},
            None,
        ),
        ({"recipient": {"id": "42"}, "messaging_type": "UPDATE", "message": {}}, None),
        (
            {
                "recipient": {"id": "42"},
                "messaging_type": "UPDATE",
                "message": {"text": "x" * 2001},
            },
            None,
        ),
    ],
)
def test_messenger_invalid_requests(app: FastAPI, payload: Any, subcode: int | None) -> None:
    error = graph_error(post(app, MESSENGER, payload, PAGE_AUTH), 400, 100)
    assert error.get("error_subcode") == subcode
