"""Campaigns: the one domain model shared by the HTTP API and the stream workers.

- :mod:`~offers.campaigns.model`: ``CampaignCreate`` / ``CampaignUpdate`` / ``Campaign``;
- its parts: :mod:`~offers.campaigns.offer`, :mod:`~offers.campaigns.templates`
  (with :func:`render`), :mod:`~offers.campaigns.targeting` and
  :mod:`~offers.campaigns.segments`, :mod:`~offers.campaigns.schedule` (with
  :func:`in_schedule`), :mod:`~offers.campaigns.budget`;
- :mod:`~offers.campaigns.lifecycle`: creation, updates and transitions as pure
  functions, each returning an :mod:`~offers.campaigns.audit` entry;
- :mod:`~offers.campaigns.changes`: campaigns as ``CampaignChange`` events, and
  :mod:`~offers.campaigns.history`: their versions folded from the campaigns topic;
- :mod:`~offers.campaigns.errors`: refusals as lists of ``FieldError``.
"""

from offers.campaigns.audit import Actor, AuditAction, AuditEntry, changed_fields
from offers.campaigns.budget import Budget, FrequencyCap
from offers.campaigns.changes import (
    audit_entry,
    campaign_change,
    campaign_from_change,
    new_change_id,
)
from offers.campaigns.errors import (
    CampaignConflict,
    CampaignError,
    CampaignInvalid,
    RenderError,
    field_errors,
)
from offers.campaigns.guardrails import Guardrails
from offers.campaigns.lifecycle import (
    EDITABLE_STATUSES,
    MOVES,
    LifecycleAction,
    activate,
    activation_problems,
    allowed_actions,
    apply_update,
    can_edit,
    create_campaign,
    new_campaign_id,
    transition,
)
from offers.campaigns.model import (
    Campaign,
    CampaignBody,
    CampaignCreate,
    CampaignStatus,
    CampaignUpdate,
)
from offers.campaigns.offer import Offer, OfferKind, Upgrade
from offers.campaigns.schedule import DailyHours, Schedule, Weekday, in_schedule
from offers.campaigns.segments import FEATURE_TYPES, Operator, SegmentRule
from offers.campaigns.targeting import Geofence, PolygonGeofence, PortGeofence, Targeting, Trigger
from offers.campaigns.templates import PERSONALISATION_FIELDS, MessageTemplate, render
from offers.roles import Role

__all__ = [
    "EDITABLE_STATUSES",
    "FEATURE_TYPES",
    "MOVES",
    "PERSONALISATION_FIELDS",
    "Actor",
    "AuditAction",
    "AuditEntry",
    "Budget",
    "Campaign",
    "CampaignBody",
    "CampaignConflict",
    "CampaignCreate",
    "CampaignError",
    "CampaignInvalid",
    "CampaignStatus",
    "CampaignUpdate",
    "DailyHours",
    "FrequencyCap",
    "Geofence",
    "Guardrails",
    "LifecycleAction",
    "MessageTemplate",
    "Offer",
    "OfferKind",
    "Operator",
    "PolygonGeofence",
    "PortGeofence",
    "RenderError",
    "Role",
    "Schedule",
    "SegmentRule",
    "Targeting",
    "Trigger",
    "Upgrade",
    "Weekday",
    "activate",
    "activation_problems",
    "allowed_actions",
    "apply_update",
    "audit_entry",
    "can_edit",
    "campaign_change",
    "campaign_from_change",
    "changed_fields",
    "create_campaign",
    "field_errors",
    "in_schedule",
    "new_campaign_id",
    "new_change_id",
    "render",
    "transition",
]
