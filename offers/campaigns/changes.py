"""Campaigns on the compacted campaigns topic, as ``CampaignChange`` events.

The API publishes one event per change (key: campaign id), carrying the whole campaign in
its JSON form; the workers rebuild the campaign from the latest event of each key.
"""

from __future__ import annotations

import hashlib

from pydantic import ValidationError

from offers.campaigns.audit import AuditAction, AuditEntry
from offers.campaigns.errors import field_errors
from offers.campaigns.model import Campaign
from offers.contracts.base import ValidationClock
from offers.contracts.events import CampaignAction, CampaignChange
from offers.errors import ContractError, FieldError

CHANGE_ACTIONS: dict[AuditAction, CampaignAction] = {
    AuditAction.CREATED: CampaignAction.CREATED,
    AuditAction.UPDATED: CampaignAction.UPDATED,
    AuditAction.ACTIVATED: CampaignAction.ACTIVATED,
    AuditAction.RESUMED: CampaignAction.ACTIVATED,
    AuditAction.PAUSED: CampaignAction.PAUSED,
    AuditAction.ENDED: CampaignAction.ENDED,
}
"""The event action of each audit action (the event contract has no ``resumed``: a
resumed campaign is published as ``activated``)."""

_MAX_ID = 64


def change_event_id(campaign_id: str, version: int) -> str:
    """The event id of a campaign's version: the same on every retry of its publication."""
    event_id = f"campaign:{campaign_id}:v{version}"
    if len(event_id) <= _MAX_ID:
        return event_id
    digest = hashlib.sha256(campaign_id.encode()).hexdigest()[:32]
    return f"campaign:{digest}:v{version}"


def campaign_change(campaign: Campaign, entry: AuditEntry) -> CampaignChange:
    """The event that publishes ``campaign`` after the change ``entry`` records."""
    if (entry.campaign_id, entry.version) != (campaign.id, campaign.version):
        raise ValueError(
            f"entry is of {entry.campaign_id} version {entry.version}, "
            f"not of {campaign.id} version {campaign.version}"
        )
    return CampaignChange.model_validate(
        {
            "event_id": change_event_id(campaign.id, campaign.version),
            "event_time": entry.at,
            "campaign_id": campaign.id,
            "action": CHANGE_ACTIONS[entry.action],
            "actor": str(entry.actor),
            "revision": campaign.version,
            "campaign": campaign.model_dump(mode="json"),
        },
        context={"clock": ValidationClock(now=entry.at)},
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
