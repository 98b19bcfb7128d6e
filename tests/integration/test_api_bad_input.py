"""Bad input at the API, on the real broker and Redis: oversized bodies (announced or
chunked, over real HTTP), deep JSON, text that is not UTF-8, huge numbers, coordinates out
of range, times far away, replayed webhooks and callers over their rate. Each is answered
4xx with a body naming the problem, never 5xx; nothing refused lands on a topic, nothing
replayed acts twice, and good input still goes through."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from offers.contracts import ConsentScope, DeliveryStatus, LocationPing, decode
from offers.roles import Role
from offers.settings import Settings
from offers.stack.api import ApiProcess
from offers.topics import CONSENT, DELIVERY_STATUS, LOCATION
from offers_api.signatures import sign_meta, sign_twilio
from offers_api.state import ApiState
from tests.integration.api_client import api, bearer
from tests.integration.kafka_io import end_offsets, read_records
from tests.unit.campaigns.factories import runnable_wire as runnable

JSON = {"Content-Type": "application/json"}
LIMIT = 64 * 1024
SMS = "/v1/webhooks/twilio/sms"


@pytest.fixture(scope="module")
def client(stack_settings: Settings) -> Iterator[TestClient]:
    with api(stack_settings) as running:
        yield running


@pytest.fixture(scope="module")
def served(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API served by uvicorn in a child process, for what only real HTTP shows: a
    body sent chunked, and the connection after a refusal."""
    with ApiProcess(stack_settings, tmp_path_factory.mktemp("api")) as process:
        process.wait_ready()
        yield process.base_url


def new_customer() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def as_customer(settings: Settings, customer: str) -> dict[str, str]:
    return bearer(settings, customer, Role.CUSTOMER)


def as_marketer(settings: Settings) -> dict[str, str]:
    return bearer(settings, "u-marta", Role.MARKETER)


def problems(response: httpx.Response) -> str:
    """The problem body of a refusal, as text; fails on a 5xx or a body without one."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    detail = response.json()["detail"]
    assert detail, response.text
    return json.dumps(detail)


def fields(response: httpx.Response) -> dict[str, str]:
    """A 422's fields at fault: ``{"body.lat": reason}``."""
    assert response.status_code == 422, response.text
    return {".".join(map(str, d["loc"])): d["msg"] for d in response.json()["detail"]}


def api_state(client: TestClient) -> ApiState:
    state: ApiState = client.app.state.api  # type: ignore[attr-defined]  # Starlette's app is untyped here
    return state


# Size, over real HTTP


def test_an_oversized_body_is_413_announced_or_chunked(served: str) -> None:
    path = "/v1/customers/c-big/locations"
    big = b'{"lat": 43.5, "lon": 10.3, "accuracy_m": 5, "pad": "' + b"x" * 70_000 + b'"}'
    with httpx.Client(base_url=served, timeout=30) as http:
        announced = http.post(path, content=big, headers=JSON)
        assert announced.status_code == 413
        assert f"(Content-Length {len(big)}) is larger than the limit of {LIMIT}" in problems(
            announced
        )
        streamed = http.post(path, content=iter([big[:4096], big[4096:40_000], big[40_000:]]))
        assert streamed.request.headers["Transfer-Encoding"] == "chunked"
        assert streamed.status_code == 413
        assert f"larger than the limit of {LIMIT} bytes" in problems(streamed)
        # the connection serves the next request; a body within the limit goes on to
        # the credentials check
        within = http.post(path, content=big[:1000] + b'"}', headers=JSON)
        assert within.status_code == 401, within.text


# JSON the parser must not choke on


def test_deep_json_is_refused_saying_so(client: TestClient, stack_settings: Settings) -> None:
    marketer = as_marketer(stack_settings)
    hundred_thousand = b"[" * 100_000 + b"]" * 100_000
    too_big = client.post("/v1/campaigns", content=hundred_thousand, headers={**JSON, **marketer})
    assert too_big.status_code == 413, too_big.text
    ten_thousand = b"[" * 10_000 + b"]" * 10_000  # 20 kB: a RecursionError in json.loads
    deep = client.post("/v1/campaigns", content=ten_thousand, headers={**JSON, **marketer})
    assert deep.status_code == 422 and "nested deeper than 32" in problems(deep)
    offer: dict[str, Any] = {"kind": "percent_discount", "percent": 10}
    for _ in range(40):
        offer = {"kind": "percent_discount", "percent": 10, "extra": offer}
    nested = client.post("/v1/campaigns", json=runnable(offer=offer), headers=marketer)
    assert nested.status_code == 422 and "nested deeper than 32" in problems(nested)


@pytest.mark.parametrize(
    "body",
    [
        b'{"lat": 43.5, "lon": 10.3, "accuracy_m": 5, "note": "\xff\xfe"}',
        b'{"lat": 43.5, "lon": 10.3, "accuracy_m": 5, "note": "\xc3\x28"}',
        b'{"lat": 43.5, "lon": 10.3, "accuracy_m": 5, "note": "\xe2\x82',
    ],
    ids=["invalid-start", "invalid-continuation", "truncated"],
)
def test_text_that_is_not_utf8_is_400(
    client: TestClient, stack_settings: Settings, body: bytes
) -> None:
    me = new_customer()
    response = client.post(
        f"/v1/customers/{me}/locations",
        content=body,
        headers={**JSON, **as_customer(stack_settings, me)},
    )
    assert response.status_code == 400
    assert "the body is not valid UTF-8" in problems(response)


# Numbers, coordinates and times


def ping_body(**fields_: str) -> bytes:
    """A location body with some values written as raw JSON text."""
    values = {"lat": "43.55", "lon": "10.31", "accuracy_m": "8.0", **fields_}
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}").encode()


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        (ping_body(lat="1e400"), "body.lat", "finite number"),
        (ping_body(lon="-1e400"), "body.lon", "finite number"),
        (ping_body(lat="1" + "0" * 400), "body.lat", "valid number"),
        (ping_body(accuracy_m="1" + "0" * 5000), "body", "longer than 1000 characters"),
        (ping_body(lat="91"), "body.lat", "less than or equal to 90"),
        (ping_body(lat="-90.5"), "body.lat", "greater than or equal to -90"),
        (ping_body(lon="181"), "body.lon", "less than or equal to 180"),
        (ping_body(measured_at='"0001-01-01T00:00:00Z"'), "body.measured_at", "24 hours"),
        (ping_body(measured_at='"9999-12-31T23:59:59Z"'), "body.measured_at", "future"),
        (ping_body(measured_at="1e12"), "body.measured_at", "2001-09-09"),
        (ping_body(measured_at="1e20"), "body.measured_at", "after 9999"),
        (ping_body(measured_at='"2026-07-01T10:00:00"'), "body.measured_at", "timezone"),
    ],
    ids=[
        "lat-1e400", "lon--1e400", "lat-10^400", "accuracy-10^5000", "lat-91", "lat--90.5",
        "lon-181", "year-1", "year-9999", "1e12-seconds", "1e20-seconds", "naive",
    ],
)  # fmt: skip
def test_a_bad_ping_is_422_naming_the_field_and_nothing_lands(
    client: TestClient, stack_settings: Settings, body: bytes, field: str, fragment: str
) -> None:
    me = new_customer()
    headers = as_customer(stack_settings, me)
    client.put(f"/v1/customers/{me}/consent/location", json={"granted": True}, headers=headers)
    before = end_offsets(stack_settings.kafka_bootstrap, LOCATION.name)
    response = client.post(
        f"/v1/customers/{me}/locations", content=body, headers={**JSON, **headers}
    )
    refused = fields(response)
    assert field in refused and fragment in refused[field], refused
    landed = read_records(stack_settings.kafka_bootstrap, LOCATION.name, before)
    assert [r for r in landed if r.key == me.encode()] == []


def test_a_late_ping_within_a_day_is_accepted_at_its_time(
    client: TestClient, stack_settings: Settings
) -> None:
    me = new_customer()
    headers = as_customer(stack_settings, me)
    client.put(f"/v1/customers/{me}/consent/location", json={"granted": True}, headers=headers)
    measured = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    before = end_offsets(stack_settings.kafka_bootstrap, LOCATION.name)
    body = {"lat": 43.55, "lon": 10.31, "accuracy_m": 8.0, "measured_at": measured.isoformat()}
    accepted = client.post(f"/v1/customers/{me}/locations", json=body, headers=headers)
    assert accepted.status_code == 202, accepted.text
    records = read_records(stack_settings.kafka_bootstrap, LOCATION.name, before)
    landed = [decode(r.value) for r in records if r.key == me.encode()]
    assert len(landed) == 1 and isinstance(landed[0], LocationPing)
    assert landed[0].event_time == measured


def test_huge_numbers_in_a_campaign_are_422_naming_the_field(
    client: TestClient, stack_settings: Settings
) -> None:
    text = json.dumps(runnable(priority_eur=12.5))
    infinite = text.replace('"priority_eur": 12.5', '"priority_eur": 1e400')
    response = client.post(
        "/v1/campaigns", content=infinite.encode(), headers={**JSON, **as_marketer(stack_settings)}
    )
    assert "finite number" in fields(response)["body.priority_eur"]
    budget = {"max_sends": 10**400, "max_redemptions": 2_000, "max_discount_spend_eur": 1.0}
    huge = client.post(
        "/v1/campaigns", json=runnable(budget=budget), headers=as_marketer(stack_settings)
    )
    assert "less than or equal to" in fields(huge)["body.budget.max_sends"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/campaigns", b""),
        ("POST", "/v1/campaigns", b"null"),
        ("POST", "/v1/campaigns", b"[]"),
        ("POST", "/v1/campaigns", b'{"name": '),
        ("POST", "/v1/campaigns", b'{"name": "\x00"}'),
        ("POST", "/v1/campaigns", b'{"name": "\\ud800"}'),
        ("POST", "/v1/campaigns", b'{"name": NaN}'),
        ("POST", "/v1/campaigns", b'{"name": "' + b"A" * 60_000 + b'"}'),
        ("PATCH", "/v1/campaigns/camp-x", b'{"priority_eur": Infinity}'),
        ("PUT", "/v1/customers/{me}/contact", b'{"phone": 393331234567}'),
        ("PUT", "/v1/customers/{me}/contact", b'{"phone": "+39 333 \\ud83d 1234"}'),
        ("PUT", "/v1/customers/{me}/consent/sms", b'{"granted": "yes"}'),
        ("PUT", "/v1/customers/{me}/consent/sms", b'{"granted": 1e400}'),
        ("POST", "/v1/customers/{me}/locations", b'{"lat": [], "lon": {}, "accuracy_m": "x"}'),
    ],
)
def test_no_bad_body_gets_a_5xx(
    client: TestClient, stack_settings: Settings, method: str, path: str, body: bytes
) -> None:
    me = new_customer()
    headers = {**JSON, **as_customer(stack_settings, me)}
    if path.startswith("/v1/campaigns"):
        headers = {**JSON, **as_marketer(stack_settings)}
    response = client.request(method, path.format(me=me), content=body, headers=headers)
    assert response.status_code in (400, 404, 413, 422), response.text
    problems(response)


# Replayed webhooks


def signed(settings: Settings, path: str, form: dict[str, str]) -> dict[str, str]:
    url = settings.public_base_url + path
    return {
        "X-Twilio-Signature": sign_twilio(settings.twilio_auth_token.get_secret_value(), url, form)
    }


def customer_with_phone(client: TestClient, settings: Settings) -> tuple[str, str]:
    customer = new_customer()
    phone = f"+39333{uuid.uuid4().int % 10_000_000:07d}"
    headers = as_customer(settings, customer)
    stored = client.put(f"/v1/customers/{customer}/contact", json={"phone": phone}, headers=headers)
    assert stored.status_code == 200, stored.text
    client.put(f"/v1/customers/{customer}/consent/sms", json={"granted": True}, headers=headers)
    return customer, phone


def test_a_replayed_inbound_sms_acts_once(client: TestClient, stack_settings: Settings) -> None:
    """STOP, then START, then the STOP request again, signature and all: the customer stays
    opted in, nothing is written, and no second reply goes out."""
    customer, phone = customer_with_phone(client, stack_settings)
    state = api_state(client)
    stop = {"From": phone, "Body": "STOP", "MessageSid": "SM" + uuid.uuid4().hex}
    start = {"From": phone, "Body": "START", "MessageSid": "SM" + uuid.uuid4().hex}
    stop_headers = signed(stack_settings, SMS, stop)
    first = client.post(SMS, data=stop, headers=stop_headers)
    assert first.status_code == 200 and "<Message>" in first.text
    assert state.consent.granted(customer, ConsentScope.SMS) is False
    client.post(SMS, data=start, headers=signed(stack_settings, SMS, start))
    assert state.consent.granted(customer, ConsentScope.SMS) is True
    before = end_offsets(stack_settings.kafka_bootstrap, CONSENT.name)
    replayed = client.post(SMS, data=stop, headers=stop_headers)
    assert replayed.status_code == 200, replayed.text
    assert "<Message>" not in replayed.text
    assert state.consent.granted(customer, ConsentScope.SMS) is True
    assert end_offsets(stack_settings.kafka_bootstrap, CONSENT.name) == before
    same_sid = {**stop, "Body": "HELP"}  # the id, not the request, names the message
    again = client.post(SMS, data=same_sid, headers=signed(stack_settings, SMS, same_sid))
    assert again.status_code == 200 and "<Message>" not in again.text


def test_an_inbound_sms_with_a_malformed_id_is_422(
    client: TestClient, stack_settings: Settings
) -> None:
    form = {"From": "+393330000009", "Body": "STOP", "MessageSid": "SM 1; DROP"}
    response = client.post(SMS, data=form, headers=signed(stack_settings, SMS, form))
    assert response.status_code == 422 and "MessageSid" in problems(response)


def test_a_replayed_status_callback_is_one_event_to_its_readers(
    client: TestClient, stack_settings: Settings
) -> None:
    decision = f"dec-{uuid.uuid4().hex[:10]}"
    path = f"/v1/webhooks/twilio/status?decision_id={decision}&customer_id=c-replay"
    form = {"MessageSid": "SM" + uuid.uuid4().hex, "MessageStatus": "delivered"}
    headers = signed(stack_settings, path, form)
    before = end_offsets(stack_settings.kafka_bootstrap, DELIVERY_STATUS.name)
    assert [client.post(path, data=form, headers=headers).status_code for _ in range(2)] == [
        204,
        204,
    ]
    records = read_records(stack_settings.kafka_bootstrap, DELIVERY_STATUS.name, before)
    landed = [e for r in records if isinstance(e := decode(r.value), DeliveryStatus)]
    mine = [e for e in landed if e.decision_id == decision]
    assert mine and len({e.event_id for e in mine}) == 1


def test_a_replayed_whatsapp_notification_is_one_event_to_its_readers(
    client: TestClient, stack_settings: Settings
) -> None:
    decision = f"dec-{uuid.uuid4().hex[:10]}"
    status = {
        "id": "wamid." + uuid.uuid4().hex,
        "status": "delivered",
        "timestamp": str(int(time.time())),
        "recipient_id": "393330000010",
        "biz_opaque_callback_data": f"{decision} c-replay",
    }
    change = {"field": "messages", "value": {"statuses": [status]}}
    entry = {"id": "waba-1", "changes": [change]}
    body = json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()
    secret = stack_settings.meta_app_secret.get_secret_value()
    headers = {**JSON, "X-Hub-Signature-256": sign_meta(secret, body)}
    before = end_offsets(stack_settings.kafka_bootstrap, DELIVERY_STATUS.name)
    receipts = [
        client.post("/v1/webhooks/whatsapp", content=body, headers=headers) for _ in range(2)
    ]
    assert [r.status_code for r in receipts] == [200, 200], receipts[-1].text
    records = read_records(stack_settings.kafka_bootstrap, DELIVERY_STATUS.name, before)
    landed = [e for r in records if isinstance(e := decode(r.value), DeliveryStatus)]
    mine = [e for e in landed if e.decision_id == decision]
    assert mine and len({e.event_id for e in mine}) == 1


# Rate


def test_beyond_the_rate_limit_the_answer_is_429_with_a_retry_after(
    stack_settings: Settings,
) -> None:
    limited = stack_settings.model_copy(update={"api_rate_per_minute": 3})
    me = new_customer()
    headers = as_customer(limited, me)
    with api(limited) as client:
        answers = [client.get(f"/v1/customers/{me}/consent", headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert "more than 3 requests a minute" in problems(refused)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
