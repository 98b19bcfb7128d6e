"""Webhooks from a served sandbox to a small receiving server: signed Twilio status
callbacks, signed WhatsApp statuses, validity expiry, a receiver that is down, inbound
replies with STOP, and the inspection endpoints."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from simulators.sandbox import SandboxConfig, running_sandbox, twilio_client
from simulators.sandbox.inspection import keyword

CUSTOMER = "+393331234567"
SENDER = "+15005550006"
FAST = SandboxConfig(callback_delay_s=0.01, callback_retry_delay_s=0.01)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


class Receiver:
    """A tiny HTTP server recording what it is sent and answering ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def wait(self, count: int, timeout_s: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            assert time.monotonic() < deadline, f"got {len(self.received)} of {count} webhooks"
            time.sleep(0.01)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def test_status_callbacks_are_signed_like_twilio(receiver: Receiver) -> None:
    callback = receiver.url("/twilio/status?tenant=moby")
    with running_sandbox(FAST) as sandbox:
        assert sandbox.base_url is not None
        client = twilio_client(sandbox.base_url, FAST.account_sid, FAST.auth_token)
        message = client.messages.create(
            to=CUSTOMER, from_=SENDER, body="Fare drop", status_callback=callback
        )
        sent, delivered = receiver.wait(2)
        sandbox.wait_idle()
        record = sandbox.message(message.sid)

    validator = RequestValidator(FAST.auth_token)
    for webhook in (sent, delivered):
        assert webhook.path == "/twilio/status?tenant=moby"
        signature = webhook.headers["X-Twilio-Signature"]
        assert validator.validate(callback, webhook.form, signature)
        assert not validator.validate(callback, webhook.form | {"To": "+390000000"}, signature)
        assert webhook.form["MessageSid"] == message.sid
        assert webhook.form["To"] == CUSTOMER and webhook.form["From"] == SENDER
        assert webhook.form["AccountSid"] == FAST.account_sid
        assert webhook.form["ApiVersion"] == "2010-04-01"
        assert "ErrorCode" not in webhook.form
    assert [sent.form["MessageStatus"], delivered.form["MessageStatus"]] == ["sent", "delivered"]
    assert [change.status for change in record.statuses] == ["queued", "sent", "delivered"]
    assert [(hook.event, hook.http_status) for hook in record.webhooks] == [
        ("sent", 200),
        ("delivered", 200),
    ]


def test_undelivered_share_reports_30003(receiver: Receiver) -> None:
    config = SandboxConfig(callback_delay_s=0.01, failure_rate=1.0)
    with running_sandbox(config) as sandbox:
        assert sandbox.base_url is not None
        client = twilio_client(sandbox.base_url, config.account_sid, config.auth_token)
        client.messages.create(
            to=CUSTOMER, from_=SENDER, body="x", status_callback=receiver.url("/s")
        )
        _, last = receiver.wait(2)
    assert (last.form["MessageStatus"], last.form["ErrorCode"]) == ("undelivered", "30003")


def test_message_expiring_in_the_queue_fails_with_30036(receiver: Receiver) -> None:
    """One message every two seconds per sender: the second from the same sender would
    wait about two seconds, past its one-second validity; another sender's is not held up."""
    config = SandboxConfig(callback_delay_s=0.01, sender_mps=0.5)
    callback = receiver.url("/s")
    with running_sandbox(config) as sandbox:
        assert sandbox.base_url is not None
        client = twilio_client(sandbox.base_url, config.account_sid, config.auth_token)
        first, second = (
            client.messages.create(
                to=CUSTOMER, from_=SENDER, body="x", validity_period=1, status_callback=callback
            )
            for _ in range(2)
        )
        other = client.messages.create(to=CUSTOMER, from_="+15005550009", body="x")
        sandbox.wait_for(first.sid, "delivered")
        sandbox.wait_for(other.sid, "delivered")
        expired = sandbox.wait_for(second.sid, "failed")
        sandbox.wait_idle()
        fetched = client.messages(second.sid).fetch()
    assert [change.status for change in expired.statuses] == ["queued", "failed"]
    assert expired.error_code == 30036
    assert (fetched.status, fetched.error_code) == ("failed", 30036)
    [failed] = [hook for hook in receiver.received if hook.form["MessageSid"] == second.sid]
    assert (failed.form["MessageStatus"], failed.form["ErrorCode"]) == ("failed", "30036")


def test_receiver_down_is_retried_then_recorded() -> None:
    down = Receiver(status=503)
    config = SandboxConfig(callback_delay_s=0.0, callback_attempts=3, callback_retry_delay_s=0.01)
    try:
        with running_sandbox(config) as sandbox:
            assert sandbox.base_url is not None
            client = twilio_client(sandbox.base_url, config.account_sid, config.auth_token)
            message = client.messages.create(
                to=CUSTOMER, from_=SENDER, body="x", status_callback=down.url("/s")
            )
            sandbox.wait_for(message.sid, "delivered")
            sandbox.wait_idle()
            record = sandbox.message(message.sid)
    finally:
        down.close()
    assert [(hook.event, hook.attempt, hook.http_status) for hook in record.webhooks] == [
        ("sent", 1, 503),
        ("sent", 2, 503),
        ("sent", 3, 503),
        ("delivered", 1, 503),
        ("delivered", 2, 503),
        ("delivered", 3, 503),
    ]
    tokens = {received.headers["I-Twilio-Idempotency-Token"] for received in down.received}
    assert len(tokens) == 2  # one per event, kept across retries


def test_whatsapp_status_webhooks_are_signed_with_the_app_secret(receiver: Receiver) -> None:
    config = SandboxConfig(
        callback_delay_s=0.01, read_rate=1.0, whatsapp_webhook_url=receiver.url("/meta")
    )
    with running_sandbox(config) as sandbox:
        response = httpx.post(
            f"{sandbox.base_url}/v21.0/{config.whatsapp_phone_number_id}/messages",
            headers={"Authorization": f"Bearer {config.whatsapp_token}"},
            json={"messaging_product": "whatsapp", "to": "393331234567", "text": {"body": "x"}},
        )
        wamid = response.json()["messages"][0]["id"]
        webhooks = receiver.wait(3)
    statuses = []
    for webhook in webhooks:
        expected = hmac.new(config.app_secret.encode(), webhook.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(webhook.headers["X-Hub-Signature-256"], f"sha256={expected}")
        payload = json.loads(webhook.body)
        assert payload["object"] == "whatsapp_business_account"
        [entry] = payload["entry"]
        assert entry["id"] == config.whatsapp_business_account_id
        [change] = entry["changes"]
        assert change["field"] == "messages"
        value = change["value"]
        assert value["messaging_product"] == "whatsapp"
        assert value["metadata"]["phone_number_id"] == config.whatsapp_phone_number_id
        [status] = value["statuses"]
        assert (status["id"], status["recipient_id"]) == (wamid, "393331234567")
        assert status["timestamp"].isdigit()
        statuses.append(status["status"])
    assert statuses == ["sent", "delivered", "read"]


def test_whatsapp_failed_status_carries_the_error(receiver: Receiver) -> None:
    config = SandboxConfig(
        callback_delay_s=0.01, failure_rate=1.0, whatsapp_webhook_url=receiver.url("/meta")
    )
    with running_sandbox(config) as sandbox:
        httpx.post(
            f"{sandbox.base_url}/v21.0/{config.whatsapp_phone_number_id}/messages",
            headers={"Authorization": f"Bearer {config.whatsapp_token}"},
            json={"messaging_product": "whatsapp", "to": "393331234567", "text": {"body": "x"}},
        )
        _, failed = receiver.wait(2)
    status = json.loads(failed.body)["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status["status"] == "failed"
    assert status["errors"][0]["code"] == 131026


def test_stop_reply_posts_inbound_webhook_and_blocks_later_sends(receiver: Receiver) -> None:
    inbound_url = receiver.url("/twilio/sms")
    config = SandboxConfig(callback_delay_s=0.01, inbound_url=inbound_url)
    with running_sandbox(config) as sandbox:
        assert sandbox.base_url is not None
        reply = httpx.post(
            f"{sandbox.base_url}/sandbox/reply", json={"from": CUSTOMER, "body": " stop "}
        )
        assert reply.status_code == 200
        assert reply.json()["keyword"] == "opt_out"
        assert reply.json()["webhooks"][0]["http_status"] == 200
        [webhook] = receiver.wait(1)
        assert CUSTOMER in sandbox.stop_list

        client = twilio_client(sandbox.base_url, config.account_sid, config.auth_token)
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=CUSTOMER, from_=SENDER, body="One more offer")
        assert (raised.value.status, raised.value.code) == (400, 21610)

        httpx.post(f"{sandbox.base_url}/sandbox/reply", json={"from": CUSTOMER, "body": "START"})
        assert CUSTOMER not in sandbox.stop_list
        assert client.messages.create(to=CUSTOMER, from_=SENDER, body="Welcome back").sid

    form = webhook.form
    signature = webhook.headers["X-Twilio-Signature"]
    assert RequestValidator(config.auth_token).validate(inbound_url, form, signature)
    assert form["From"] == CUSTOMER and form["To"] == config.twilio_number
    assert form["Body"] == " stop " and form["NumMedia"] == "0"
    assert form["AccountSid"] == config.account_sid
    assert form["MessageSid"].startswith("SM")


@pytest.mark.parametrize("body", ["STOPALL", "unsubscribe", "Cancel", " END", "quit\n"])
def test_every_twilio_opt_out_keyword_counts(body: str) -> None:
    assert keyword(body) == "opt_out"
    assert keyword("stop by the port tomorrow") is None


def test_inspection_endpoints(receiver: Receiver) -> None:
    with running_sandbox(FAST) as sandbox:
        base = sandbox.base_url
        assert base is not None
        client = twilio_client(base, FAST.account_sid, FAST.auth_token)
        first = client.messages.create(to=CUSTOMER, from_=SENDER, body="a")
        client.messages.create(to="+393339999999", from_=SENDER, body="b")
        sandbox.wait_for(first.sid, "delivered")
        sandbox.wait_idle()

        listed = httpx.get(f"{base}/sandbox/messages", params={"to": CUSTOMER}).json()
        assert [item["id"] for item in listed] == [first.sid]
        assert listed[0]["channel"] == "sms" and listed[0]["status"] == "delivered"
        assert [entry["status"] for entry in listed[0]["statuses"]] == [
            "queued",
            "sent",
            "delivered",
        ]
        assert len(httpx.get(f"{base}/sandbox/messages", params={"channel": "sms"}).json()) == 2
        assert httpx.get(f"{base}/sandbox/messages", params={"channel": "whatsapp"}).json() == []
        one = httpx.get(f"{base}/sandbox/messages/{first.sid}")
        assert one.json()["body"] == "a"
        assert httpx.get(f"{base}/sandbox/messages/SMnothing").status_code == 404

        httpx.post(f"{base}/sandbox/reply", json={"from": CUSTOMER, "body": "hello"})
        assert [item["body"] for item in httpx.get(f"{base}/sandbox/inbound").json()] == ["hello"]
        assert httpx.get(f"{base}/sandbox/stop-list").json() == {"numbers": []}

        assert httpx.post(f"{base}/sandbox/reset").json() == {"reset": True}
        assert httpx.get(f"{base}/sandbox/messages").json() == []
        assert sandbox.inbound() == []
        again = client.messages.create(to=CUSTOMER, from_=SENDER, body="a")
        assert again.sid == first.sid  # identifiers are reseeded too


def test_reset_stops_deliveries_of_before() -> None:
    config = SandboxConfig(callback_delay_s=0.05)
    with running_sandbox(config) as sandbox:
        assert sandbox.base_url is not None
        client = twilio_client(sandbox.base_url, config.account_sid, config.auth_token)
        message = client.messages.create(to=CUSTOMER, from_=SENDER, body="x")
        sandbox.reset()
        sandbox.wait_idle()
        assert sandbox.messages() == []
        with pytest.raises(KeyError):
            sandbox.message(message.sid)


def test_shutdown_cancels_deliveries_under_way(receiver: Receiver) -> None:
    config = SandboxConfig(callback_delay_s=60.0)
    started = time.monotonic()
    with running_sandbox(config) as sandbox:
        assert sandbox.base_url is not None
        client = twilio_client(sandbox.base_url, config.account_sid, config.auth_token)
        client.messages.create(
            to=CUSTOMER, from_=SENDER, body="x", status_callback=receiver.url("/s")
        )
        assert sandbox.background.pending == 1
    assert time.monotonic() - started < 5
    assert sandbox.background.pending == 0
    assert sandbox.base_url is None
    assert receiver.received == []
