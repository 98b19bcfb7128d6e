"""The offer book in Redis: an offer found by its decision alone, and kept until a chosen
moment when it was issued in replayed or simulated time.

They run the book's Lua scripts in the stack's Redis, in a database of their own."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis

from offers.offer_book import (
    CUSTOMER_OFFERS_KEY,
    OFFER_KEY,
    OfferBook,
    RedemptionLimits,
    StoredOffer,
)
from offers.settings import Settings

pytestmark = pytest.mark.integration
SCRATCH_DB = 5
"""A Redis database of their own, emptied before each test."""

HOUR = timedelta(hours=1)


def make_offer(issued_at: datetime, **overrides: Any) -> StoredOffer:
    fields: dict[str, Any] = {
        "decision_id": "dec-1",
        "customer_id": "cust-1",
        "campaign_id": "camp-summer",
        "channel": "sms",
        "language": "it",
        "message": "Ciao! 10% sul traghetto per Capri oggi.",
        "offer": {"kind": "percent_discount", "percent": 10},
        "discount_eur": 12.5,
        "issued_at": issued_at,
        "expires_at": issued_at + 2 * HOUR,
    }
    fields.update(overrides)
    return StoredOffer.model_validate(fields)


@pytest.fixture
def redis(stack_settings: Settings) -> Iterator[Redis]:
    client = Redis.from_url(stack_settings.redis_url, db=SCRATCH_DB)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def book(redis: Any) -> OfferBook:
    return OfferBook(redis)


@pytest.fixture
def offer() -> StoredOffer:
    return make_offer(datetime.now(UTC))


def expire_times(redis: Any, offer: StoredOffer) -> tuple[int, int]:
    return (
        redis.expiretime(OFFER_KEY.format(decision_id=offer.decision_id)),
        redis.expiretime(CUSTOMER_OFFERS_KEY.format(customer_id=offer.customer_id)),
    )


def test_an_offer_is_found_by_its_decision_alone(book: OfferBook, offer: StoredOffer) -> None:
    book.add(offer)
    assert book.by_decision("dec-1") == offer
    assert book.get("cust-1", "dec-1") == offer
    assert book.get("cust-2", "dec-1") is None
    assert book.by_decision("dec-unknown") is None


def test_by_decision_shows_the_redemption(book: OfferBook, offer: StoredOffer) -> None:
    book.add(offer)
    now = offer.issued_at + HOUR
    book.redeem_offer(offer, now, RedemptionLimits())
    found = book.by_decision("dec-1")
    assert found is not None and found.redeemed_at == now


def test_an_offer_is_kept_until_its_expiry_and_the_retention(
    book: OfferBook, redis: Any, offer: StoredOffer
) -> None:
    book.add(offer)
    kept_until = math.ceil((offer.expires_at + timedelta(days=1)).timestamp())
    assert expire_times(redis, offer) == (kept_until, kept_until)


def test_an_offer_of_replayed_time_is_kept_until_the_moment_given(
    book: OfferBook, redis: Any
) -> None:
    offer = make_offer(datetime(2025, 6, 1, 9, tzinfo=UTC))
    keep_until = datetime.now(UTC) + 3 * HOUR
    assert book.add(offer, keep_until=keep_until)
    kept_until = math.ceil(keep_until.timestamp())
    assert expire_times(redis, offer) == (kept_until, kept_until)
    assert book.by_decision("dec-1") == offer
    assert book.current("cust-1", offer.issued_at) == [offer]


def test_keep_until_must_be_timezone_aware(book: OfferBook, offer: StoredOffer) -> None:
    naive = datetime(2030, 1, 1, 12)  # noqa: DTZ001
    with pytest.raises(ValueError, match="keep_until must be timezone-aware"):
        book.add(offer, keep_until=naive)
