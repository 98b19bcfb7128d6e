"""Per-caller request limits, counted in Redis so that they hold across API processes."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import HTTPException, Request
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from offers.redis_values import redis_text
from offers_api.security import CurrentPrincipal, Principal

if TYPE_CHECKING:
    from offers_api.state import ApiState

WINDOW_S = 60.0

_ADMIT = """
-- KEYS: the caller's window. ARGV: where the window starts (s), now (s), the request's
-- member, the limit, the window's time to live (s). Counts the request, then takes it out
-- again if it is one too many. Answers 1 (admitted) or 0, and the oldest score kept.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('EXPIRE', KEYS[1], ARGV[5])
if count > tonumber(ARGV[4]) then
    redis.call('ZREM', KEYS[1], ARGV[3])
    return {0, oldest[2]}
end
return {1, oldest[2]}
"""


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a request was admitted into its caller's window, and the time (s since the
    epoch) of the oldest request the window holds (None if it holds none)."""

    admitted: bool
    oldest: float | None


class RequestWindows(Protocol):
    """Each caller's requests of the last :data:`WINDOW_S` seconds, as a Redis sorted set
    of members scored by time."""

    def admit(self, key: str, now: float, member: str, limit: int) -> Admission:
        """Count ``member`` at ``now`` in the window ``key`` unless it already holds
        ``limit`` requests; a refused request is not kept."""
        ...

    async def admit_async(self, key: str, now: float, member: str, limit: int) -> Admission:
        """:meth:`admit`, awaited on the event loop instead of blocking it."""
        ...


class RedisRequestWindows:
    """:class:`RequestWindows` in Redis: one Lua script counts a request, so a request is
    one round trip, and it is atomic: a request refused is never seen by another one.

    The blocking client serves callers in worker threads, the asyncio one the dependencies
    that run on the event loop; both run the same script on the same keys."""

    def __init__(self, redis: Redis, async_redis: AsyncRedis) -> None:
        self._admit = redis.register_script(_ADMIT)
        self._admit_async = async_redis.register_script(_ADMIT)

    def admit(self, key: str, now: float, member: str, limit: int) -> Admission:
        return _admission(self._admit(keys=[key], args=_arguments(now, member, limit)))

    async def admit_async(self, key: str, now: float, member: str, limit: int) -> Admission:
        reply = await self._admit_async(keys=[key], args=_arguments(now, member, limit))
        return _admission(reply)


def _arguments(now: float, member: str, limit: int) -> list[str | float | int]:
    return [now - WINDOW_S, now, member, limit, int(WINDOW_S) + 1]


def _admission(reply: Any) -> Admission:
    admitted, *oldest = reply
    return Admission(
        admitted=int(admitted) == 1,
        oldest=float(redis_text(oldest[0])) if oldest else None,
    )


class RateLimit:
    """Dependency: at most ``OFFERS_API_RATE_PER_MINUTE`` requests per caller to the routes
    of ``group`` in any 60 seconds; beyond it, 429 with ``Retry-After``.

    The window slides: each caller's accepted requests are kept in a Redis sorted set by
    time, so a burst across a minute's boundary cannot pass twice the limit. A refused
    request is taken out again and does not count against the caller.

    As a dependency it awaits Redis on the event loop; :meth:`check` is the same limit for
    code that runs in a worker thread."""

    def __init__(self, group: str) -> None:
        self.group = group

    async def __call__(self, request: Request, principal: CurrentPrincipal) -> None:
        state: ApiState = request.app.state.api
        key, now, member, limit = self._request(state, principal)
        admission = await state.request_windows.admit_async(key, now, member, limit)
        self._raise_if_refused(admission, now, limit)

    def check(self, state: ApiState, principal: Principal) -> None:
        """The limit for ``principal``, blocking on Redis: for callers in worker threads."""
        key, now, member, limit = self._request(state, principal)
        admission = state.request_windows.admit(key, now, member, limit)
        self._raise_if_refused(admission, now, limit)

    def _request(self, state: ApiState, principal: Principal) -> tuple[str, float, str, int]:
        """The caller's window, the time now, a member naming this request, and the limit."""
        key = f"rate:{self.group}:{principal.role.value}:{principal.subject}"
        now = time.time()
        member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
        return key, now, member, state.settings.api_rate_per_minute

    def _raise_if_refused(self, admission: Admission, now: float, limit: int) -> None:
        """429 with ``Retry-After``: the seconds until the oldest request leaves the window."""
        if admission.admitted:
            return
        first = admission.oldest if admission.oldest is not None else now
        retry = max(1, int(first + WINDOW_S - now + 0.999))
        raise HTTPException(
            status_code=429,
            detail=f"more than {limit} requests a minute to {self.group} routes",
            headers={"Retry-After": str(retry)},
        )
