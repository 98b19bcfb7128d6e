"""The delivery status of each message sent for a decision, kept in Redis.

Providers report a message's progress by callbacks that may come twice (a retry) or out
of order (two deliveries racing). The book records a status only when it moves the
message forward, so that what it holds, and what is published, never goes back:

    queued < sent < delivered < failed = undelivered

``failed`` and ``undelivered`` are terminal: once either is recorded, no other status
replaces it (a different terminal status after one is out of order too).

Key: ``offers:delivery:status:{decision_id}`` (hash) with ``status``, ``message_id``,
``channel``, ``customer_id``, ``error_code`` (when the provider gave one) and
``updated_at`` (ISO 8601, UTC). It expires a retention period after its last change.

Callers publish a :class:`~offers.contracts.DeliveryStatus` for :attr:`Advance.NEW` and
for :attr:`Advance.REPEATED` too (the first publication may have been lost between Redis
and Kafka; readers drop the duplicate by its event id), and drop :attr:`Advance.STALE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import cast

from redis import Redis

from offers.contracts.base import aware_utc
from offers.contracts.events import Channel, DeliveryState
from offers.redis_values import redis_text

STATUS_KEY = "offers:delivery:status:{decision_id}"
DEFAULT_RETENTION = timedelta(days=30)

RANK: Mapping[DeliveryState, int] = MappingProxyType(
    {
        DeliveryState.QUEUED: 0,
        DeliveryState.SENT: 1,
        DeliveryState.DELIVERED: 2,
        DeliveryState.FAILED: 3,
        DeliveryState.UNDELIVERED: 3,
    }
)
"""How far along a message each status is; the highest rank is terminal."""

_ADVANCE = """
-- KEYS: the decision's status. ARGV: status, retention (s), updated at, customer id,
-- channel, message id ('' if unknown), error code ('' if none), then status/rank pairs.
local ranks = {}
for i = 8, #ARGV, 2 do
    ranks[ARGV[i]] = tonumber(ARGV[i + 1])
end
local recorded = redis.call('HGET', KEYS[1], 'status')
if recorded == ARGV[1] then
    return 'repeated'
end
if recorded and (ranks[recorded] or -1) >= ranks[ARGV[1]] then
    return 'stale'
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[3],
    'customer_id', ARGV[4], 'channel', ARGV[5])
if ARGV[6] ~= '' then
    redis.call('HSET', KEYS[1], 'message_id', ARGV[6])
end
if ARGV[7] ~= '' then
    redis.call('HSET', KEYS[1], 'error_code', ARGV[7])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 'new'
"""


class Advance(StrEnum):
    """What a reported status did to the recorded one."""

    NEW = "new"
    """It moved the message forward and is recorded."""
    REPEATED = "repeated"
    """It is the status already recorded: a repeated callback."""
    STALE = "stale"
    """It is behind the recorded status: a late callback; nothing changed."""


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """The furthest status recorded for a decision's message."""

    decision_id: str
    customer_id: str
    channel: Channel
    status: DeliveryState
    message_id: str | None
    error_code: str | None
    updated_at: datetime


class StatusBook:
    """The delivery status of each decision's message, moved only forward."""

    def __init__(self, redis: Redis, *, retention: timedelta = DEFAULT_RETENTION) -> None:
        if retention < timedelta(seconds=1):
            raise ValueError(f"retention is {retention}, less than a second")
        self._redis = redis
        self._retention_s = int(retention.total_seconds())
        self._advance = redis.register_script(_ADVANCE)

    def advance(
        self,
        decision_id: str,
        customer_id: str,
        channel: Channel,
        status: DeliveryState,
        *,
        message_id: str | None,
        error_code: str | None,
        at: datetime,
    ) -> Advance:
        """Record ``status``, reported at ``at``, if it moves the message forward.

        A status without ``message_id`` keeps the one recorded before; checking and
        writing are one atomic step, so concurrent callbacks cannot move it back.
        """
        ranks = [item for state, rank in RANK.items() for item in (state.value, rank)]
        outcome = self._advance(
            keys=[STATUS_KEY.format(decision_id=decision_id)],
            args=[
                status.value,
                self._retention_s,
                aware_utc(at, "at").isoformat(),
                customer_id,
                channel.value,
                message_id or "",
                error_code or "",
                *ranks,
            ],
        )
        return Advance(redis_text(outcome))

    def get(self, decision_id: str) -> StatusRecord | None:
        """The status recorded for the decision, if any is still kept."""
        stored = cast(
            "dict[bytes | str, bytes | str]",
            self._redis.hgetall(STATUS_KEY.format(decision_id=decision_id)),
        )
        fields = {redis_text(k): redis_text(v) for k, v in stored.items()}
        if "status" not in fields:
            return None
        return StatusRecord(
            decision_id=decision_id,
            customer_id=fields["customer_id"],
            channel=Channel(fields["channel"]),
            status=DeliveryState(fields["status"]),
            message_id=fields.get("message_id"),
            error_code=fields.get("error_code"),
            updated_at=datetime.fromisoformat(fields["updated_at"]),
        )
