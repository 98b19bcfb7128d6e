"""The send ledger: one entry per decision, in Redis, so that each offer is sent once.

Neither Twilio's nor the Graph API's send takes an idempotency key, so the engine keeps
its own record of every send, keyed by the decision id, and writes it *before* each
request to the provider and *after* its answer:

1. :meth:`SendLedger.claim` creates the entry (state ``sending``, this worker its
   owner) or reports what an earlier claim left: ``sent``, ``failed`` or ``skipped``
   (done: nothing is sent again), or ``sending`` by another worker.
2. :meth:`SendLedger.begin` marks an attempt under way until a deadline (the request's
   timeout and a margin), only while this worker still owns the entry.
3. :meth:`SendLedger.finish` records the outcome: the provider's message id, or why the
   message was not sent.

An entry left ``sending`` by another worker whose attempt deadline has passed (the
worker died, or its partition moved to another worker mid-send) is taken over; the new
owner does not know whether the last attempt reached the provider, so the claim says
``in_doubt`` and the sender asks the provider before sending
(:mod:`streams.delivery.reconcile`). While the deadline has not passed the claim says
``busy``: the other worker may be waiting for the provider's answer right now. A worker
that claims again an entry it owns with an attempt made (its first delivery of the
decision stopped between a request and the record of its answer: Redis went away and
the delivery is being tried again) is in doubt as well: the provider may hold the
message. Every step is one Lua script, so two workers never both own an entry.

Keys: ``offers:delivery:send:{decision_id}`` (hash: ``state``, ``owner``, ``attempts``,
``deadline_ms``, ``claimed_ms``, ``message_id``, ``reason``), expiring ``retention``
after the last write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import cast

from redis import Redis

from offers.redis_values import redis_text

SEND_KEY = "offers:delivery:send:{decision_id}"
DEFAULT_RETENTION = timedelta(days=30)

_CLAIM = """
-- KEYS: entry. ARGV: owner, now (ms), retention (s).
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
    redis.call('HSET', KEYS[1], 'state', 'sending', 'owner', ARGV[1], 'attempts', 0,
        'deadline_ms', 0, 'claimed_ms', ARGV[2])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    return {'claimed', '0', ''}
end
local entry = redis.call('HMGET', KEYS[1], 'owner', 'attempts', 'deadline_ms', 'message_id',
    'reason', 'claimed_ms')
if state ~= 'sending' then
    return {state, entry[2] or '0', entry[4] or entry[5] or ''}
end
if entry[1] == ARGV[1] and tonumber(entry[2] or '0') == 0 then
    return {'claimed', '0', ''}
end
if entry[1] == ARGV[1] then
    return {'in_doubt', entry[2], entry[6] or '0'}
end
if tonumber(ARGV[2]) < tonumber(entry[3] or '0') then
    return {'busy', entry[2] or '0', entry[3]}
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if tonumber(entry[2] or '0') == 0 then
    return {'claimed', '0', ''}
end
return {'in_doubt', entry[2], entry[6] or '0'}
"""

_BEGIN = """
-- KEYS: entry. ARGV: owner, deadline (ms), retention (s).
local entry = redis.call('HMGET', KEYS[1], 'state', 'owner')
if entry[1] ~= 'sending' or entry[2] ~= ARGV[1] then
    return 0
end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'deadline_ms', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

_FINISH = """
-- KEYS: entry. ARGV: state, message id, reason, retention (s). Any owner may finish a
-- send that is still under way: the message went (or will not), whoever asked for it.
local state = redis.call('HGET', KEYS[1], 'state')
if state and state ~= 'sending' then
    return state
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'message_id', ARGV[2], 'reason', ARGV[3],
    'deadline_ms', 0)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return ARGV[1]
"""


class SendState(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    """The provider accepted the message."""
    FAILED = "failed"
    """The provider refused it for good, or it could not be sent in time."""
    SKIPPED = "skipped"
    """Not sent on purpose: the customer withdrew consent, has no address, ..."""


class ClaimKind(StrEnum):
    CLAIMED = "claimed"
    """This worker owns the entry and no attempt of another worker is in doubt."""
    IN_DOUBT = "in_doubt"
    """An attempt whose answer was not recorded may have reached the provider: the
    entry was taken over from another worker, or claimed again by this one."""
    BUSY = "busy"
    """Another worker's attempt is under way until ``deadline_ms``."""
    DONE = "done"
    """Sent, failed or skipped already: nothing more to do."""


@dataclass(frozen=True, slots=True)
class Claim:
    kind: ClaimKind
    attempts: int
    """Attempts made so far, by any owner."""
    state: SendState = SendState.SENDING
    detail: str = ""
    """The message id (sent) or the reason (failed, skipped) of a done entry."""
    deadline_ms: int = 0
    """Busy: when the other worker's attempt times out."""
    claimed_ms: int = 0
    """In doubt: when the entry was first claimed (the provider is asked from then)."""


class SendLedger:
    """Who sends each decision's message, and what came of it."""

    def __init__(self, redis: Redis, owner: str, retention: timedelta = DEFAULT_RETENTION):
        self._redis = redis
        self.owner = owner
        self._retention_s = int(retention.total_seconds())
        self._claim = redis.register_script(_CLAIM)
        self._begin = redis.register_script(_BEGIN)
        self._finish = redis.register_script(_FINISH)

    def claim(self, decision_id: str, now_ms: int) -> Claim:
        state, attempts, detail = (
            redis_text(v)
            for v in self._claim(
                keys=[_key(decision_id)], args=[self.owner, now_ms, self._retention_s]
            )
        )
        count = int(attempts)
        if state == ClaimKind.CLAIMED:
            return Claim(ClaimKind.CLAIMED, count)
        if state == ClaimKind.BUSY:
            return Claim(ClaimKind.BUSY, count, deadline_ms=int(detail))
        if state == ClaimKind.IN_DOUBT:
            return Claim(ClaimKind.IN_DOUBT, count, claimed_ms=int(detail))
        return Claim(ClaimKind.DONE, count, SendState(state), detail)

    def begin(self, decision_id: str, deadline_ms: int) -> bool:
        """Mark an attempt under way until ``deadline_ms``; False when this worker no
        longer owns the entry (another took it over, or it is done): do not send."""
        began = self._begin(
            keys=[_key(decision_id)], args=[self.owner, deadline_ms, self._retention_s]
        )
        return bool(began)

    def finish(
        self, decision_id: str, state: SendState, *, message_id: str = "", reason: str = ""
    ) -> SendState:
        """Record the outcome; returns the state kept (an earlier outcome stays)."""
        if state is SendState.SENDING:
            raise ValueError("finish with sent, failed or skipped")
        kept = self._finish(
            keys=[_key(decision_id)], args=[state, message_id, reason[:500], self._retention_s]
        )
        return SendState(redis_text(kept))

    def entry(self, decision_id: str) -> dict[str, str]:
        """The entry's fields (empty when there is none), for inspection."""
        stored = cast("dict[bytes, bytes]", self._redis.hgetall(_key(decision_id)))
        return {redis_text(k): redis_text(v) for k, v in stored.items()}


def _key(decision_id: str) -> str:
    return SEND_KEY.format(decision_id=decision_id)
