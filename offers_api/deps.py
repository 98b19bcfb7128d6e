"""Dependencies shared by the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from offers.contracts.base import IDENTIFIER_PATTERN
from offers.roles import Role
from offers_api.security import Principal, RequireRole, RequireSelfOr
from offers_api.state import ApiState


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


StateDep = Annotated[ApiState, Depends(get_state)]

Marketer = Annotated[Principal, Depends(RequireRole(Role.MARKETER, Role.ADMIN))]
Analyst = Annotated[Principal, Depends(RequireRole(Role.MARKETER, Role.DATA_SCIENTIST, Role.ADMIN))]
Admin = Annotated[Principal, Depends(RequireRole(Role.ADMIN))]
CustomerOrAdmin = Annotated[Principal, Depends(RequireSelfOr(Role.ADMIN))]
"""The customer named by the path's ``customer_id``, or an admin."""
CustomerOrStaff = Annotated[Principal, Depends(RequireSelfOr(Role.ADMIN, Role.MARKETER))]

PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
"""An id in the path (customer, campaign, decision), checked like ``Identifier``."""
