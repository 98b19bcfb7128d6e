"""Per-caller request limits, counted in Redis so that they hold across API processes."""

from __future__ import annotations

import time

from fastapi import HTTPException, Request

from offers_api.security import CurrentPrincipal
from offers_api.state import ApiState


class RateLimit:
    """Dependency: at most ``OFFERS_API_RATE_PER_MINUTE`` requests per caller and minute to
    the routes of ``group``; beyond it, 429 with ``Retry-After``."""

    def __init__(self, group: str) -> None:
        self.group = group

    def __call__(self, request: Request, principal: CurrentPrincipal) -> None:
        state: ApiState = request.app.state.api
        window = int(time.time() // 60)
        key = f"rate:{self.group}:{principal.role.value}:{principal.subject}:{window}"
        pipe = state.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 120)
        count = int(pipe.execute()[0])
        limit = state.settings.api_rate_per_minute
        if count > limit:
            retry = 60 - int(time.time()) % 60
            raise HTTPException(
                status_code=429,
                detail=f"more than {limit} requests a minute to {self.group} routes",
                headers={"Retry-After": str(retry)},
            )
