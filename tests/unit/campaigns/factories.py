"""Valid example campaigns for tests, as JSON-ready dicts and as models.

Import from anywhere as ``tests.unit.campaigns.factories``. Every builder takes
overrides as keyword arguments; an override of ``...`` removes the field, so a test can
say ``campaign_wire(budget=...)`` for "no budget". :func:`errors_of` validates a dict
and returns the ``FieldError`` list the API would answer with.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from offers.campaigns import (
    Actor,
    Campaign,
    CampaignCreate,
    CampaignStatus,
    create_campaign,
    field_errors,
    transition,
)
from offers.campaigns.lifecycle import LifecycleAction
from offers.errors import FieldError
from offers.roles import Role

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
"""The fixed "now" of campaign tests (the same as tests/factories.py)."""

CAMPAIGN_ID = "cmp-summer-olbia"
MARKETER = Actor(user_id="u-marta", role=Role.MARKETER)
ADMIN = Actor(user_id="u-admin", role=Role.ADMIN)

VALID_CAMPAIGN: dict[str, Any] = {
    "name": "Summer to Olbia",
    "description": "15 % off Livorno-Olbia for customers near the port",
    "offer": {
        "kind": "percent_discount",
        "percent": 15,
        "route_ids": ["LIV-OLB", "OLB-LIV"],
        "cost_eur": 9.5,
    },
    "templates": [
        {
            "channel": "sms",
            "language": "it",
            "text": "Ciao {name}! {discount} su {sailing} da {port}, entro {expiry}.",
        },
        {
            "channel": "sms",
            "language": "en",
            "text": "Hi {name}! {discount} off {sailing} from {port}, until {expiry}.",
        },
        {
            "channel": "whatsapp",
            "language": "it",
            "text": "Ciao {name}, {sailing} a {fare} con {discount} di sconto. Scade: {expiry}",
        },
        {
            "channel": "whatsapp",
            "language": "en",
            "text": "Hi {name}, {sailing} for {fare} with {discount} off. Ends {expiry}",
        },
    ],
    "targeting": {
        "triggers": ["geofence_enter", "abandoned_quote"],
        "geofences": [
            {"kind": "port", "port": "LIV", "radius_km": 5.0},
            {
                "kind": "polygon",
                "name": "Pisa centre",
                "points": [[43.70, 10.38], [43.70, 10.42], [43.73, 10.42], [43.73, 10.38]],
            },
        ],
        "segment_rules": [
            {"feature": "bookings_total", "op": "ge", "value": 1},
            {"feature": "language", "op": "in", "value": ["it", "en"]},
        ],
        "languages": ["it", "en"],
        "max_position_age_s": 600,
    },
    "schedule": {
        "start": "2025-06-01T00:00:00+00:00",
        "end": "2025-09-01T00:00:00+00:00",
        "days": [1, 2, 3, 4, 5, 6, 7],
        "hours": {"start_hour": 8, "end_hour": 21},
    },
    "channels": ["sms", "whatsapp"],
    "budget": {"max_sends": 50_000, "max_redemptions": 2_000, "max_discount_spend_eur": 20_000.0},
    "frequency_cap": {"per_day": 1, "per_week": 2},
    "priority_eur": 12.0,
    "holdout_share": 0.1,
    "offer_expiry_hours": 48,
}
"""A campaign body a marketer could send, ready to be activated at NOW."""


def campaign_wire(**overrides: Any) -> dict[str, Any]:
    """``VALID_CAMPAIGN`` with top-level ``overrides`` (``...`` removes a field)."""
    data = copy.deepcopy(VALID_CAMPAIGN)
    for name, value in overrides.items():
        if value is ...:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def runnable_wire(now: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    """A campaign body that can be activated at ``now`` (the wall clock by default): its
    schedule runs for 30 days from then."""
    start = (now or datetime.now(UTC)).replace(microsecond=0)
    schedule = nested(
        "schedule", start=start.isoformat(), end=(start + timedelta(days=30)).isoformat()
    )
    return campaign_wire(schedule=schedule, **overrides)


def nested(section: str, **overrides: Any) -> dict[str, Any]:
    """The ``section`` object of ``VALID_CAMPAIGN`` (e.g. ``"offer"``) with overrides."""
    data = copy.deepcopy(VALID_CAMPAIGN[section])
    assert isinstance(data, dict)
    for name, value in overrides.items():
        if value is ...:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def valid_campaign_create(**overrides: Any) -> CampaignCreate:
    """A valid ``CampaignCreate`` (see :func:`campaign_wire` for ``overrides``)."""
    return CampaignCreate.model_validate(campaign_wire(**overrides))


def valid_campaign(
    status: CampaignStatus = CampaignStatus.DRAFT,
    *,
    campaign_id: str = CAMPAIGN_ID,
    now: datetime = NOW,
    **overrides: Any,
) -> Campaign:
    """A stored campaign in ``status``, created (and moved there) by ``MARKETER`` at ``now``."""
    campaign, _ = create_campaign(valid_campaign_create(**overrides), campaign_id, MARKETER, now)
    path = {
        CampaignStatus.DRAFT: (),
        CampaignStatus.ACTIVE: (LifecycleAction.ACTIVATE,),
        CampaignStatus.PAUSED: (LifecycleAction.ACTIVATE, LifecycleAction.PAUSE),
        CampaignStatus.ENDED: (LifecycleAction.END,),
    }[status]
    for step, action in enumerate(path, start=1):
        campaign, _ = transition(campaign, action, MARKETER, now + timedelta(minutes=step))
    return campaign


def errors_of(model: type[BaseModel], data: Any) -> list[FieldError]:
    """The field errors of validating ``data`` as ``model``; fails if it is valid."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return field_errors(exc)
    raise AssertionError(f"{model.__name__} accepted {data!r}")


def assert_rejected(model: type[BaseModel], data: Any, field: str, fragment: str) -> None:
    """Validating ``data`` as ``model`` fails on ``field`` with ``fragment`` in the reason."""
    errors = errors_of(model, data)
    if not any(e.field == field and fragment in e.reason for e in errors):
        raise AssertionError(f"expected {field!r} containing {fragment!r}, got {errors!r}")
