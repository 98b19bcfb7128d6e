"""A campaign's life: created as a draft, activated, paused and resumed, ended.

========== ===================== ==========
action     from                  to
========== ===================== ==========
activate   draft                 active
pause      active                paused
resume     paused                active
end        draft, active, paused ended
========== ===================== ==========

``ended`` is final. A campaign is edited only while it is a draft or paused: to change a
running campaign, pause it, edit it and resume it, so that the workers never run a
half-edited campaign. Activating and resuming both check that the campaign can run
(:func:`activation_problems`).

Every function here is pure: it takes the campaign, the actor and ``now``, and returns the
new campaign with its :class:`~offers.campaigns.audit.AuditEntry`, or raises
:class:`~offers.campaigns.errors.CampaignConflict` (not allowed in this state: 409) or
:class:`~offers.campaigns.errors.CampaignInvalid` (the content does not allow it: 422).
Each change adds one to ``version``; pass ``expected_version`` to refuse a change based
on a stale copy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from offers.campaigns.audit import Actor, AuditAction, AuditEntry, changed_fields
from offers.campaigns.errors import CampaignConflict, CampaignInvalid, field_errors
from offers.campaigns.model import (
    BODY_FIELDS,
    Campaign,
    CampaignBody,
    CampaignCreate,
    CampaignStatus,
    CampaignUpdate,
)
from offers.campaigns.targeting import Trigger
from offers.contracts.base import aware_utc
from offers.errors import FieldError


class LifecycleAction(StrEnum):
    """What can be done to a campaign's status."""

    ACTIVATE = "activate"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"


@dataclass(frozen=True, slots=True)
class Move:
    """One lifecycle action: the statuses it starts from, where it leads, how it is logged."""

    sources: frozenset[CampaignStatus]
    target: CampaignStatus
    logged_as: AuditAction


_DRAFT, _ACTIVE, _PAUSED, _ENDED = (
    CampaignStatus.DRAFT,
    CampaignStatus.ACTIVE,
    CampaignStatus.PAUSED,
    CampaignStatus.ENDED,
)

MOVES: dict[LifecycleAction, Move] = {
    LifecycleAction.ACTIVATE: Move(frozenset({_DRAFT}), _ACTIVE, AuditAction.ACTIVATED),
    LifecycleAction.PAUSE: Move(frozenset({_ACTIVE}), _PAUSED, AuditAction.PAUSED),
    LifecycleAction.RESUME: Move(frozenset({_PAUSED}), _ACTIVE, AuditAction.RESUMED),
    LifecycleAction.END: Move(frozenset({_DRAFT, _ACTIVE, _PAUSED}), _ENDED, AuditAction.ENDED),
}
"""Every allowed transition."""

EDITABLE_STATUSES: frozenset[CampaignStatus] = frozenset({_DRAFT, _PAUSED})
"""The statuses in which a campaign's fields may be changed."""


def allowed_actions(status: CampaignStatus) -> tuple[LifecycleAction, ...]:
    """The lifecycle actions allowed from ``status``."""
    return tuple(action for action, move in MOVES.items() if status in move.sources)


def can_edit(status: CampaignStatus) -> bool:
    return status in EDITABLE_STATUSES


def new_campaign_id() -> str:
    """A fresh campaign id (``cmp-`` and 32 hex digits), for the server to assign."""
    return f"cmp-{uuid.uuid4().hex}"


def create_campaign(
    create: CampaignCreate, campaign_id: str, actor: Actor, now: datetime
) -> tuple[Campaign, AuditEntry]:
    """A new draft campaign with version 1, and its ``created`` entry."""
    at = aware_utc(now, "now")
    campaign = _validated(
        {
            **create.model_dump(mode="json"),
            "id": campaign_id,
            "status": _DRAFT.value,
            "version": 1,
            "created_at": at,
            "updated_at": at,
            "updated_by": actor.user_id,
        }
    )
    return campaign, _entry(campaign, AuditAction.CREATED, actor)


def apply_update(
    campaign: Campaign,
    update: CampaignUpdate,
    actor: Actor,
    now: datetime,
    *,
    expected_version: int | None = None,
) -> tuple[Campaign, AuditEntry]:
    """The campaign with the fields of ``update`` replaced, and the ``updated`` entry
    listing exactly the fields that changed.

    An update that changes nothing returns the campaign as it was (same version) with an
    entry without changes, which the caller need neither store nor publish.
    """
    _check_version(campaign, expected_version)
    if not can_edit(campaign.status):
        raise CampaignConflict([FieldError("status", _why_not_editable(campaign.status))])
    at = max(aware_utc(now, "now"), campaign.updated_at)
    old = campaign.model_dump(mode="json")
    new = {**old, **update.model_dump(mode="json", include=set(update.changes()))}
    changes = changed_fields(
        {name: old[name] for name in BODY_FIELDS}, {name: new[name] for name in BODY_FIELDS}
    )
    if not changes:
        return campaign, _entry(campaign, AuditAction.UPDATED, actor, at=at)
    updated = _validated(
        {**new, "version": campaign.version + 1, "updated_at": at, "updated_by": actor.user_id}
    )
    return updated, _entry(updated, AuditAction.UPDATED, actor, changes=changes)


def activation_problems(campaign: CampaignBody, now: datetime) -> list[FieldError]:
    """What keeps ``campaign`` from running at ``now``; empty when it can be activated.

    It needs a budget limit, a schedule that is not over, a template for every channel
    in every targeted language (all four when none is listed), and a geofence when the
    geofence_enter trigger is used.
    """
    at = aware_utc(now, "now")
    problems: list[FieldError] = []
    if not campaign.budget.has_limit:
        problems.append(
            FieldError(
                "budget",
                "set at least one of max_sends, max_redemptions, max_discount_spend_eur "
                "before activating",
            )
        )
    if campaign.schedule.end <= at:
        problems.append(
            FieldError(
                "schedule.end",
                f"is {campaign.schedule.end.isoformat()}, already past (now is {at.isoformat()})",
            )
        )
    targeting = campaign.targeting
    if Trigger.GEOFENCE_ENTER in targeting.triggers and not targeting.geofences:
        problems.append(
            FieldError("targeting.geofences", "the geofence_enter trigger needs a geofence")
        )
    for channel in campaign.channels:
        for language in targeting.targeted_languages:
            if campaign.template_for(channel, language) is None:
                problems.append(
                    FieldError(
                        "templates",
                        f"no template for channel {channel.value} in language {language.value}",
                    )
                )
    return problems


def transition(
    campaign: Campaign,
    action: LifecycleAction,
    actor: Actor,
    now: datetime,
    *,
    expected_version: int | None = None,
) -> tuple[Campaign, AuditEntry]:
    """The campaign after ``action``, and its entry.

    Raises :class:`CampaignConflict` if ``action`` is not allowed from the campaign's
    status, :class:`CampaignInvalid` with every problem if it is activated or resumed
    but cannot run.
    """
    _check_version(campaign, expected_version)
    move = MOVES[action]
    if campaign.status not in move.sources:
        raise CampaignConflict([FieldError("status", _why_not_allowed(campaign.status, action))])
    at = max(aware_utc(now, "now"), campaign.updated_at)
    if move.target is _ACTIVE:
        problems = activation_problems(campaign, at)
        if problems:
            raise CampaignInvalid(problems)
    moved = campaign.model_copy(
        update={
            "status": move.target,
            "version": campaign.version + 1,
            "updated_at": at,
            "updated_by": actor.user_id,
        }
    )
    return moved, _entry(moved, move.logged_as, actor)


def activate(
    campaign: Campaign, actor: Actor, now: datetime, *, expected_version: int | None = None
) -> tuple[Campaign, AuditEntry]:
    """The draft ``campaign`` activated (see :func:`transition`)."""
    return transition(
        campaign, LifecycleAction.ACTIVATE, actor, now, expected_version=expected_version
    )


def _entry(
    campaign: Campaign,
    action: AuditAction,
    actor: Actor,
    *,
    at: datetime | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry(
        campaign_id=campaign.id,
        version=campaign.version,
        action=action,
        actor=actor,
        at=at or campaign.updated_at,
        changes=changes or {},
    )


def _validated(data: dict[str, Any]) -> Campaign:
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        raise CampaignInvalid(field_errors(exc)) from None


def _check_version(campaign: Campaign, expected: int | None) -> None:
    if expected is not None and expected != campaign.version:
        raise CampaignConflict(
            [
                FieldError(
                    "version",
                    f"is {campaign.version}, not {expected}: the campaign changed meanwhile; "
                    "reload it and try again",
                )
            ]
        )


def _why_not_editable(status: CampaignStatus) -> str:
    if status is _ENDED:
        return "the campaign has ended and can no longer change"
    return f"the campaign is {status.value}; pause it before editing"


def _why_not_allowed(status: CampaignStatus, action: LifecycleAction) -> str:
    allowed = ", ".join(a.value for a in allowed_actions(status))
    if not allowed:
        return f"cannot {action.value} a campaign that has ended; it can no longer change"
    return f"cannot {action.value} a campaign that is {status.value}; allowed: {allowed}"
