"""The decision agent's trigger state on the real local Redis: who searched each route
(window, latest time, trimming, expiry) and the quote book (abandoned quotes found once
due, settled by bookings in any order, claims and their lease, commits, and watches
updated by concurrent writers without losing an event)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import cast

import orjson
import pytest
from redis import Redis

from offers.campaigns import Trigger
from offers.contracts.events import BookingEvent
from streams.decisions.quotes import DUE_KEY, WATCH_KEY, QuoteBook
from streams.decisions.searchers import SEARCHERS_KEY, RouteSearchers
from streams.decisions.triggers import ABANDON_WINDOW, QuoteWatch, TriggerHit
from streams.features.windows import to_ms
from tests.unit.campaigns.factories import NOW
from tests.unit.decisions.decision_factories import booking

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MS = timedelta(milliseconds=1)
LEASE = timedelta(seconds=30)


@pytest.fixture
def now() -> datetime:
    """The wall clock, to the second: keys expire in Redis's real time, and events may
    not lie in the future."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def token() -> str:
    """A part of every id of the test, so that its keys are its own."""
    return uuid.uuid4().hex[:12]


# Route searchers


@pytest.fixture
def route(token: str) -> str:
    return f"LIV-OLB-{token}"


@pytest.fixture
def searchers(redis: Redis, now: datetime) -> RouteSearchers:
    """A window of an hour, on a clock five minutes behind ``now``."""
    return RouteSearchers(redis, HOUR, clock=lambda: now - timedelta(minutes=5))


def scores(redis: Redis, route: str) -> dict[str, int]:
    key = SEARCHERS_KEY.format(route_id=route)
    members = cast("list[tuple[bytes, float]]", redis.zrange(key, 0, -1, withscores=True))
    return {member.decode(): int(score) for member, score in members}


def test_recent_lists_the_searchers_of_the_route_sorted(
    searchers: RouteSearchers, route: str, token: str, now: datetime
) -> None:
    other_route = f"OLB-LIV-{token}"
    searchers.record(
        [
            (route, f"cust-c-{token}", now - timedelta(minutes=1)),
            (route, f"cust-a-{token}", now - timedelta(minutes=20)),
            (other_route, f"cust-d-{token}", now - timedelta(minutes=2)),
            (route, f"cust-b-{token}", now),
        ]
    )
    assert searchers.recent(route, now) == [f"cust-a-{token}", f"cust-b-{token}", f"cust-c-{token}"]
    assert searchers.recent(other_route, now) == [f"cust-d-{token}"]
    assert searchers.recent(f"NAP-CAP-{token}", now) == []


def test_the_latest_time_of_a_customer_wins(
    searchers: RouteSearchers, redis: Redis, route: str, token: str, now: datetime
) -> None:
    customer = f"cust-{token}"
    searchers.record([(route, customer, now - timedelta(minutes=50))])
    searchers.record(
        [
            (route, customer, now - timedelta(minutes=10)),
            (route, customer, now - timedelta(minutes=40)),
        ]
    )
    searchers.record([(route, customer, now - timedelta(minutes=55))])
    assert scores(redis, route) == {customer: to_ms(now - timedelta(minutes=10))}
    assert searchers.recent(route, now + timedelta(minutes=45)) == [customer]
    assert searchers.recent(route, now + timedelta(minutes=50)) == []


def test_the_window_excludes_its_start_and_includes_now(
    searchers: RouteSearchers, redis: Redis, route: str, token: str, now: datetime
) -> None:
    start, inside, last = (f"cust-{name}-{token}" for name in ("s", "i", "l"))
    searchers.record([(route, start, now - HOUR), (route, inside, now - HOUR + MS)])
    assert set(scores(redis, route)) == {start, inside}  # nothing left the window yet
    assert searchers.recent(route, now) == [inside]
    searchers.record([(route, last, now)])
    assert searchers.recent(route, now) == [inside, last]
    assert searchers.recent(route, now - MS) == [inside]


def test_members_that_left_the_window_are_trimmed(
    searchers: RouteSearchers, redis: Redis, route: str, token: str, now: datetime
) -> None:
    old, mid, late, kept, new = (f"cust-{name}-{token}" for name in ("o", "m", "l", "k", "n"))
    searchers.record([(route, old, now - 3 * HOUR), (route, mid, now - 2 * HOUR)])
    assert scores(redis, route) == {mid: to_ms(now - 2 * HOUR)}
    searchers.record([(route, late, now - timedelta(minutes=150))])
    assert scores(redis, route) == {
        mid: to_ms(now - 2 * HOUR),
        late: to_ms(now - timedelta(minutes=150)),
    }
    searchers.record([(route, kept, now - timedelta(minutes=50))])
    assert scores(redis, route) == {kept: to_ms(now - timedelta(minutes=50))}
    searchers.record([(route, new, now), (route, old, now - 5 * HOUR)])
    assert scores(redis, route) == {kept: to_ms(now - timedelta(minutes=50)), new: to_ms(now)}


def test_the_key_expires_a_day_after_the_window_and_only_later(
    searchers: RouteSearchers, redis: Redis, route: str, token: str, now: datetime
) -> None:
    key = SEARCHERS_KEY.format(route_id=route)
    searchers.record([(route, f"cust-a-{token}", now)])
    assert redis.expiretime(key) == int((now + HOUR + DAY).timestamp())
    searchers.record([(route, f"cust-b-{token}", now - timedelta(minutes=3))])
    assert redis.expiretime(key) == int((now + HOUR + DAY).timestamp())
    searchers.record([(route, f"cust-c-{token}", now + timedelta(minutes=10))])
    assert redis.expiretime(key) == int((now + timedelta(minutes=10) + HOUR + DAY).timestamp())
    searchers.record([(route, f"cust-d-{token}", now - timedelta(minutes=30))])
    assert redis.expiretime(key) == int((now + timedelta(minutes=10) + HOUR + DAY).timestamp())


def test_replayed_history_expires_on_the_wall_clock(
    redis: Redis, route: str, token: str, now: datetime
) -> None:
    searchers = RouteSearchers(redis, HOUR, clock=lambda: now)
    long_ago = now - timedelta(days=30)
    searchers.record([(route, f"cust-{token}", long_ago)])
    assert redis.expiretime(SEARCHERS_KEY.format(route_id=route)) == int(
        (now + HOUR + DAY).timestamp()
    )
    assert searchers.recent(route, long_ago) == [f"cust-{token}"]


def test_naive_datetimes_are_refused_and_nothing_is_recorded(
    searchers: RouteSearchers, redis: Redis, route: str, token: str, now: datetime
) -> None:
    naive = now.replace(tzinfo=None)
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        searchers.record([(route, f"cust-a-{token}", now), (route, f"cust-b-{token}", naive)])
    assert redis.exists(SEARCHERS_KEY.format(route_id=route)) == 0
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        searchers.recent(route, naive)
    with pytest.raises(ValueError, match="window"):
        RouteSearchers(redis, timedelta(0))


# The quote book


@pytest.fixture
def book(redis: Redis, now: datetime) -> QuoteBook:
    """The default window (30 minutes), a lease of 30 s and a clock at ``now``; the due
    index starts empty (tests run one at a time)."""
    redis.delete(DUE_KEY)
    return QuoteBook(redis, lease=LEASE, clock=lambda: now)


@pytest.fixture
def customer(token: str) -> str:
    return f"cust-{token}"


def funnel(moment: datetime, action: str, customer: str, route: str = "LIV-OLB") -> BookingEvent:
    """A booking-funnel event of ``customer`` at ``moment``."""
    return booking(
        (moment - NOW).total_seconds(),
        action,
        route=route,
        customer=customer,
        event_id=f"bk-{action}-{route}-{to_ms(moment)}",
    )


def abandoned(quote: BookingEvent) -> TriggerHit:
    return TriggerHit(
        Trigger.ABANDONED_QUOTE,
        quote.event_id,
        quote.customer_id,
        quote.event_time,
        route_id=quote.route_id,
        sailing_id=quote.sailing_id,
    )


def stored_watch(redis: Redis, customer: str, max_pending: int = 16) -> QuoteWatch:
    raw = cast("bytes | None", redis.get(WATCH_KEY.format(customer_id=customer)))
    assert raw is not None
    return QuoteWatch.from_dict(orjson.loads(raw), max_pending=max_pending)


def due_at(redis: Redis, customer: str) -> int | None:
    score = cast("float | None", redis.zscore(DUE_KEY, customer))
    return None if score is None else int(score)


def test_an_unbooked_quote_is_claimed_once_due_and_not_before(
    book: QuoteBook, redis: Redis, customer: str, now: datetime
) -> None:
    quote = funnel(now - timedelta(minutes=10), "quote", customer)
    book.observe([quote, funnel(now - timedelta(minutes=9), "search", customer)])
    due = quote.event_time + ABANDON_WINDOW
    assert due_at(redis, customer) == to_ms(due)

    assert book.claim_due(due - MS) == []
    assert book.pending(customer, due - MS) == []
    assert book.claim_due(due) == [customer]
    assert due_at(redis, customer) == to_ms(due + LEASE)
    assert book.pending(customer, due) == [abandoned(quote)]


def test_a_booking_within_the_window_settles_the_quote(
    book: QuoteBook, redis: Redis, customer: str, now: datetime
) -> None:
    quote = funnel(now - timedelta(minutes=40), "quote", customer)
    book.observe([quote])
    book.observe([funnel(now - timedelta(minutes=11), "book", customer)])
    assert due_at(redis, customer) is None
    assert book.claim_due(now + HOUR) == []
    assert book.pending(customer, now + HOUR) == []


def test_a_booking_that_arrives_before_its_quote_settles_it(
    book: QuoteBook, redis: Redis, customer: str, now: datetime
) -> None:
    book.observe([funnel(now - timedelta(minutes=35), "book", customer)])
    book.observe([funnel(now - timedelta(minutes=40), "quote", customer)])
    assert due_at(redis, customer) is None
    assert book.claim_due(now + HOUR) == []
    assert book.pending(customer, now + HOUR) == []
    assert not stored_watch(redis, customer).routes["LIV-OLB"].pending


def test_a_booking_after_the_window_does_not_settle_it(
    book: QuoteBook, customer: str, now: datetime
) -> None:
    quote = funnel(now - timedelta(minutes=45), "quote", customer)
    book.observe([quote, funnel(now - timedelta(minutes=15), "book", customer)])
    assert book.claim_due(now) == [customer]
    assert book.pending(customer, now) == [abandoned(quote)]


def test_searches_and_cancellations_are_not_kept(
    book: QuoteBook, redis: Redis, customer: str, now: datetime
) -> None:
    book.observe(
        [
            funnel(now - timedelta(minutes=5), "search", customer),
            funnel(now - timedelta(minutes=4), "cancel", customer),
        ]
    )
    assert redis.exists(WATCH_KEY.format(customer_id=customer)) == 0
    assert due_at(redis, customer) is None


def test_a_commit_takes_the_customer_out_of_the_due_index(
    book: QuoteBook, redis: Redis, customer: str, now: datetime
) -> None:
    quote = funnel(now - timedelta(minutes=31), "quote", customer)
    book.observe([quote])
    assert book.claim_due(now) == [customer]
    hits = book.pending(customer, now)
    assert hits == [abandoned(quote)]
    book.commit(customer, now)

    assert due_at(redis, customer) is None
    assert book.claim_due(now + DAY) == []
    assert book.pending(customer, now + DAY) == []
    watch = stored_watch(redis, customer)
    assert watch.routes["LIV-OLB"].quote is not None
    assert not watch.routes["LIV-OLB"].pending
    book.observe([quote])  # the same quote again is not pending again
    assert due_at(redis, customer) is None


def test_a_commit_keeps_pending_what_was_not_published(
    book: QuoteBook, redis: Redis, customer: str, now: datetime
) -> None:
    first = funnel(now - timedelta(minutes=35), "quote", customer, route="LIV-OLB")
    book.observe([first])
    assert book.claim_due(now) == [customer]
    hits = book.pending(customer, now)
    assert hits == [abandoned(first)]
    late = funnel(now - timedelta(minutes=40), "quote", customer, route="OLB-LIV")
    book.observe([late])  # arrives while the hits are being published
    book.commit(customer, now, published=hits)

    assert due_at(redis, customer) == to_ms(late.event_time + ABANDON_WINDOW)
    assert book.claim_due(now) == [customer]
    assert book.pending(customer, now) == [abandoned(late)]


def test_a_claimed_customer_is_left_to_its_claimer_for_the_lease(
    book: QuoteBook, customer: str, now: datetime
) -> None:
    quote = funnel(now - timedelta(minutes=31), "quote", customer)
    book.observe([quote])
    assert book.claim_due(now) == [customer]
    assert book.claim_due(now) == []
    assert book.claim_due(now + LEASE - MS) == []
    assert book.claim_due(now + LEASE) == [customer]
    assert book.pending(customer, now + LEASE) == [abandoned(quote)]


def test_claims_take_the_earliest_due_first_up_to_the_limit(
    book: QuoteBook, token: str, now: datetime
) -> None:
    customers = [f"cust-{i}-{token}" for i in range(3)]
    for minutes, customer in zip((40, 50, 45), customers, strict=True):
        book.observe([funnel(now - timedelta(minutes=minutes), "quote", customer)])
    assert book.claim_due(now, limit=2) == [customers[1], customers[2]]
    assert book.claim_due(now, limit=2) == [customers[0]]
    with pytest.raises(ValueError, match="limit"):
        book.claim_due(now, limit=0)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        book.claim_due(now.replace(tzinfo=None))


def test_pending_stores_nothing(
    book: QuoteBook, redis: Redis, customer: str, now: datetime
) -> None:
    quote = funnel(now - timedelta(minutes=31), "quote", customer)
    book.observe([quote])
    key = WATCH_KEY.format(customer_id=customer)
    before = (redis.get(key), redis.pexpiretime(key), due_at(redis, customer))
    assert book.pending(customer, now) == [abandoned(quote)]
    assert book.pending(customer, now) == [abandoned(quote)]
    assert (redis.get(key), redis.pexpiretime(key), due_at(redis, customer)) == before
    assert stored_watch(redis, customer).routes["LIV-OLB"].pending


def test_the_watch_expires_a_day_after_the_window_of_its_latest_event(
    redis: Redis, customer: str, now: datetime
) -> None:
    book = QuoteBook(redis, clock=lambda: now - HOUR)
    key = WATCH_KEY.format(customer_id=customer)
    book.observe([funnel(now - timedelta(minutes=20), "book", customer, route="OLB-LIV")])
    book.observe([funnel(now - timedelta(minutes=50), "quote", customer)])
    latest = now - timedelta(minutes=20)
    assert redis.pexpiretime(key) == to_ms(latest + ABANDON_WINDOW + DAY)

    replaying = QuoteBook(redis, clock=lambda: now + HOUR)
    replaying.observe([funnel(now - timedelta(minutes=10), "quote", customer, route="NAP-CAP")])
    assert redis.pexpiretime(key) == to_ms(now + HOUR + ABANDON_WINDOW + DAY)


def test_a_due_customer_without_a_watch_is_dropped_on_commit(
    book: QuoteBook, redis: Redis, customer: str, now: datetime
) -> None:
    redis.zadd(DUE_KEY, {customer: to_ms(now)})
    assert book.claim_due(now) == [customer]
    assert book.pending(customer, now) == []
    book.commit(customer, now)
    assert due_at(redis, customer) is None


def test_concurrent_writers_of_one_customer_lose_no_quote(
    redis: Redis, customer: str, now: datetime
) -> None:
    redis.delete(DUE_KEY)
    book = QuoteBook(redis, max_pending=64, clock=lambda: now)
    quotes = [
        funnel(now - timedelta(minutes=30, seconds=i), "quote", customer, route=f"R-{i:02d}")
        for i in range(50)
    ]

    def observe_each(events: list[BookingEvent]) -> None:
        for event in events:
            book.observe([event])

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(observe_each, [quotes[0::2], quotes[1::2]]))

    watch = stored_watch(redis, customer, max_pending=64)
    assert sorted(watch.routes) == [f"R-{i:02d}" for i in range(50)]
    assert all(route.pending for route in watch.routes.values())
    earliest = quotes[-1].event_time + ABANDON_WINDOW
    assert due_at(redis, customer) == to_ms(earliest)
    assert book.claim_due(now) == [customer]
    hits = book.pending(customer, now)
    assert [hit.source_event_id for hit in hits] == [q.event_id for q in reversed(quotes)]
