"""A customer's current offers (``GET /v1/customers/{customer_id}/offers``) over fakes: who
may read them, the per-caller rate limit in front of them (429 with ``Retry-After``, the
window sliding, refused requests not counted), and what runs where: the checks on the
event loop, the offer book, which blocks on Redis, in a worker thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from offers.offer_book import StoredOffer
from offers.roles import Role
from offers.settings import Settings
from offers_api import rate_limit
from offers_api.credentials import InMemoryApiKeyStore
from offers_api.rate_limit import Admission
from offers_api.security import Principal, issue_token
from tests.unit.offers_api.state_fakes import MemoryOfferBook, MemoryRequestWindows, api_client

HOUR = timedelta(hours=1)
ME = "cust-1"
OFFERS = f"/v1/customers/{ME}/offers"


def make_offer(decision_id: str, expires_in: timedelta, **overrides: Any) -> StoredOffer:
    issued_at = datetime.now(UTC) - 3 * HOUR
    fields: dict[str, Any] = {
        "decision_id": decision_id,
        "customer_id": ME,
        "campaign_id": "camp-summer",
        "channel": "sms",
        "language": "it",
        "message": "Ciao! 10% sul traghetto per Olbia.",
        "offer": {"kind": "percent_discount", "percent": 10},
        "discount_eur": 8.5,
        "issued_at": issued_at,
        "expires_at": datetime.now(UTC) + expires_in,
    }
    fields.update(overrides)
    return StoredOffer.model_validate(fields)


def bearer(settings: Settings, subject: str, role: Role = Role.CUSTOMER) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, subject, role, HOUR)}"}


def client_with(settings: Settings, **state: Any) -> tuple[TestClient, Any]:
    test_client, api = api_client(settings, api_keys=InMemoryApiKeyStore(), **state)
    api.offers.add(make_offer("dec-late", 2 * HOUR))
    api.offers.add(make_offer("dec-soon", HOUR))
    api.offers.add(make_offer("dec-gone", -HOUR))
    api.offers.add(make_offer("dec-other", HOUR, customer_id="cust-2"))
    return test_client, api


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test")


def test_a_customer_reads_its_current_offers_soonest_expiry_first(settings: Settings) -> None:
    test_client, _ = client_with(settings)
    response = test_client.get(OFFERS, headers=bearer(settings, ME))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    offers = response.json()
    assert [offer["decision_id"] for offer in offers] == ["dec-soon", "dec-late"]
    assert set(offers[0]) == set(StoredOffer.model_fields)


@pytest.mark.parametrize(
    ("subject", "role", "status"),
    [
        (ME, Role.CUSTOMER, 200),
        ("cust-2", Role.CUSTOMER, 403),
        ("root", Role.ADMIN, 200),
        ("alice", Role.MARKETER, 403),
    ],
)
def test_only_the_customer_or_an_admin_reads_them(
    settings: Settings, subject: str, role: Role, status: int
) -> None:
    test_client, _ = client_with(settings)
    response = test_client.get(OFFERS, headers=bearer(settings, subject, role))
    assert response.status_code == status, response.text
    if status == 403:
        assert "dec-soon" not in response.text


def test_without_credentials_the_answer_is_401(settings: Settings) -> None:
    test_client, _ = client_with(settings)
    response = test_client.get(OFFERS)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="moby-offers-api"'


def test_a_customer_key_reads_its_own_offers_only(settings: Settings) -> None:
    test_client, api = client_with(settings)
    key = api.api_keys.issue(Principal(ME, Role.CUSTOMER))
    assert test_client.get(OFFERS, headers={"X-API-Key": key}).status_code == 200
    other = test_client.get("/v1/customers/cust-2/offers", headers={"X-API-Key": key})
    assert other.status_code == 403
    assert other.json()["detail"] == "a customer may only reach its own data"


def test_requests_beyond_the_limit_get_429_with_retry_after() -> None:
    settings = Settings(environment="test", api_rate_per_minute=2)
    test_client, _ = client_with(settings)
    headers = bearer(settings, ME)
    responses = [test_client.get(OFFERS, headers=headers) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].json() == {"detail": "more than 2 requests a minute to customer routes"}
    assert 1 <= int(responses[2].headers["Retry-After"]) <= 60


def test_the_window_slides_and_refused_requests_do_not_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = {"now": 1_800_000_030.0}
    monkeypatch.setattr(rate_limit, "time", SimpleNamespace(time=lambda: clock["now"]))
    settings = Settings(environment="test", api_rate_per_minute=2)
    test_client, _ = client_with(settings)
    headers = bearer(settings, ME)

    def status_at(second: float) -> tuple[int, str | None]:
        clock["now"] = 1_800_000_030.0 + second
        response = test_client.get(OFFERS, headers=headers)
        return response.status_code, response.headers.get("Retry-After")

    assert status_at(0) == (200, None)
    assert status_at(20) == (200, None)
    assert status_at(45) == (429, "15")
    assert status_at(59) == (429, "1")
    assert status_at(60.5) == (200, None)
    assert status_at(70) == (429, "10")


def test_the_limit_comes_before_the_ownership_check() -> None:
    """A customer asking for another's offers is counted, then refused 403; beyond the
    limit it gets 429, before anyone's offers are read."""
    settings = Settings(environment="test", api_rate_per_minute=1)
    test_client, _ = client_with(settings)
    headers = bearer(settings, "cust-2")
    codes = [test_client.get(OFFERS, headers=headers).status_code for _ in range(2)]
    assert codes == [403, 429]


def test_each_caller_has_its_own_window() -> None:
    settings = Settings(environment="test", api_rate_per_minute=1)
    test_client, _ = client_with(settings)
    assert test_client.get(OFFERS, headers=bearer(settings, ME)).status_code == 200
    assert test_client.get(OFFERS, headers=bearer(settings, "root", Role.ADMIN)).status_code == 200
    assert test_client.get(OFFERS, headers=bearer(settings, ME)).status_code == 429


class ThreadRecorder:
    """Which thread each step of a request ran in."""

    def __init__(self) -> None:
        self.threads: dict[str, int] = {}

    def wrap(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.threads[name] = threading.get_ident()
            return call(*args, **kwargs)

        return recorded


def test_the_offer_book_and_api_keys_are_read_off_the_event_loop(settings: Settings) -> None:
    recorder = ThreadRecorder()
    windows = MemoryRequestWindows()
    book = MemoryOfferBook()
    keys = InMemoryApiKeyStore()

    async def admit_async(key: str, now: float, member: str, limit: int) -> Admission:
        recorder.threads["rate limit"] = threading.get_ident()
        return windows.admit(key, now, member, limit)

    spy_windows = SimpleNamespace(admit=windows.admit, admit_async=admit_async)
    spy_book = SimpleNamespace(current=recorder.wrap("offer book", book.current))
    spy_keys = SimpleNamespace(verify=recorder.wrap("api key", keys.verify))
    test_client, _ = api_client(
        settings, request_windows=spy_windows, offers=spy_book, api_keys=spy_keys
    )
    key = keys.issue(Principal(ME, Role.CUSTOMER))
    assert test_client.get(OFFERS, headers={"X-API-Key": key}).status_code == 200
    loop_thread = recorder.threads["rate limit"]
    assert recorder.threads["offer book"] != loop_thread
    assert recorder.threads["api key"] != loop_thread
