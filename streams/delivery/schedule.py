"""Messages that wait for their decision's ``send_at`` (the end of the recipient's quiet
hours), in Redis, so that a decision record is acknowledged once its message is
scheduled and no Kafka partition waits for a morning.

Every delivery worker looks for due messages each second; two workers may pick the same
one, and the send ledger lets only one of them send it. A message leaves the schedule
once it was sent, failed or skipped.

Keys: ``offers:delivery:scheduled`` (sorted set: the decision record, as on
``offers.decisions``, scored by ``send_at`` in milliseconds since the epoch).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from redis import Redis

from offers.contracts import OfferDecision, encode

SCHEDULE_KEY = "offers:delivery:scheduled"


class SendSchedule:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def add(self, decisions: Iterable[OfferDecision]) -> int:
        """Schedule each decision at its ``send_at``; returns how many were new."""
        scored = {
            encode(d): int(d.send_at.timestamp() * 1000) for d in decisions if d.send_at is not None
        }
        return cast(int, self._redis.zadd(SCHEDULE_KEY, scored)) if scored else 0

    def due(self, now_ms: int, limit: int = 500) -> list[bytes]:
        """The records whose ``send_at`` has come, earliest first."""
        found = self._redis.zrangebyscore(SCHEDULE_KEY, "-inf", now_ms, start=0, num=limit)
        return cast("list[bytes]", found)

    def remove(self, records: Iterable[bytes]) -> None:
        members = list(records)
        if members:
            self._redis.zrem(SCHEDULE_KEY, *members)

    def waiting(self, until_ms: int | None = None) -> int:
        """Scheduled records (with ``send_at`` at most ``until_ms``, when given)."""
        if until_ms is None:
            return cast(int, self._redis.zcard(SCHEDULE_KEY))
        return cast(int, self._redis.zcount(SCHEDULE_KEY, "-inf", until_ms))
