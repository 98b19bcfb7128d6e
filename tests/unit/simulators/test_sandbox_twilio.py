"""The sandbox's Twilio Messages API: authentication, validation codes, the message
resource, and the official ``twilio`` client pointed at it."""

from __future__ import annotations

import asyncio
import re
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from twilio.base.exceptions import TwilioRestException

from simulators.sandbox import Sandbox, SandboxConfig, create_app, running_sandbox, twilio_client
from simulators.sandbox.client import SandboxHttpClient
from simulators.sandbox.twilio_api import num_segments

CONFIG = SandboxConfig()
SID = CONFIG.account_sid
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
AUTH = (SID, CONFIG.auth_token)
CUSTOMER = "+393331234567"
SENDER = "+15005550006"


def call(app: FastAPI, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def send(app: FastAPI, auth: Any = AUTH, **fields: str) -> httpx.Response:
    form = {"To": CUSTOMER, "From": SENDER, "Body": "Your ferry fare dropped"} | fields
    form = {name: value for name, value in form.items() if value is not None}
    return call(app, "POST", MESSAGES, data=form, auth=auth)


def assert_twilio_error(response: httpx.Response, status: int, code: int) -> None:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["code"] == code
    assert body["status"] == status
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert body["message"]


@pytest.fixture
def app() -> FastAPI:
    return create_app(CONFIG)


@pytest.mark.parametrize(
    "auth",
    [None, (SID, "wrong-token"), ("AC" + "1" * 32, CONFIG.auth_token)],
    ids=["missing", "wrong-token", "other-account"],
)
def test_bad_credentials_get_twilio_401(app: FastAPI, auth: Any) -> None:
    response = send(app, auth=auth)
    assert_twilio_error(response, 401, 20003)
    assert response.json()["message"] == "Authenticate"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_path_account_must_be_the_callers(app: FastAPI) -> None:
    other = "AC" + "2" * 32
    url = f"/2010-04-01/Accounts/{other}/Messages.json"
    response = call(app, "POST", url, data={"To": CUSTOMER, "Body": "x"}, auth=(other, "t"))
    assert_twilio_error(response, 401, 20003)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"To": None}, 21604),
        ({"To": "3331234567"}, 21211),
        ({"To": "+0123"}, 21211),
        ({"From": None}, 21603),
        ({"From": "not a number!"}, 21212),
        ({"From": "whatsapp:+15005550006"}, 21910),
        ({"Body": None}, 21602),
        ({"Body": "   "}, 21602),
        ({"Body": "x" * 1601}, 21617),
        ({"ValidityPeriod": "0"}, 21624),
        ({"ValidityPeriod": "36001"}, 21624),
        ({"ValidityPeriod": "soon"}, 21624),
        ({"StatusCallback": "ftp://example.com/status"}, 21609),
    ],
)
def test_invalid_requests_get_twilio_codes(app: FastAPI, fields: dict[str, Any], code: int) -> None:
    assert_twilio_error(send(app, **fields), 400, code)


def test_unsubscribed_recipient_gets_21610() -> None:
    sandbox = Sandbox(CONFIG)
    app = create_app(sandbox=sandbox)
    sandbox.opt_out(CUSTOMER)
    assert_twilio_error(send(app), 400, 21610)
    assert sandbox.messages() == []
    sandbox.opt_in(CUSTOMER)
    assert send(app).status_code == 201


def test_accepted_message_is_a_twilio_resource() -> None:
    sandbox = Sandbox(CONFIG)
    app = create_app(sandbox=sandbox)
    response = send(app, ValidityPeriod="600", ProvideFeedback="true")
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", body["sid"])
    assert body["account_sid"] == SID
    assert (body["to"], body["from"]) == (CUSTOMER, SENDER)
    assert body["body"] == "Your ferry fare dropped"
    assert body["status"] == "queued"
    assert body["error_code"] is None and body["error_message"] is None
    assert body["num_segments"] == "1"
    assert body["messaging_service_sid"] is None
    assert body["uri"] == f"/2010-04-01/Accounts/{SID}/Messages/{body['sid']}.json"
    assert parsedate_to_datetime(body["date_created"]).utcoffset() is not None
    [record] = sandbox.messages()
    assert (record.provider, record.channel, record.id) == ("twilio", "sms", body["sid"])
    assert record.validity_period_s == 600


def test_messaging_service_without_from_is_accepted(app: FastAPI) -> None:
    service = "MG" + "a" * 32
    response = send(app, From=None, MessagingServiceSid=service)
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["from"]) == ("accepted", None)
    assert body["messaging_service_sid"] == service


def test_fetch_returns_the_recorded_message(app: FastAPI) -> None:
    sid = send(app).json()["sid"]
    fetched = call(app, "GET", f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json", auth=AUTH)
    assert fetched.status_code == 200
    assert fetched.json()["sid"] == sid
    missing = call(app, "GET", f"/2010-04-01/Accounts/{SID}/Messages/SM{'0' * 32}.json", auth=AUTH)
    assert_twilio_error(missing, 404, 20404)
    unauthorised = call(app, "GET", f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json")
    assert_twilio_error(unauthorised, 401, 20003)


@pytest.mark.parametrize(
    ("body", "segments"),
    [("a" * 160, 1), ("a" * 161, 2), ("€" * 80, 1), ("€" * 81, 2), ("è" * 70, 1), ("ę" * 71, 2)],
)
def test_segments_follow_gsm7_and_ucs2(body: str, segments: int) -> None:
    assert num_segments(body) == segments


def test_official_twilio_client_sends_and_fetches() -> None:
    with running_sandbox(SandboxConfig(callback_delay_s=0.0)) as sandbox:
        assert sandbox.base_url is not None
        client = twilio_client(sandbox.base_url, SID, CONFIG.auth_token)
        message = client.messages.create(
            to=CUSTOMER, from_=SENDER, body="Ciao! Posti liberi stasera", validity_period=300
        )
        assert message.status == "queued"
        assert message.account_sid == SID
        assert message.date_created is not None
        sandbox.wait_for(message.sid, "delivered")
        assert client.messages(message.sid).fetch().status == "delivered"

        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to="12345", from_=SENDER, body="x")
        assert (raised.value.status, raised.value.code) == (400, 21211)

        wrong = twilio_client(sandbox.base_url, SID, "not-the-token")
        with pytest.raises(TwilioRestException) as raised:
            wrong.messages.create(to=CUSTOMER, from_=SENDER, body="x")
        assert (raised.value.status, raised.value.code) == (401, 20003)


def test_sandbox_http_client_refuses_other_hosts() -> None:
    client = SandboxHttpClient("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="only https://api.twilio.com"):
        client.request("GET", "https://messaging.twilio.com/v1/Services")
