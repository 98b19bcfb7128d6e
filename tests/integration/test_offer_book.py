"""The offer book on the real local Redis: current offers, idempotent adds and
redemptions, campaign limits held under concurrent redemptions, expiry and erasure."""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis

from offers.errors import OffersError
from offers.offer_book import (
    CAMPAIGN_BUDGET_KEY,
    CUSTOMER_OFFERS_KEY,
    OFFER_KEY,
    BudgetExhausted,
    BudgetUse,
    OfferBook,
    OfferExpired,
    OfferNotFound,
    Redemption,
    RedemptionLimits,
    StoredOffer,
)

NO_LIMITS = RedemptionLimits()
RETENTION = timedelta(hours=6)

OfferFactory = Callable[..., StoredOffer]


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


@pytest.fixture
def book(redis: Redis) -> OfferBook:
    return OfferBook(redis, retention_after_expiry=RETENTION)


@pytest.fixture
def now() -> datetime:
    """The wall clock, to the second: keys expire in Redis's real time."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def customer() -> str:
    return fresh("cust")


@pytest.fixture
def campaign() -> str:
    return fresh("camp")


@pytest.fixture
def make_offer(now: datetime, customer: str, campaign: str) -> OfferFactory:
    """``make_offer(**overrides)``: an offer of this test's customer and campaign, issued
    now, expiring in two hours, with a fresh decision id."""

    def make(**overrides: Any) -> StoredOffer:
        fields: dict[str, Any] = {
            "decision_id": fresh("dec"),
            "customer_id": customer,
            "campaign_id": campaign,
            "channel": "sms",
            "language": "en",
            "message": "10% off your crossing to Olbia today.",
            "offer": {"kind": "percent_discount", "percent": 10},
            "discount_eur": 10.0,
            "route_id": "LIV-OLB",
            "issued_at": now,
            "expires_at": now + timedelta(hours=2),
        }
        return StoredOffer.model_validate({**fields, **overrides})

    return make


def test_current_lists_live_offers_soonest_expiry_first(
    book: OfferBook, make_offer: OfferFactory, now: datetime, customer: str
) -> None:
    later = make_offer(expires_at=now + timedelta(hours=3))
    sooner = make_offer(expires_at=now + timedelta(minutes=30))
    middle = make_offer(expires_at=now + timedelta(hours=1))
    redeemed = make_offer(expires_at=now + timedelta(minutes=45))
    for offer in (later, sooner, middle, redeemed):
        assert book.add(offer)
    book.redeem(customer, redeemed.decision_id, now, NO_LIMITS)

    assert book.current(customer, now) == [sooner, middle, later]
    # Expired at exactly its expiry time.
    assert book.current(customer, now + timedelta(minutes=30)) == [middle, later]
    assert book.current(customer, now + timedelta(hours=3)) == []
    assert book.current(fresh("cust"), now) == []


def test_adding_a_decision_again_keeps_the_first_offer_and_its_redemption(
    book: OfferBook, make_offer: OfferFactory, now: datetime, customer: str
) -> None:
    first = make_offer()
    again = make_offer(decision_id=first.decision_id, message="Another text", discount_eur=99.0)
    assert book.add(first)
    assert not book.add(again)
    assert book.current(customer, now) == [first]

    redemption = book.redeem(customer, first.decision_id, now, NO_LIMITS)
    assert not book.add(first)
    assert book.get(customer, first.decision_id) == redemption.offer
    assert book.current(customer, now) == []


def test_an_offer_is_only_found_by_its_own_customer(
    book: OfferBook, make_offer: OfferFactory, customer: str
) -> None:
    offer = make_offer()
    book.add(offer)
    assert book.get(customer, offer.decision_id) == offer
    assert book.get(fresh("cust"), offer.decision_id) is None
    assert book.get(customer, fresh("dec")) is None


def test_redeeming_marks_the_offer_and_counts_it_against_the_campaign(
    book: OfferBook, make_offer: OfferFactory, now: datetime, customer: str, campaign: str
) -> None:
    offer = make_offer(discount_eur=12.34)
    book.add(offer)
    at = now + timedelta(minutes=5)

    redemption = book.redeem(customer, offer.decision_id, at, NO_LIMITS)

    assert redemption == Redemption(offer.model_copy(update={"redeemed_at": at}), first=True)
    assert book.get(customer, offer.decision_id) == redemption.offer
    assert book.spent(campaign) == BudgetUse(redemptions=1, discount_eur=12.34)


def test_redeeming_again_answers_the_first_redemption_without_counting(
    book: OfferBook, make_offer: OfferFactory, now: datetime, customer: str, campaign: str
) -> None:
    offer = make_offer()
    book.add(offer)
    first = book.redeem(customer, offer.decision_id, now, RedemptionLimits(max_redemptions=1))

    # Later, past the offer's expiry and with the campaign's budget used up.
    again = book.redeem(
        customer, offer.decision_id, now + timedelta(days=1), RedemptionLimits(max_redemptions=1)
    )

    assert again == Redemption(first.offer, first=False)
    assert again.offer.redeemed_at == now
    assert book.spent(campaign) == BudgetUse(redemptions=1, discount_eur=10.0)


def test_another_customers_offer_cannot_be_redeemed(
    book: OfferBook, make_offer: OfferFactory, now: datetime, customer: str, campaign: str
) -> None:
    offer = make_offer()
    book.add(offer)
    stranger = fresh("cust")

    with pytest.raises(OfferNotFound) as caught:
        book.redeem(stranger, offer.decision_id, now, NO_LIMITS)

    assert str(caught.value) == f"customer {stranger} holds no offer {offer.decision_id}"
    assert isinstance(caught.value, OffersError)
    assert book.get(customer, offer.decision_id) == offer
    assert book.spent(campaign) == BudgetUse(redemptions=0, discount_eur=0.0)


def test_an_unknown_offer_cannot_be_redeemed(book: OfferBook, now: datetime) -> None:
    with pytest.raises(OfferNotFound):
        book.redeem(fresh("cust"), fresh("dec"), now, NO_LIMITS)


def test_an_expired_offer_cannot_be_redeemed(
    book: OfferBook, make_offer: OfferFactory, now: datetime, customer: str, campaign: str
) -> None:
    offer = make_offer()
    book.add(offer)

    with pytest.raises(OfferExpired) as caught:
        book.redeem(customer, offer.decision_id, offer.expires_at, NO_LIMITS)

    assert str(caught.value) == (
        f"offer {offer.decision_id} expired at {offer.expires_at.isoformat()}"
    )
    assert book.get(customer, offer.decision_id) == offer
    assert book.spent(campaign) == BudgetUse(redemptions=0, discount_eur=0.0)


def redeem_all_at_once(
    book: OfferBook, offers: list[StoredOffer], now: datetime, limits: RedemptionLimits
) -> list[Redemption | OffersError]:
    """Redeem every offer, each from its own thread, all released together."""
    start = threading.Barrier(len(offers))

    def redeem(offer: StoredOffer) -> Redemption | OffersError:
        start.wait()
        try:
            return book.redeem(offer.customer_id, offer.decision_id, now, limits)
        except OffersError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(offers)) as pool:
        return list(pool.map(redeem, offers))


def test_concurrent_redemptions_never_pass_max_redemptions(
    book: OfferBook, make_offer: OfferFactory, now: datetime, campaign: str
) -> None:
    offers = [make_offer(customer_id=fresh("cust")) for _ in range(20)]
    for offer in offers:
        book.add(offer)

    outcomes = redeem_all_at_once(book, offers, now, RedemptionLimits(max_redemptions=3))

    redeemed = [o for o in outcomes if isinstance(o, Redemption)]
    refused = [o for o in outcomes if isinstance(o, BudgetExhausted)]
    assert len(redeemed) == 3 and all(r.first for r in redeemed)
    assert len(refused) == 17
    assert {(e.campaign_id, e.limit, e.value) for e in refused} == {
        (campaign, "max_redemptions", 3)
    }
    assert str(refused[0]) == (
        f"campaign {campaign}: 3 offers redeemed already, the most allowed by max_redemptions 3"
    )
    assert book.spent(campaign) == BudgetUse(redemptions=3, discount_eur=30.0)


def test_concurrent_redemptions_never_pass_the_discount_spend(
    book: OfferBook, make_offer: OfferFactory, now: datetime, campaign: str
) -> None:
    offers = [make_offer(customer_id=fresh("cust"), discount_eur=12.5) for _ in range(20)]
    for offer in offers:
        book.add(offer)

    outcomes = redeem_all_at_once(book, offers, now, RedemptionLimits(max_discount_spend_eur=50))

    assert sum(isinstance(o, Redemption) for o in outcomes) == 4
    assert sum(isinstance(o, BudgetExhausted) for o in outcomes) == 16
    assert book.spent(campaign) == BudgetUse(redemptions=4, discount_eur=50.0)


def test_a_redemption_that_would_pass_the_spend_is_refused_one_that_fits_is_not(
    book: OfferBook, make_offer: OfferFactory, now: datetime, customer: str, campaign: str
) -> None:
    limits = RedemptionLimits(max_discount_spend_eur=100.0)
    first, second, too_much, exact = (
        make_offer(discount_eur=d) for d in (40.0, 39.99, 20.02, 20.01)
    )
    for offer in (first, second, too_much, exact):
        book.add(offer)
    book.redeem(customer, first.decision_id, now, limits)
    book.redeem(customer, second.decision_id, now, limits)

    with pytest.raises(BudgetExhausted) as caught:
        book.redeem(customer, too_much.decision_id, now, limits)
    assert str(caught.value) == (
        f"campaign {campaign}: a discount of 20.02 EUR on 79.99 EUR spent already would "
        "pass max_discount_spend_eur 100.00 EUR"
    )
    assert (caught.value.limit, caught.value.value) == ("max_discount_spend_eur", 100.0)
    assert book.get(customer, too_much.decision_id) == too_much

    assert book.redeem(customer, exact.decision_id, now, limits).first
    assert book.spent(campaign) == BudgetUse(redemptions=3, discount_eur=100.0)


def test_limits_are_counted_per_campaign(
    book: OfferBook, make_offer: OfferFactory, now: datetime, customer: str, campaign: str
) -> None:
    limits = RedemptionLimits(max_redemptions=1)
    other_campaign = fresh("camp")
    mine, other = make_offer(), make_offer(campaign_id=other_campaign)
    book.add(mine)
    book.add(other)
    book.redeem(customer, mine.decision_id, now, limits)
    assert book.redeem(customer, other.decision_id, now, limits).first
    assert book.spent(campaign) == book.spent(other_campaign) == BudgetUse(1, 10.0)
    assert book.spent(fresh("camp")) == BudgetUse(0, 0.0)


def test_keys_expire_after_the_offer_plus_the_retention(
    book: OfferBook, redis: Redis, make_offer: OfferFactory, now: datetime, customer: str
) -> None:
    later = make_offer(expires_at=now + timedelta(hours=3, milliseconds=1))
    sooner = make_offer(expires_at=now + timedelta(hours=1))
    index = CUSTOMER_OFFERS_KEY.format(customer_id=customer)

    book.add(later)
    book.add(sooner)

    later_end = math.ceil((later.expires_at + RETENTION).timestamp())
    sooner_end = int((sooner.expires_at + RETENTION).timestamp())
    assert redis.expiretime(OFFER_KEY.format(decision_id=later.decision_id)) == later_end
    assert redis.expiretime(OFFER_KEY.format(decision_id=sooner.decision_id)) == sooner_end
    # The index lasts as long as the customer's last offer, whatever the order of adds.
    assert redis.expiretime(index) == later_end


def test_the_index_forgets_offers_past_their_retention(
    book: OfferBook, redis: Redis, make_offer: OfferFactory, now: datetime, customer: str
) -> None:
    offer = make_offer()
    book.add(offer)
    index = CUSTOMER_OFFERS_KEY.format(customer_id=customer)

    assert book.current(customer, offer.expires_at + RETENTION - timedelta(seconds=1)) == []
    assert redis.zcard(index) == 1
    assert book.current(customer, offer.expires_at + RETENTION) == []
    assert redis.zcard(index) == 0


def test_erasing_removes_every_offer_of_the_customer_and_keeps_the_counters(
    book: OfferBook,
    redis: Redis,
    make_offer: OfferFactory,
    now: datetime,
    customer: str,
    campaign: str,
) -> None:
    live, redeemed = make_offer(), make_offer()
    someone_elses = make_offer(customer_id=fresh("cust"))
    for offer in (live, redeemed, someone_elses):
        book.add(offer)
    book.redeem(customer, redeemed.decision_id, now, NO_LIMITS)

    assert book.erase(customer) == 2

    assert book.current(customer, now) == []
    assert book.get(customer, live.decision_id) is None
    assert book.get(customer, redeemed.decision_id) is None
    assert (
        redis.exists(
            CUSTOMER_OFFERS_KEY.format(customer_id=customer),
            OFFER_KEY.format(decision_id=live.decision_id),
            OFFER_KEY.format(decision_id=redeemed.decision_id),
        )
        == 0
    )
    assert book.get(someone_elses.customer_id, someone_elses.decision_id) == someone_elses
    assert redis.exists(CAMPAIGN_BUDGET_KEY.format(campaign_id=campaign)) == 1
    assert book.spent(campaign) == BudgetUse(redemptions=1, discount_eur=10.0)
    assert book.erase(customer) == 0
