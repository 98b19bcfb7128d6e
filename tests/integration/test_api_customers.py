"""Customer routes of the API on the real broker and Redis: consent, contact number and
location pings; each role that must be refused is; bad input gets a precise 4xx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from offers.contracts import LocationPing, decode
from offers.roles import Role
from offers.settings import Settings
from offers.topics import LOCATION
from tests.integration.api_client import api, bearer
from tests.integration.kafka_io import end_offsets, read_records


@pytest.fixture(scope="module")
def client(stack_settings: Settings) -> Iterator[TestClient]:
    with api(stack_settings) as running:
        yield running


def new_customer() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def test_a_customer_grants_and_withdraws_its_own_consent(
    client: TestClient, stack_settings: Settings
) -> None:
    me = new_customer()
    headers = bearer(stack_settings, me, Role.CUSTOMER)
    assert client.get(f"/v1/customers/{me}/consent", headers=headers).json() == []
    granted = client.put(f"/v1/customers/{me}/consent/sms", json={"granted": True}, headers=headers)
    assert granted.status_code == 200, granted.text
    assert granted.json()["granted"] is True and granted.json()["source"] == "app"
    client.put(f"/v1/customers/{me}/consent/sms", json={"granted": False}, headers=headers)
    listed = client.get(f"/v1/customers/{me}/consent", headers=headers).json()
    assert [(c["scope"], c["granted"]) for c in listed] == [("sms", False)]


@pytest.mark.parametrize(
    ("role", "own", "status"),
    [
        (Role.CUSTOMER, False, 403),
        (Role.MARKETER, False, 403),
        (Role.DATA_SCIENTIST, False, 403),
        (Role.ADMIN, False, 200),
        (Role.CUSTOMER, True, 200),
    ],
)
def test_only_the_customer_or_an_admin_reaches_its_consent(
    client: TestClient, stack_settings: Settings, role: Role, own: bool, status: int
) -> None:
    customer = new_customer()
    subject = customer if own else f"someone-{uuid.uuid4().hex[:6]}"
    headers = bearer(stack_settings, subject, role)
    assert client.get(f"/v1/customers/{customer}/consent", headers=headers).status_code == status
    put = client.put(
        f"/v1/customers/{customer}/consent/push", json={"granted": True}, headers=headers
    )
    assert put.status_code == status, put.text


def test_without_credentials_the_answer_is_401_with_a_challenge(client: TestClient) -> None:
    response = client.get("/v1/customers/c1/consent")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    forged = client.get("/v1/customers/c1/consent", headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("consent/fax", {"granted": True}, "scope"),
        ("consent/sms", {"granted": "maybe"}, "granted"),
        ("consent/sms", {"granted": True, "source": "admin"}, "source"),
        ("consent/sms", {}, "granted"),
        ("contact", {"phone": "call me"}, "phone"),
        ("contact", {"phone": "+39 333 123", "verified": True}, "verified"),
    ],
)
def test_bad_input_gets_422_naming_the_field(
    client: TestClient, stack_settings: Settings, path: str, body: dict[str, object], fragment: str
) -> None:
    me = new_customer()
    response = client.put(
        f"/v1/customers/{me}/{path}", json=body, headers=bearer(stack_settings, me, Role.CUSTOMER)
    )
    assert response.status_code == 422, response.text
    assert fragment in response.text


def test_a_contact_number_is_stored_in_e164(client: TestClient, stack_settings: Settings) -> None:
    me = new_customer()
    response = client.put(
        f"/v1/customers/{me}/contact",
        json={"phone": "0039 333 123 4567"},
        headers=bearer(stack_settings, me, Role.CUSTOMER),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"phone": "+393331234567"}


def test_a_location_ping_needs_consent_then_lands_in_kafka(
    client: TestClient, stack_settings: Settings
) -> None:
    me = new_customer()
    headers = bearer(stack_settings, me, Role.CUSTOMER)
    ping = {"lat": 43.55, "lon": 10.31, "accuracy_m": 8.0}
    refused = client.post(f"/v1/customers/{me}/locations", json=ping, headers=headers)
    assert refused.status_code == 403
    assert "location" in refused.json()["detail"]
    client.put(f"/v1/customers/{me}/consent/location", json={"granted": True}, headers=headers)
    before = end_offsets(stack_settings.kafka_bootstrap, LOCATION.name)
    accepted = client.post(f"/v1/customers/{me}/locations", json=ping, headers=headers)
    assert accepted.status_code == 202, accepted.text
    records = read_records(stack_settings.kafka_bootstrap, LOCATION.name, before)
    landed = [decode(r.value) for r in records if r.key == me.encode()]
    assert len(landed) == 1 and isinstance(landed[0], LocationPing)
    assert landed[0].event_id == accepted.json()["event_id"]
    assert (landed[0].lat, landed[0].lon) == (43.55, 10.31)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"lat": 91.0}, "lat"),
        ({"lon": -181.0}, "lon"),
        ({"accuracy_m": -1.0}, "accuracy_m"),
        ({"measured_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}, "event_time"),
        ({"measured_at": "2026-07-01T10:00:00"}, "measured_at"),
        ({"customer_id": "someone-else"}, "customer_id"),
    ],
)
def test_a_bad_ping_gets_422(
    client: TestClient, stack_settings: Settings, change: dict[str, object], fragment: str
) -> None:
    me = new_customer()
    headers = bearer(stack_settings, me, Role.CUSTOMER)
    client.put(f"/v1/customers/{me}/consent/location", json={"granted": True}, headers=headers)
    body = {"lat": 43.55, "lon": 10.31, "accuracy_m": 8.0, **change}
    response = client.post(f"/v1/customers/{me}/locations", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert fragment in response.text


def test_pings_beyond_the_rate_limit_get_429(stack_settings: Settings) -> None:
    limited = Settings(**{**stack_settings.model_dump(), "api_rate_per_minute": 3})
    me = new_customer()
    headers = bearer(limited, me, Role.CUSTOMER)
    with api(limited) as client:
        codes = [
            client.get(f"/v1/customers/{me}/consent", headers=headers).status_code for _ in range(7)
        ]
    # 7 requests span at most two one-minute windows, so one of them holds more than 3
    assert 429 in codes
    assert set(codes) == {200, 429}
