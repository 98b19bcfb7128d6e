"""What marketers call: campaigns created, read, listed, changed and moved through their
life (activate, pause, resume, end), and each campaign's audit trail.

Every answer that returns a campaign carries its version as an ``ETag``; a change sent with
``If-Match`` set to that version is refused (409) if the campaign changed meanwhile.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from offers.campaigns import (
    Actor,
    AuditEntry,
    Campaign,
    CampaignCreate,
    CampaignInvalid,
    CampaignStatus,
    CampaignUpdate,
    LifecycleAction,
)
from offers.errors import FieldError
from offers_api.deps import Marketer, PathId, StateDep
from offers_api.schemas import problem
from offers_api.security import Principal

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])

CampaignId = PathId
IfMatch = Annotated[
    str | None,
    Header(
        description='The version the change is based on, as the ETag gave it ("3"); the '
        "change is refused with 409 if the campaign has another version now.",
    ),
]

ERRORS: dict[int | str, dict[str, Any]] = {
    404: problem("No campaign has this id."),
    409: problem("Not allowed in the campaign's status, or its version changed."),
}


def _actor(principal: Principal) -> Actor:
    return Actor(user_id=principal.subject, role=principal.role)


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or int(text) < 1:
        raise CampaignInvalid(
            [FieldError("header.If-Match", f'must be a version such as "3", not {if_match!r}')]
        )
    return int(text)


def _tagged(response: Response, campaign: Campaign) -> Campaign:
    response.headers["ETag"] = f'"{campaign.version}"'
    return campaign


@router.post("", response_model=Campaign, status_code=201)
def create(
    body: CampaignCreate, state: StateDep, principal: Marketer, response: Response
) -> Campaign:
    """A new draft campaign. The server assigns its id, status, version and timestamps."""
    campaign = state.campaigns.create(body, _actor(principal))
    response.headers["Location"] = f"{router.prefix}/{campaign.id}"
    return _tagged(response, campaign)


@router.get("", response_model=list[Campaign])
def list_campaigns(
    state: StateDep, principal: Marketer, status: CampaignStatus | None = None
) -> list[Campaign]:
    """Every campaign, oldest first; only those with ``status`` if it is given."""
    return [c for c in state.campaigns.all() if status is None or c.status is status]


@router.get("/{campaign_id}", response_model=Campaign, responses={404: ERRORS[404]})
def read(
    campaign_id: CampaignId, state: StateDep, principal: Marketer, response: Response
) -> Campaign:
    return _tagged(response, state.campaigns.require(campaign_id))


@router.patch("/{campaign_id}", response_model=Campaign, responses=ERRORS)
def update(
    campaign_id: CampaignId,
    body: CampaignUpdate,
    state: StateDep,
    principal: Marketer,
    response: Response,
    if_match: IfMatch = None,
) -> Campaign:
    """Replace the fields sent (a nested object whole); allowed while the campaign is a
    draft or paused. A change that changes nothing keeps the version."""
    campaign = state.campaigns.update(
        campaign_id, body, _actor(principal), expected_version=_expected_version(if_match)
    )
    return _tagged(response, campaign)


def _lifecycle_route(action: LifecycleAction, summary: str) -> None:
    def move(
        campaign_id: CampaignId,
        state: StateDep,
        principal: Marketer,
        response: Response,
        if_match: IfMatch = None,
    ) -> Campaign:
        campaign = state.campaigns.move(
            campaign_id, action, _actor(principal), expected_version=_expected_version(if_match)
        )
        return _tagged(response, campaign)

    router.add_api_route(
        f"/{{campaign_id}}/{action.value}",
        move,
        methods=["POST"],
        response_model=Campaign,
        responses={**ERRORS, 422: problem("The campaign cannot run as it is.")},
        summary=summary,
        name=f"{action.value}_campaign",
    )


_lifecycle_route(LifecycleAction.ACTIVATE, "Activate a draft (checks that it can run)")
_lifecycle_route(LifecycleAction.PAUSE, "Pause an active campaign")
_lifecycle_route(LifecycleAction.RESUME, "Resume a paused campaign (checks that it can run)")
_lifecycle_route(LifecycleAction.END, "End a campaign for good")


@router.get("/{campaign_id}/audit", response_model=list[AuditEntry], responses={404: ERRORS[404]})
def audit(campaign_id: CampaignId, state: StateDep, principal: Marketer) -> list[AuditEntry]:
    """Every change of the campaign, oldest first: who, when, what."""
    return state.campaigns.audit(campaign_id)
