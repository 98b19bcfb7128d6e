"""A customer's offers and their redemption, and a campaign's report, through the API on
the real broker and Redis: idempotent redemption, owner, expiry and budget checks, the
redemption event, the roles that are refused, and the rate limit in front of them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from offers.contracts import CustomerResponse, DecisionOutcome, OfferDecision, decode
from offers.offer_book import OfferBook, StoredOffer
from offers.roles import Role
from offers.settings import Settings
from offers.topics import RESPONSES
from offers_api.rate_limit import Admission, RedisRequestWindows
from tests.integration.api_client import api, bearer
from tests.integration.kafka_io import end_offsets, produce, read_records
from tests.unit.campaigns.factories import runnable_wire


@pytest.fixture(scope="module")
def client(stack_settings: Settings) -> Iterator[TestClient]:
    with api(stack_settings) as running:
        yield running


@pytest.fixture(scope="module")
def book(stack_settings: Settings) -> Iterator[OfferBook]:
    redis = Redis.from_url(stack_settings.redis_url)
    yield OfferBook(redis)
    redis.close()


@pytest.fixture(scope="module")
def marketer(stack_settings: Settings) -> dict[str, str]:
    return bearer(stack_settings, "u-marta", Role.MARKETER)


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def give(
    book: OfferBook,
    customer: str,
    campaign: str,
    *,
    expires_in: timedelta = timedelta(hours=24),
    discount_eur: float = 20.0,
) -> StoredOffer:
    """An offer the engine sent ``customer``, issued an hour ago."""
    now = datetime.now(UTC)
    offer = StoredOffer(
        decision_id=fresh("dec"),
        customer_id=customer,
        campaign_id=campaign,
        channel="sms",
        language="it",
        message="Ciao! 15 % su Livorno-Olbia fino a domani.",
        offer={"kind": "percent_discount", "percent": 15, "route_ids": ["LIV-OLB"]},
        discount_eur=discount_eur,
        route_id="LIV-OLB",
        issued_at=now - timedelta(hours=1),
        expires_at=now + expires_in,
    )
    assert book.add(offer)
    return offer


def wait_past(offer: StoredOffer) -> None:
    time.sleep(max(0.0, (offer.expires_at - datetime.now(UTC)).total_seconds()) + 0.05)


def campaign_with(client: TestClient, marketer: dict[str, str], **budget: Any) -> str:
    body = runnable_wire(budget=budget)
    created = client.post("/v1/campaigns", json=body, headers=marketer)
    assert created.status_code == 201, created.text
    cid: str = created.json()["id"]
    assert client.post(f"/v1/campaigns/{cid}/activate", headers=marketer).status_code == 200
    return cid


def test_a_customer_sees_its_current_offers_and_redeems_one_once(
    client: TestClient, stack_settings: Settings, book: OfferBook, marketer: dict[str, str]
) -> None:
    me = fresh("c")
    headers = bearer(stack_settings, me, Role.CUSTOMER)
    cid = campaign_with(client, marketer, max_redemptions=100)
    later = give(book, me, cid, expires_in=timedelta(hours=30))
    sooner = give(book, me, cid, expires_in=timedelta(hours=2))
    expired = give(book, me, cid, expires_in=timedelta(seconds=1))
    wait_past(expired)

    listed = client.get(f"/v1/customers/{me}/offers", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [o["decision_id"] for o in listed.json()] == [sooner.decision_id, later.decision_id]

    start = end_offsets(stack_settings.kafka_bootstrap, RESPONSES.name)
    path = f"/v1/customers/{me}/offers/{sooner.decision_id}/redeem"
    first = client.post(path, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["first"] is True
    again = client.post(path, headers=headers)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "first": False}
    assert book.spent(cid).redemptions == 1

    remaining = client.get(f"/v1/customers/{me}/offers", headers=headers).json()
    assert [o["decision_id"] for o in remaining] == [later.decision_id]

    published = [
        decode(r.value)
        for r in read_records(stack_settings.kafka_bootstrap, RESPONSES.name, start)
        if r.key == me.encode()
    ]
    assert all(isinstance(e, CustomerResponse) for e in published)
    assert {(e.event_id, e.decision_id, e.action.value) for e in published} == {  # type: ignore[attr-defined]
        (f"redeem-{sooner.decision_id}", sooner.decision_id, "redeem")
    }


def test_an_expired_offer_is_gone(
    client: TestClient, stack_settings: Settings, book: OfferBook, marketer: dict[str, str]
) -> None:
    me = fresh("c")
    offer = give(book, me, campaign_with(client, marketer, max_sends=10),
                 expires_in=timedelta(seconds=1))  # fmt: skip
    wait_past(offer)
    response = client.post(
        f"/v1/customers/{me}/offers/{offer.decision_id}/redeem",
        headers=bearer(stack_settings, me, Role.CUSTOMER),
    )
    assert response.status_code == 410
    assert response.json()["detail"].startswith(f"offer {offer.decision_id} expired at ")


def test_a_spent_budget_refuses_the_next_redemption(
    client: TestClient, stack_settings: Settings, book: OfferBook, marketer: dict[str, str]
) -> None:
    cid = campaign_with(client, marketer, max_redemptions=1)
    first, second = fresh("c"), fresh("c")
    for customer, status in ((first, 200), (second, 409)):
        offer = give(book, customer, cid)
        response = client.post(
            f"/v1/customers/{customer}/offers/{offer.decision_id}/redeem",
            headers=bearer(stack_settings, customer, Role.CUSTOMER),
        )
        assert response.status_code == status, response.text
    assert "max_redemptions 1" in response.json()["detail"]


def test_a_customer_never_reaches_another_customers_offers(
    client: TestClient, stack_settings: Settings, book: OfferBook
) -> None:
    alice, bob = fresh("c"), fresh("c")
    offer = give(book, alice, "cmp-any")
    as_bob = bearer(stack_settings, bob, Role.CUSTOMER)
    assert client.get(f"/v1/customers/{alice}/offers", headers=as_bob).status_code == 403
    forbidden = client.post(
        f"/v1/customers/{alice}/offers/{offer.decision_id}/redeem", headers=as_bob
    )
    assert forbidden.status_code == 403
    hidden = client.post(f"/v1/customers/{bob}/offers/{offer.decision_id}/redeem", headers=as_bob)
    assert hidden.status_code == 404
    assert hidden.json()["detail"] == f"customer {bob} holds no offer {offer.decision_id}"
    assert book.get(alice, offer.decision_id) == offer  # untouched

    for role, status in ((Role.MARKETER, 403), (Role.DATA_SCIENTIST, 403), (Role.ADMIN, 200)):
        headers = bearer(stack_settings, "u-staff", role)
        assert client.get(f"/v1/customers/{alice}/offers", headers=headers).status_code == status
    assert client.get(f"/v1/customers/{alice}/offers").status_code == 401


def test_a_malformed_decision_id_is_refused(client: TestClient, stack_settings: Settings) -> None:
    me = fresh("c")
    response = client.post(
        f"/v1/customers/{me}/offers/not%20an%20id/redeem",
        headers=bearer(stack_settings, me, Role.CUSTOMER),
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "decision_id"]


def test_a_campaigns_report_counts_its_decisions(
    client: TestClient, stack_settings: Settings, marketer: dict[str, str]
) -> None:
    cid = campaign_with(client, marketer, max_sends=1_000)
    now = datetime.now(UTC) - timedelta(minutes=5)
    outcomes = [DecisionOutcome.SEND] * 3 + [DecisionOutcome.HOLDOUT] * 2
    produce(
        stack_settings.kafka_bootstrap,
        [
            OfferDecision(
                event_id=fresh("od"),
                event_time=now,
                decision_id=fresh("dec"),
                customer_id=fresh("c"),
                trigger_event_id=fresh("trg"),
                trigger="geofence_enter",
                outcome=outcome,
                reason="best offer",
                campaign_id=cid,
                channel="sms" if outcome is DecisionOutcome.SEND else None,
            )
            for outcome in outcomes
        ],
    )
    for role in (Role.MARKETER, Role.DATA_SCIENTIST, Role.ADMIN):
        response = client.get(
            f"/v1/campaigns/{cid}/report", headers=bearer(stack_settings, "u-x", role)
        )
        assert response.status_code == 200, response.text
        funnel = response.json()["funnel"]
        assert (funnel["decided"], funnel["sent"], funnel["held_out"]) == (5, 3, 2)
    customer = bearer(stack_settings, "c-1", Role.CUSTOMER)
    assert client.get(f"/v1/campaigns/{cid}/report", headers=customer).status_code == 403
    missing = client.get("/v1/campaigns/cmp-missing/report", headers=marketer)
    assert missing.status_code == 404


def test_reading_offers_beyond_the_rate_limit_gets_429(
    stack_settings: Settings, book: OfferBook
) -> None:
    limited = Settings(**{**stack_settings.model_dump(), "api_rate_per_minute": 2})
    me = fresh("c")
    give(book, me, "cmp-any")
    headers = bearer(limited, me, Role.CUSTOMER)
    with api(limited) as client:
        responses = [client.get(f"/v1/customers/{me}/offers", headers=headers) for _ in range(3)]
    assert [r.status_code for r in responses[:2]] == [200, 200]
    assert [len(r.json()) for r in responses[:2]] == [1, 1]
    assert responses[2].status_code == 429
    assert responses[2].json() == {"detail": "more than 2 requests a minute to customer routes"}
    assert 1 <= int(responses[2].headers["Retry-After"]) <= 60


def test_the_request_windows_slide_and_keep_no_refused_request(
    redis: Redis, stack_settings: Settings
) -> None:
    """The rate limit's Lua script on the real Redis, from the blocking and the asyncio
    client alike: a window holds at most the limit, a refused request is not kept, and the
    oldest request says when to retry."""
    asyncio.run(slide_a_window(redis, AsyncRedis.from_url(stack_settings.redis_url)))


async def slide_a_window(redis: Redis, async_redis: AsyncRedis) -> None:
    windows = RedisRequestWindows(redis, async_redis)
    key = f"rate:test:{fresh('c')}"
    start = 1_800_000_030.0

    async def admit(second: float, asynchronously: bool = False) -> Admission:
        now = start + second
        member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
        if asynchronously:
            return await windows.admit_async(key, now, member, 2)
        return windows.admit(key, now, member, 2)

    try:
        assert await admit(0) == Admission(admitted=True, oldest=start)
        assert await admit(20, asynchronously=True) == Admission(admitted=True, oldest=start)
        assert await admit(45) == Admission(admitted=False, oldest=start)
        assert await admit(59, asynchronously=True) == Admission(admitted=False, oldest=start)
        assert redis.zcard(key) == 2
        assert await admit(60.5) == Admission(admitted=True, oldest=start + 20)
        assert await admit(70) == Admission(admitted=False, oldest=start + 20)
        assert 0 < cast("int", redis.ttl(key)) <= 61
    finally:
        await async_redis.aclose()
