"""Campaigns on the campaigns topic, as ``CampaignChange`` events.

The API publishes one event per change, carrying the whole campaign in its JSON form and
the audit entry's fields (who, when, what changed). Each write has its own event id (the
record key), so the topic keeps every version: the workers rebuild each campaign from its
latest version, the API its audit trail from all of them.
"""

from __future__ import annotations

import uuid

from pydantic import ValidationError

from offers.campaigns.audit import Actor, AuditEntry
from offers.campaigns.errors import field_errors
from offers.campaigns.model import Campaign
from offers.contracts.base import ValidationClock
from offers.contracts.events import CampaignChange
from offers.errors import ContractError, FieldError


def new_change_id() -> str:
    """A fresh event id for one write of a campaign change (``cmpchg-`` and 32 hex digits)."""
    return f"cmpchg-{uuid.uuid4().hex}"


def campaign_change(
    campaign: Campaign, entry: AuditEntry, *, event_id: str | None = None
) -> CampaignChange:
    """The event that publishes ``campaign`` after the change ``entry`` records."""
    if (entry.campaign_id, entry.version) != (campaign.id, campaign.version):
        raise ValueError(
            f"entry is of {entry.campaign_id} version {entry.version}, "
            f"not of {campaign.id} version {campaign.version}"
        )
    return CampaignChange.model_validate(
        {
            "event_id": event_id or new_change_id(),
            "event_time": entry.at,
            "campaign_id": campaign.id,
            "action": entry.action,
            "actor": entry.actor.user_id,
            "actor_role": entry.actor.role,
            "revision": campaign.version,
            "changes": entry.changes,
            "campaign": campaign.model_dump(mode="json"),
        },
        context={"clock": ValidationClock(now=entry.at)},
    )


def audit_entry(change: CampaignChange) -> AuditEntry:
    """The audit entry a change event records."""
    return AuditEntry(
        campaign_id=change.campaign_id,
        version=change.revision,
        action=change.action,
        actor=Actor(user_id=change.actor, role=change.actor_role),
        at=change.event_time,
        changes=change.changes,
    )


def campaign_from_change(change: CampaignChange) -> Campaign:
    """The campaign an event carries; ContractError (fields under ``campaign.``) if it is
    not a valid campaign or not the one the event names."""
    try:
        campaign = Campaign.model_validate(change.campaign)
    except ValidationError as exc:
        raise ContractError(field_errors(exc, prefix="campaign")) from None
    problems = []
    if campaign.id != change.campaign_id:
        problems.append(
            FieldError("campaign.id", f"is {campaign.id!r}, not the event's {change.campaign_id!r}")
        )
    if campaign.version != change.revision:
        problems.append(
            FieldError(
                "campaign.version",
                f"is {campaign.version}, not the event's revision {change.revision}",
            )
        )
    if problems:
        raise ContractError(problems)
    return campaign
