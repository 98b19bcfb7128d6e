"""Delivery statuses from the providers' webhooks: Twilio's status callback and WhatsApp's
notifications (verification, signature, shape), recorded only when they move a message
forward and published to offers.delivery-status."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from offers.contracts import Channel, DeliveryState, DeliveryStatus, decode
from offers.settings import (
    DEVELOPMENT_META_APP_SECRET,
    DEVELOPMENT_WHATSAPP_VERIFY_TOKEN,
    Settings,
)
from offers.topics import DELIVERY_STATUS
from offers_api.signatures import sign_meta, sign_twilio, verify_meta
from tests.unit.offers_api.state_fakes import api_client

STATUS = "/v1/webhooks/twilio/status"
WHATSAPP = "/v1/webhooks/whatsapp"
SID = "SM" + "0123456789abcdef" * 2
WAMID = "wamid.HBgLMzkzMzMxMjM0NTY3FQIAERgSQzFGQjY0RkY2NjA4NjE0QjdCAA=="
SENT_AT = datetime(2025, 6, 1, 12, 0, 5, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test")


@pytest.fixture
def client(settings: Settings) -> tuple[TestClient, Any]:
    """The API over fakes, and its state (``writer``, ``statuses``)."""
    return api_client(settings)


def published(api: Any) -> list[DeliveryStatus]:
    events = [decode(json.dumps(v)) for v in api.writer.values(DELIVERY_STATUS.name)]
    assert all(isinstance(event, DeliveryStatus) for event in events)
    return events  # type: ignore[return-value]


# Twilio status callbacks


def twilio_status(
    client: TestClient, settings: Settings, status: str, *, sid: str = SID, **extra: str
) -> Any:
    query = "decision_id=dec-1&customer_id=cust-1"
    form = {"MessageSid": sid, "MessageStatus": status, **extra}
    url = f"{settings.public_base_url}{STATUS}?{query}"
    signature = sign_twilio(settings.twilio_auth_token.get_secret_value(), url, form)
    return client.post(f"{STATUS}?{query}", data=form, headers={"X-Twilio-Signature": signature})


def test_a_twilio_status_is_recorded_and_published(client: Any, settings: Settings) -> None:
    test_client, api = client
    response = twilio_status(test_client, settings, "delivered")
    assert response.status_code == 204, response.text
    [event] = published(api)
    assert event.event_id == f"ds-{SID}-delivered"
    assert (event.decision_id, event.customer_id) == ("dec-1", "cust-1")
    assert event.channel is Channel.SMS and event.status is DeliveryState.DELIVERED
    assert event.provider_message_id == SID
    [call] = api.statuses.calls
    assert call["message_id"] == SID and call["status"] is DeliveryState.DELIVERED


def test_a_repeated_twilio_status_is_published_again_a_late_one_is_dropped(
    client: Any, settings: Settings
) -> None:
    test_client, api = client
    for status in ("sent", "delivered", "delivered", "sent", "queued"):
        assert twilio_status(test_client, settings, status).status_code == 204
    ids = [event.event_id for event in published(api)]
    assert ids == [f"ds-{SID}-sent", f"ds-{SID}-delivered", f"ds-{SID}-delivered"]


def test_a_failure_keeps_its_error_code_and_is_terminal(client: Any, settings: Settings) -> None:
    test_client, api = client
    twilio_status(test_client, settings, "failed", ErrorCode="30003")
    twilio_status(test_client, settings, "undelivered", ErrorCode="30005")
    [event] = published(api)
    assert event.status is DeliveryState.FAILED and event.error_code == "30003"


@pytest.mark.parametrize(
    ("twilio", "state"),
    [
        ("accepted", DeliveryState.QUEUED),
        ("scheduled", DeliveryState.QUEUED),
        ("sending", DeliveryState.SENT),
        ("read", DeliveryState.DELIVERED),
        ("canceled", DeliveryState.FAILED),
    ],
)
def test_twilio_statuses_beyond_the_delivery_states_are_mapped(
    client: Any, settings: Settings, twilio: str, state: DeliveryState
) -> None:
    test_client, api = client
    assert twilio_status(test_client, settings, twilio).status_code == 204
    [event] = published(api)
    assert event.status is state and event.event_id == f"ds-{SID}-{state.value}"


@pytest.mark.parametrize("twilio", ["receiving", "received", "partially_delivered"])
def test_twilio_statuses_of_no_delivery_are_ignored(
    client: Any, settings: Settings, twilio: str
) -> None:
    test_client, api = client
    assert twilio_status(test_client, settings, twilio).status_code == 204
    assert api.writer.records == [] and api.statuses.calls == []


def test_an_unknown_twilio_status_is_422(client: Any, settings: Settings) -> None:
    test_client, api = client
    response = twilio_status(test_client, settings, "bounced")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("MessageStatus 'bounced' is not one of queued")
    assert api.writer.records == []


def test_an_unsigned_twilio_status_is_403(client: Any) -> None:
    test_client, api = client
    query = "decision_id=dec-1&customer_id=cust-1"
    response = test_client.post(
        f"{STATUS}?{query}", data={"MessageSid": SID, "MessageStatus": "sent"}
    )
    assert response.status_code == 403
    assert api.statuses.calls == []


# WhatsApp: the URL's verification


def verification(**params: str) -> dict[str, str]:
    defaults = {
        "hub.mode": "subscribe",
        "hub.verify_token": DEVELOPMENT_WHATSAPP_VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    return {**defaults, **params}


def test_meta_verifies_the_url(client: Any) -> None:
    test_client, _ = client
    response = test_client.get(WHATSAPP, params=verification())
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"hub.verify_token": "guessed"}, "hub.verify_token does not match"),
        ({"hub.mode": "unsubscribe"}, "hub.mode must be 'subscribe'"),
    ],
)
def test_a_wrong_verification_is_403(client: Any, params: dict[str, str], detail: str) -> None:
    test_client, _ = client
    response = test_client.get(WHATSAPP, params=verification(**params))
    assert response.status_code == 403
    assert response.json() == {"detail": detail}


def test_a_verification_without_token_is_403(client: Any) -> None:
    test_client, _ = client
    response = test_client.get(WHATSAPP, params={"hub.mode": "subscribe", "hub.challenge": "1"})
    assert response.status_code == 403


# WhatsApp: status notifications


def wa_status(status: str, *, at: datetime = SENT_AT, **extra: Any) -> dict[str, Any]:
    return {
        "id": WAMID,
        "status": status,
        "timestamp": str(int(at.timestamp())),
        "recipient_id": "393331234567",
        "biz_opaque_callback_data": "dec-1 cust-1",
        "conversation": {"id": "c-1", "origin": {"type": "marketing"}},
        **extra,
    }


def notification(*statuses: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "100000000000001"},
                            "statuses": list(statuses),
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def post_signed(
    test_client: TestClient, body: bytes, secret: str = DEVELOPMENT_META_APP_SECRET
) -> Any:
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign_meta(secret, body)}
    return test_client.post(WHATSAPP, content=body, headers=headers)


def test_a_whatsapp_status_is_recorded_and_published(client: Any) -> None:
    test_client, api = client
    body = json.dumps(notification(wa_status("delivered"))).encode()
    response = post_signed(test_client, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"statuses": 1, "skipped": 0}
    [event] = published(api)
    assert event.channel is Channel.WHATSAPP and event.status is DeliveryState.DELIVERED
    assert (event.decision_id, event.customer_id) == ("dec-1", "cust-1")
    assert event.event_time == SENT_AT
    assert event.provider_message_id == WAMID
    assert event.event_id.startswith("ds-wa-") and event.event_id.endswith("-delivered")
    assert api.statuses.calls[0]["at"] == SENT_AT


def test_whatsapp_statuses_in_order_duplicated_and_late(client: Any) -> None:
    test_client, api = client
    statuses = [wa_status(s) for s in ("sent", "delivered", "read", "sent")]
    response = post_signed(test_client, json.dumps(notification(*statuses)).encode())
    assert response.json() == {"statuses": 3, "skipped": 1}
    events = published(api)
    assert [e.status for e in events] == [DeliveryState.SENT] + [DeliveryState.DELIVERED] * 2
    assert events[1].event_id == events[2].event_id != events[0].event_id


def test_a_failed_whatsapp_status_carries_the_first_error_code(client: Any) -> None:
    test_client, api = client
    errors = [{"code": 131026, "title": "Message undeliverable"}, {"code": 1}]
    post_signed(test_client, json.dumps(notification(wa_status("failed", errors=errors))).encode())
    [event] = published(api)
    assert event.status is DeliveryState.FAILED and event.error_code == "131026"


@pytest.mark.parametrize(
    "status",
    [
        wa_status("sent", biz_opaque_callback_data=None),
        wa_status("sent", biz_opaque_callback_data="dec-1"),
        wa_status("sent", biz_opaque_callback_data="dec-1 cust 1"),
        wa_status("sent", biz_opaque_callback_data="dec/1 cust-1"),
        wa_status("deleted"),
        wa_status("sent", at=datetime(2999, 1, 1, tzinfo=UTC)),
    ],
    ids=["no-data", "one-id", "three-parts", "bad-id", "untracked", "future"],
)
def test_a_status_that_cannot_be_recorded_is_skipped(client: Any, status: dict[str, Any]) -> None:
    test_client, api = client
    response = post_signed(test_client, json.dumps(notification(status)).encode())
    assert response.status_code == 200
    assert response.json() == {"statuses": 0, "skipped": 1}
    assert api.writer.records == [] and api.statuses.calls == []


def test_inbound_messages_are_acknowledged_and_ignored(client: Any) -> None:
    test_client, api = client
    inbound = {"from": "393331234567", "id": "wamid.in", "type": "text", "text": {"body": "hi"}}
    body = json.dumps(notification(messages=[inbound])).encode()
    response = post_signed(test_client, body)
    assert response.json() == {"statuses": 0, "skipped": 0}
    assert api.writer.records == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": "not a signature"},
    ],
    ids=["missing", "forged", "garbage"],
)
def test_an_unsigned_or_forged_notification_is_403(client: Any, headers: dict[str, str]) -> None:
    test_client, api = client
    body = json.dumps(notification(wa_status("sent"))).encode()
    response = test_client.post(WHATSAPP, content=body, headers=headers)
    assert response.status_code == 403
    assert "X-Hub-Signature-256" in response.json()["detail"]
    assert api.statuses.calls == []


def test_a_notification_signed_with_another_secret_is_403(client: Any) -> None:
    test_client, _ = client
    body = json.dumps(notification(wa_status("sent"))).encode()
    assert post_signed(test_client, body, secret="another-secret").status_code == 403


def test_a_changed_body_is_403(client: Any) -> None:
    test_client, _ = client
    body = json.dumps(notification(wa_status("sent"))).encode()
    signature = sign_meta(DEVELOPMENT_META_APP_SECRET, body)
    changed = body.replace(b"dec-1", b"dec-2")
    response = test_client.post(
        WHATSAPP, content=changed, headers={"X-Hub-Signature-256": signature}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "where", "fragment"),
    [
        (b"{not json", ["body"], "Invalid JSON"),
        (json.dumps({"object": "page", "entry": []}).encode(), ["body", "object"], "Input should"),
        (json.dumps({"object": "whatsapp_business_account"}).encode(), ["body", "entry"], "Field"),
        (
            json.dumps(notification({"id": WAMID, "status": "sent"})).encode(),
            ["body", "entry", "0", "changes", "0", "value", "statuses", "0", "timestamp"],
            "Field required",
        ),
        (
            json.dumps(notification(wa_status("sent", timestamp="yesterday"))).encode(),
            ["body", "entry", "0", "changes", "0", "value", "statuses", "0", "timestamp"],
            "integer",
        ),
    ],
    ids=["not-json", "other-object", "no-entry", "no-timestamp", "bad-timestamp"],
)
def test_a_malformed_notification_is_422_naming_the_field(
    client: Any, body: bytes, where: list[str], fragment: str
) -> None:
    test_client, api = client
    response = post_signed(test_client, body)
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert any(p["loc"] == where and fragment in p["msg"] for p in problems), problems
    assert api.writer.records == []


def test_meta_signature_round_trip() -> None:
    body = b'{"object":"whatsapp_business_account"}'
    signature = sign_meta("s3cret", body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify_meta("s3cret", body, signature)
    assert not verify_meta("s3cret", body + b" ", signature)
    assert not verify_meta("other", body, signature)
    assert not verify_meta("s3cret", body, None)
    assert not verify_meta("", body, signature)
    assert not verify_meta("s3cret", body, signature.upper())
