"""Customers' pending quotes in Redis, and the index that finds the abandoned ones.

An abandoned quote is a trigger that no event carries: it is the absence of a booking
within a window after a quote (:class:`streams.decisions.triggers.QuoteWatch`). The
booking agent feeds each customer's quotes and bookings to their watch
(:meth:`QuoteBook.observe`); a periodic sweep on any worker finds the quotes that have
become abandoned, through a due index that orders customers by the moment their earliest
pending quote becomes abandoned.

The sweep follows this protocol::

    for customer_id in book.claim_due(now):
        hits = book.pending(customer_id, now)
        ...publish the hits to Kafka and wait for the acks...
        book.commit(customer_id, now, published=hits)

:meth:`QuoteBook.claim_due` leases the customers it returns for ``lease`` (on the clock of
``now``), so that other workers leave them alone meanwhile. :meth:`QuoteBook.pending`
reads the hits without storing anything; :meth:`QuoteBook.commit` then stores that they
were found. A worker that dies before committing leaves its customers to be claimed again
once the lease has passed, and their hits are published again (the decision agent
deduplicates them by id); once committed, a hit is never found again, and it was
published before. ``published`` restricts the commit to the hits actually published: a
quote observed between :meth:`~QuoteBook.pending` and :meth:`~QuoteBook.commit` that is
already abandoned stays pending, to be found by the next claim, instead of being
committed without a hit.

Concurrency: every read-modify-write of a watch is an optimistic transaction (``WATCH``
the watch's key, ``MULTI``, ``EXEC``, run again on a conflict), which writes the watch and
its place in the due index together, so the index follows the latest watch. Only the
leases of :meth:`~QuoteBook.claim_due` are written outside: a watch written during a
lease reschedules its customer at its next due time, so a customer may be claimed twice
and its hits published twice, which deduplication absorbs.

Keys (customer ids never contain ``/`` or whitespace):

``offers:quotes:watch:{customer_id}`` (string)
    The customer's :class:`QuoteWatch`, as JSON (:meth:`QuoteWatch.to_dict`). Kept after
    its quotes are settled or found, since its latest quote per route and recent bookings
    are what recognise a replayed quote and settle a quote that arrives after its
    booking. Expires ``window`` and a day (:data:`WATCH_GRACE`) after the latest event of
    the watch or, when that is earlier, after the wall clock at the time of writing:
    history replayed at its event times lives as long as live events do. A watch that
    expires with a quote pending (one not found for a day) takes it away unfound.
``offers:quotes:due`` (sorted set)
    Member: a customer id; score: when the customer's earliest pending quote becomes
    abandoned (:meth:`QuoteWatch.next_due`), in milliseconds since the epoch, or the end
    of a claim's lease. Customers with no pending quote are not in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from redis import Redis
from redis.client import Pipeline

from offers.contracts.base import aware_utc
from offers.contracts.events import BookingAction, BookingEvent
from offers.redis_values import redis_text
from streams.decisions.clock import Clock, wall_clock
from streams.decisions.triggers import (
    ABANDON_WINDOW,
    MAX_PENDING_QUOTES,
    QuoteWatch,
    TriggerHit,
)
from streams.features.windows import to_ms

WATCH_KEY = "offers:quotes:watch:{customer_id}"
DUE_KEY = "offers:quotes:due"
WATCH_GRACE = timedelta(days=1)
"""How long a watch outlives the window of its latest event."""
CLAIM_LEASE = timedelta(seconds=30)
"""How long a claimed customer is left to its claimer by default."""

_MS = timedelta(milliseconds=1)
_OBSERVED = frozenset({BookingAction.QUOTE, BookingAction.BOOK})

_CLAIM = """
-- KEYS: due. ARGV: now (ms), lease end (ms), limit. The customers due at now, earliest
-- first, each pushed to the lease end.
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
end
return ids
"""


class QuoteBook:
    """Customers' :class:`QuoteWatch` states and their due index, in Redis."""

    def __init__(
        self,
        redis: Redis,
        *,
        window: timedelta = ABANDON_WINDOW,
        max_pending: int = MAX_PENDING_QUOTES,
        lease: timedelta = CLAIM_LEASE,
        clock: Clock = wall_clock,
    ) -> None:
        if window <= timedelta(0):
            raise ValueError(f"window: must be positive, got {window}")
        if max_pending < 1:
            raise ValueError(f"max_pending: must be at least 1, got {max_pending}")
        if lease <= timedelta(0):
            raise ValueError(f"lease: must be positive, got {lease}")
        self._redis = redis
        self._window = window
        self._max_pending = max_pending
        self._lease_ms = lease // _MS
        self._keep_ms = (window + WATCH_GRACE) // _MS
        self._clock = clock
        self._claim = redis.register_script(_CLAIM)

    def observe(self, events: Sequence[BookingEvent]) -> None:
        """Apply the quotes and bookings among ``events`` to their customers' watches, in
        one transaction, and reschedule those customers in the due index."""
        by_customer: dict[str, list[BookingEvent]] = {}
        for event in events:
            if event.action in _OBSERVED:
                by_customer.setdefault(event.customer_id, []).append(event)
        if not by_customer:
            return
        keys = [WATCH_KEY.format(customer_id=customer_id) for customer_id in by_customer]

        def update(pipe: Pipeline) -> None:
            stored = cast("list[bytes | None]", pipe.mget(keys))
            watches = []
            for (customer_id, customer_events), raw in zip(
                by_customer.items(), stored, strict=True
            ):
                watch = self._load(customer_id, raw)
                for event in customer_events:
                    watch.observe(event)
                watches.append(watch)
            pipe.multi()
            for watch in watches:
                self._store(pipe, watch)

        self._redis.transaction(update, *keys)

    def claim_due(self, now: datetime, limit: int = 100) -> list[str]:
        """The customers with a quote abandoned at ``now``, earliest first, at most
        ``limit``; each is leased until ``now + lease``, when it is due again unless its
        claimer has committed."""
        if limit < 1:
            raise ValueError(f"limit: must be at least 1, got {limit}")
        now_ms = to_ms(aware_utc(now, "now"))
        claimed = self._claim(keys=[DUE_KEY], args=[now_ms, now_ms + self._lease_ms, limit])
        return [redis_text(customer_id) for customer_id in cast("list[Any]", claimed)]

    def pending(self, customer_id: str, now: datetime) -> list[TriggerHit]:
        """The customer's quotes abandoned at ``now`` and not committed, oldest first;
        stores nothing."""
        raw = cast("bytes | None", self._redis.get(WATCH_KEY.format(customer_id=customer_id)))
        if raw is None:
            return []
        return self._load(customer_id, raw).due(now)

    def commit(
        self,
        customer_id: str,
        now: datetime,
        *,
        published: Iterable[TriggerHit] | None = None,
    ) -> None:
        """Store that the customer's quotes abandoned at ``now`` were found, and reschedule
        the customer (out of the due index when nothing is pending any more).

        With ``published``, only the quotes of those hits are taken as found; any other
        quote abandoned at ``now`` stays pending, due at once.
        """
        at = aware_utc(now, "now")
        key = WATCH_KEY.format(customer_id=customer_id)
        found = None if published is None else {_quote_of(hit) for hit in published}

        def update(pipe: Pipeline) -> None:
            raw = cast("bytes | None", pipe.get(key))
            watch = None if raw is None else self._load(customer_id, raw)
            if watch is not None:
                for hit in watch.due(at):
                    if found is not None and _quote_of(hit) not in found:
                        watch.routes[hit.route_id or ""].pending = True
            pipe.multi()
            if watch is None:
                pipe.zrem(DUE_KEY, customer_id)
            else:
                self._store(pipe, watch)

        self._redis.transaction(update, key)

    def _load(self, customer_id: str, raw: bytes | None) -> QuoteWatch:
        if raw is None:
            return QuoteWatch(customer_id, self._window, self._max_pending)
        data = orjson.loads(raw)
        return QuoteWatch.from_dict(data, window=self._window, max_pending=self._max_pending)

    def _store(self, pipe: Pipeline, watch: QuoteWatch) -> None:
        """Queue the writes of ``watch`` and of its place in the due index."""
        key = WATCH_KEY.format(customer_id=watch.customer_id)
        if not watch.routes:
            pipe.delete(key)
        else:
            latest_ms = max(route.latest_ms for route in watch.routes.values())
            wall_ms = to_ms(aware_utc(self._clock(), "clock"))
            expire_ms = max(latest_ms, wall_ms) + self._keep_ms
            pipe.set(key, orjson.dumps(watch.to_dict()), pxat=expire_ms)
        due = watch.next_due()
        if due is None:
            pipe.zrem(DUE_KEY, watch.customer_id)
        else:
            pipe.zadd(DUE_KEY, {watch.customer_id: to_ms(due)})


def _quote_of(hit: TriggerHit) -> tuple[str, str]:
    """The route and quote event of an abandoned-quote hit."""
    return hit.route_id or "", hit.source_event_id
