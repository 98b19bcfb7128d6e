"""Per-caller request limits, counted in Redis so that they hold across API processes."""

from __future__ import annotations

import time
import uuid

from fastapi import HTTPException, Request

from offers_api.security import CurrentPrincipal
from offers_api.state import ApiState

WINDOW_S = 60.0


class RateLimit:
    """Dependency: at most ``OFFERS_API_RATE_PER_MINUTE`` requests per caller to the routes
    of ``group`` in any 60 seconds; beyond it, 429 with ``Retry-After``.

    The window slides: each caller's accepted requests are kept in a Redis sorted set by
    time, so a burst across a minute's boundary cannot pass twice the limit. A refused
    request is taken out again and does not count against the caller."""

    def __init__(self, group: str) -> None:
        self.group = group

    def __call__(self, request: Request, principal: CurrentPrincipal) -> None:
        state: ApiState = request.app.state.api
        key = f"rate:{self.group}:{principal.role.value}:{principal.subject}"
        now = time.time()
        member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
        pipe = state.redis.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now - WINDOW_S)
        pipe.zadd(key, {member: now})
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
        pipe.expire(key, int(WINDOW_S) + 1)
        _, _, count, oldest, _ = pipe.execute()
        limit = state.settings.api_rate_per_minute
        if int(count) > limit:
            state.redis.zrem(key, member)
            first = float(oldest[0][1]) if oldest else now
            retry = max(1, int(first + WINDOW_S - now + 0.999))
            raise HTTPException(
                status_code=429,
                detail=f"more than {limit} requests a minute to {self.group} routes",
                headers={"Retry-After": str(retry)},
            )
