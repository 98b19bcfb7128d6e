"""The status book: a message's status moves only forward (queued, sent, delivered, then
failed or undelivered for good); repeated and late callbacks change nothing.

They run the book's Lua script in the stack's Redis, in a database of their own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis

from offers.contracts import Channel, DeliveryState
from offers.delivery_status import STATUS_KEY, Advance, StatusBook, StatusRecord
from offers.settings import Settings

pytestmark = pytest.mark.integration
SCRATCH_DB = 5
"""A Redis database of their own, emptied before each test."""

AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
Q, S, D, F, U = (
    DeliveryState.QUEUED,
    DeliveryState.SENT,
    DeliveryState.DELIVERED,
    DeliveryState.FAILED,
    DeliveryState.UNDELIVERED,
)


@pytest.fixture
def redis(stack_settings: Settings) -> Iterator[Redis]:
    client = Redis.from_url(stack_settings.redis_url, db=SCRATCH_DB)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def book(redis: Any) -> StatusBook:
    return StatusBook(redis)


def advance(
    book: StatusBook,
    status: DeliveryState,
    *,
    message_id: str | None = "SM-1",
    error_code: str | None = None,
    at: datetime = AT,
) -> Advance:
    return book.advance(
        "dec-1",
        "cust-1",
        Channel.SMS,
        status,
        message_id=message_id,
        error_code=error_code,
        at=at,
    )


def test_a_first_status_is_new_and_recorded(book: StatusBook, redis: Any) -> None:
    assert advance(book, S) is Advance.NEW
    assert book.get("dec-1") == StatusRecord(
        decision_id="dec-1",
        customer_id="cust-1",
        channel=Channel.SMS,
        status=S,
        message_id="SM-1",
        error_code=None,
        updated_at=AT,
    )
    stored = redis.hgetall(STATUS_KEY.format(decision_id="dec-1"))
    assert set(stored) == {b"status", b"message_id", b"channel", b"customer_id", b"updated_at"}


def test_an_unknown_decision_has_no_record(book: StatusBook) -> None:
    assert book.get("dec-unknown") is None


@pytest.mark.parametrize(
    ("recorded", "reported", "outcome"),
    [
        (Q, S, Advance.NEW),
        (Q, D, Advance.NEW),
        (S, D, Advance.NEW),
        (S, F, Advance.NEW),
        (D, U, Advance.NEW),
        (D, F, Advance.NEW),
        (Q, Q, Advance.REPEATED),
        (D, D, Advance.REPEATED),
        (F, F, Advance.REPEATED),
        (S, Q, Advance.STALE),
        (D, S, Advance.STALE),
        (D, Q, Advance.STALE),
        (F, D, Advance.STALE),
        (F, U, Advance.STALE),
        (U, F, Advance.STALE),
        (U, S, Advance.STALE),
    ],
)
def test_the_order_of_statuses(
    book: StatusBook, recorded: DeliveryState, reported: DeliveryState, outcome: Advance
) -> None:
    advance(book, recorded)
    assert advance(book, reported, at=AT + timedelta(seconds=5)) is outcome
    kept = book.get("dec-1")
    assert kept is not None
    assert kept.status is (reported if outcome is Advance.NEW else recorded)
    assert kept.updated_at == (AT + timedelta(seconds=5) if outcome is Advance.NEW else AT)


def test_a_status_without_message_id_keeps_the_known_one(book: StatusBook) -> None:
    advance(book, Q, message_id=None)
    advance(book, S, message_id="SM-1")
    advance(book, D, message_id=None)
    kept = book.get("dec-1")
    assert kept is not None and kept.status is D and kept.message_id == "SM-1"


def test_a_failure_keeps_its_error_code(book: StatusBook) -> None:
    advance(book, S)
    advance(book, U, error_code="30005")
    kept = book.get("dec-1")
    assert kept is not None and kept.error_code == "30005"
    advance(book, F, error_code="30003")
    assert book.get("dec-1") == kept


def test_decisions_are_kept_apart(book: StatusBook) -> None:
    advance(book, D)
    other = book.advance(
        "dec-2", "cust-2", Channel.WHATSAPP, S, message_id="wamid.x", error_code=None, at=AT
    )
    assert other is Advance.NEW
    kept = book.get("dec-2")
    assert kept is not None and kept.channel is Channel.WHATSAPP and kept.customer_id == "cust-2"


def test_the_key_expires_a_retention_after_its_last_change(redis: Any) -> None:
    book = StatusBook(redis, retention=timedelta(hours=1))
    key = STATUS_KEY.format(decision_id="dec-1")
    advance(book, S)
    assert 3590 <= redis.ttl(key) <= 3600
    redis.expire(key, 100)
    advance(book, Q)
    advance(book, S)
    assert redis.ttl(key) <= 100, "a late or repeated status is no change"
    advance(book, D)
    assert redis.ttl(key) > 3590


def test_the_default_retention_is_thirty_days(book: StatusBook, redis: Any) -> None:
    advance(book, S)
    assert redis.ttl(STATUS_KEY.format(decision_id="dec-1")) > 29 * 24 * 3600


def test_nonsense_is_refused(redis: Any, book: StatusBook) -> None:
    with pytest.raises(ValueError, match="less than a second"):
        StatusBook(redis, retention=timedelta(0))
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        advance(book, S, at=datetime(2025, 6, 1, 12))  # noqa: DTZ001
