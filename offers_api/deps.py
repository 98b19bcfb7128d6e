"""Dependencies shared by the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Path, Request

from offers.contracts.base import IDENTIFIER_PATTERN
from offers.roles import Role
from offers_api.security import Principal, RequireRole, RequireSelfOr
from offers_api.state import ApiState
from streams.decisions.clock import Watermark


async def get_state(request: Request) -> ApiState:
    """What the running app holds (a coroutine, so that FastAPI does not hand this lookup
    to a worker thread)."""
    state: ApiState = request.app.state.api
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


def engine_now(state: StateDep) -> datetime:
    """The engine's present. With ``OFFERS_DECISION_CLOCK=wall`` it is the wall clock; with
    ``event`` (replayed or simulated history) it is the event-time watermark the decision
    workers keep in Redis, so that offers issued in that history expire in it, not by the
    wall clock; the wall clock until the workers have set one."""
    if state.settings.decision_clock == "event":
        mark = Watermark(state.redis).current()
        if mark is not None:
            return mark
    return datetime.now(UTC)


EngineNow = Annotated[datetime, Depends(engine_now)]
"""The moment offers and redemption links are checked against (see :func:`engine_now`)."""

Marketer = Annotated[Principal, Depends(RequireRole(Role.MARKETER, Role.ADMIN))]
Analyst = Annotated[Principal, Depends(RequireRole(Role.MARKETER, Role.DATA_SCIENTIST, Role.ADMIN))]
Admin = Annotated[Principal, Depends(RequireRole(Role.ADMIN))]
CustomerOrAdmin = Annotated[Principal, Depends(RequireSelfOr(Role.ADMIN))]
"""The customer named by the path's ``customer_id``, or an admin."""
CustomerOrStaff = Annotated[Principal, Depends(RequireSelfOr(Role.ADMIN, Role.MARKETER))]

PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
"""An id in the path (customer, campaign, decision), checked like ``Identifier``."""
