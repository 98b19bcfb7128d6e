"""Complaints: a customer who complained publicly gets no offer for a while.

A complaint (:func:`is_complaint`) is a social post of negative sentiment
(:func:`streams.features.sentiment.label_of`) that names the brand, a port or a route
(:func:`streams.features.topics.places`). For ``OFFERS_COMPLAINT_SUPPRESSION_HOURS``
after it, in event time, every offer the engine would make to the customer is
suppressed (``recent_complaint``): :func:`recently_complained` is that window, from the
complaint's time (included) to its end (excluded). A decision is checked against the
latest complaint at or before its own time (:func:`latest_before`): a complaint read
before a trigger that happened earlier (they come on different topics) does not hide an
earlier complaint, nor suppress the earlier trigger.

The complaint times are kept in Redis with the rest of the contact state, so that they
outlive a worker's restart and are seen by whichever worker decides for the customer:

``offers:complaints:{customer_id}`` (sorted set)
    The times of the customer's latest :data:`MAX_COMPLAINTS` complaints, in
    milliseconds since the epoch (member and score). Expires a day after the end of the
    latest one's window or, when that is earlier, a day after the window that would
    start at the wall clock when it is recorded (history replayed at its event times is
    kept as long as live events are).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from redis import Redis

from offers.contracts.base import aware_utc
from offers.contracts.events import SocialPost
from offers.redis_values import redis_text
from streams.decisions.clock import Clock, wall_clock
from streams.features.sentiment import label_of, sentiment
from streams.features.topics import places
from streams.features.windows import from_ms, to_ms

COMPLAINT_KEY = "offers:complaints:{customer_id}"
COMPLAINT_GRACE = timedelta(days=1)
"""How long a complaint's key outlives its window."""
MAX_COMPLAINTS = 32
"""How many of a customer's latest complaints are kept."""

_RECORD = """
-- KEYS: complaints. ARGV: complaint time (ms), expire-at (ms), how many to keep. Keeps
-- the latest complaints and the later expiry.
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -1 - tonumber(ARGV[3]))
if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
"""


def is_complaint(post: SocialPost) -> bool:
    """Whether ``post`` is a complaint: negative, about the brand, a port or a route."""
    if label_of(sentiment(post.text, post.language.value)) != "negative":
        return False
    if post.brand_mentions:
        return True
    named = places(post.text, post.hashtags, post.language.value)
    return bool(named.ports or named.routes)


def latest_before(complaints: Sequence[datetime], now: datetime) -> datetime | None:
    """The latest of ``complaints`` at or before ``now``; None when there is none."""
    moment = aware_utc(now, "now")
    before = [at for at in complaints if at <= moment]
    return max(before) if before else None


def recently_complained(complained_at: datetime | None, now: datetime, window: timedelta) -> bool:
    """Whether ``now`` lies in the suppression window of a complaint at ``complained_at``:
    from that moment (included) for ``window`` (its end excluded)."""
    if complained_at is None or window <= timedelta(0):
        return False
    at = aware_utc(complained_at, "complained_at")
    return at <= aware_utc(now, "now") < at + window


class ComplaintBook:
    """Each customer's latest complaint time, in Redis (see the module's docstring)."""

    def __init__(self, redis: Redis, window: timedelta, *, clock: Clock = wall_clock) -> None:
        self._redis = redis
        self._window = window
        self._clock = clock
        self._record = redis.register_script(_RECORD)

    def record(self, complaints: Iterable[tuple[str, datetime]]) -> None:
        """Record complaints, each as ``(customer_id, at)``, in one round trip."""
        entries = [(customer, aware_utc(at, "at")) for customer, at in complaints]
        if not entries or self._window <= timedelta(0):
            return
        wall = self._clock()
        with self._redis.pipeline(transaction=False) as pipe:
            for customer, at in entries:
                expires = max(at, wall) + self._window + COMPLAINT_GRACE
                self._record(
                    keys=[COMPLAINT_KEY.format(customer_id=customer)],
                    args=[to_ms(at), to_ms(expires), MAX_COMPLAINTS],
                    client=pipe,
                )
            pipe.execute()

    def of(self, customers: Sequence[str]) -> dict[str, tuple[datetime, ...]]:
        """The complaints kept of each of ``customers`` who has any, oldest first, in one
        round trip."""
        if not customers:
            return {}
        with self._redis.pipeline(transaction=False) as pipe:
            for customer in customers:
                pipe.zrange(COMPLAINT_KEY.format(customer_id=customer), 0, -1)
            found = cast("list[list[Any]]", pipe.execute())
        return {
            customer: tuple(from_ms(int(redis_text(member))) for member in members)
            for customer, members in zip(customers, found, strict=True)
            if members
        }
