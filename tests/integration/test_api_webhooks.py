"""Twilio webhooks on the real broker and Redis: forged or unsigned requests are refused;
STOP (in four languages) withdraws SMS consent and START grants it again, each reaching a
running worker within a second; delivery statuses land on offers.delivery-status."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from offers.contracts import ConsentScope, DeliveryStatus, decode
from offers.roles import Role
from offers.settings import Settings
from offers.stack.workers import WorkerProcess
from offers.topics import DELIVERY_STATUS
from offers_api.signatures import sign_twilio
from offers_api.state import ApiState
from tests.integration.api_client import api, bearer
from tests.integration.groups import worker_settings
from tests.integration.kafka_io import end_offsets, read_records

SMS = "/v1/webhooks/twilio/sms"


@pytest.fixture(scope="module")
def client(stack_settings: Settings) -> Iterator[TestClient]:
    with api(stack_settings) as running:
        yield running


def signed_post(
    client: TestClient, settings: Settings, path: str, form: dict[str, str]
) -> httpx.Response:
    url = settings.public_base_url + path
    signature = sign_twilio(settings.twilio_auth_token.get_secret_value(), url, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def api_state(client: TestClient) -> ApiState:
    state: ApiState = client.app.state.api  # type: ignore[attr-defined]  # Starlette's app is untyped here
    return state


def customer_with_phone(client: TestClient, settings: Settings) -> tuple[str, str]:
    customer = f"c-{uuid.uuid4().hex[:10]}"
    phone = f"+39333{uuid.uuid4().int % 10_000_000:07d}"
    headers = bearer(settings, customer, Role.CUSTOMER)
    client.put(f"/v1/customers/{customer}/contact", json={"phone": phone}, headers=headers)
    client.put(f"/v1/customers/{customer}/consent/sms", json={"granted": True}, headers=headers)
    return customer, phone


def test_unsigned_and_forged_requests_are_refused(
    client: TestClient, stack_settings: Settings
) -> None:
    form = {"From": "+393330000000", "Body": "STOP"}
    assert client.post(SMS, data=form).status_code == 403
    forged = client.post(SMS, data=form, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert forged.status_code == 403
    url = stack_settings.public_base_url + SMS
    signature = sign_twilio("another-token", url, form)
    assert client.post(SMS, data=form, headers={"X-Twilio-Signature": signature}).status_code == 403


@pytest.mark.parametrize("keyword", ["STOP", "stop.", "Basta", "ARRÊT", "Abmelden"])
def test_an_opt_out_keyword_withdraws_sms_consent_and_is_answered(
    client: TestClient, stack_settings: Settings, keyword: str
) -> None:
    customer, phone = customer_with_phone(client, stack_settings)
    response = signed_post(client, stack_settings, SMS, {"From": phone, "Body": keyword})
    assert response.status_code == 200, response.text
    assert "<Message>" in response.text
    state = api_state(client)
    assert state.consent.granted(customer, ConsentScope.SMS) is False


def test_start_grants_again_help_answers_other_text_is_silent(
    client: TestClient, stack_settings: Settings
) -> None:
    customer, phone = customer_with_phone(client, stack_settings)
    state = api_state(client)
    signed_post(client, stack_settings, SMS, {"From": phone, "Body": "STOP"})
    signed_post(client, stack_settings, SMS, {"From": phone, "Body": "START"})
    assert state.consent.granted(customer, ConsentScope.SMS) is True
    helped = signed_post(client, stack_settings, SMS, {"From": phone, "Body": "HELP"})
    assert "<Message>" in helped.text
    chat = signed_post(client, stack_settings, SMS, {"From": phone, "Body": "stop by at 5?"})
    assert "<Message>" not in chat.text
    assert state.consent.granted(customer, ConsentScope.SMS) is True


def test_a_status_callback_lands_on_the_delivery_status_topic(
    client: TestClient, stack_settings: Settings
) -> None:
    path = "/v1/webhooks/twilio/status?decision_id=dec-42&customer_id=c-42"
    before = end_offsets(stack_settings.kafka_bootstrap, DELIVERY_STATUS.name)
    form = {"MessageSid": "SM123", "MessageStatus": "delivered"}
    response = signed_post(client, stack_settings, path, form)
    assert response.status_code == 204, response.text
    landed = [
        decode(r.value)
        for r in read_records(stack_settings.kafka_bootstrap, DELIVERY_STATUS.name, before)
    ]
    assert len(landed) == 1 and isinstance(landed[0], DeliveryStatus)
    assert (landed[0].decision_id, landed[0].status.value) == ("dec-42", "delivered")
    bad = signed_post(client, stack_settings, path, {"MessageSid": "SM1", "MessageStatus": "lost"})
    assert bad.status_code == 422 and "MessageStatus" in bad.text


def test_a_stop_reaches_a_running_worker_within_one_second(
    stack_settings: Settings, tmp_path: Path
) -> None:
    settings = worker_settings(stack_settings, tmp_path, "stop-propagation", redis_db=6)
    with api(settings) as client, WorkerProcess(settings, "worker", tmp_path) as worker:
        customer, phone = customer_with_phone(client, settings)
        worker.wait_ready()
        deadline = time.monotonic() + 60  # the worker follows the topic once started
        while worker.page(f"/consent/{customer}") != {"sms": True}:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        started = time.monotonic()
        signed_post(client, settings, SMS, {"From": phone, "Body": "STOP"})
        while worker.page(f"/consent/{customer}") != {"sms": False}:
            assert time.monotonic() - started < 1.0, "STOP not seen by the worker in 1 s"
            time.sleep(0.02)
