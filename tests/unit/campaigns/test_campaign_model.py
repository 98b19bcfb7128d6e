"""The campaign model: good input is accepted, bad input is rejected field by field, and
the stored campaign round-trips through JSON exactly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from offers.campaigns import (
    Budget,
    Campaign,
    CampaignCreate,
    CampaignInvalid,
    CampaignStatus,
    CampaignUpdate,
    FrequencyCap,
    Guardrails,
    audit_entry,
    campaign_change,
    campaign_from_change,
    create_campaign,
    field_errors,
)
from offers.campaigns.audit import AuditAction, AuditEntry
from offers.campaigns.model import BODY_FIELDS
from offers.contracts import CampaignChange, ValidationClock, decode, encode
from offers.errors import ContractError, FieldError, OffersError
from tests.unit.campaigns.factories import (
    MARKETER,
    NOW,
    VALID_CAMPAIGN,
    assert_rejected,
    campaign_wire,
    errors_of,
    nested,
    valid_campaign,
    valid_campaign_create,
)

# --- good input --------------------------------------------------------------------------


def test_the_example_campaign_is_valid() -> None:
    create = valid_campaign_create()
    assert create.name == "Summer to Olbia"
    assert create.offer.percent == 15
    assert [t.value for t in create.targeting.triggers] == ["geofence_enter", "abandoned_quote"]
    assert create.schedule.start.tzinfo is not None


def test_defaults_of_optional_fields() -> None:
    minimal = campaign_wire(
        description=...,
        templates=...,
        budget=...,
        frequency_cap=...,
        priority_eur=...,
        holdout_share=...,
        offer_expiry_hours=...,
        guardrails=...,
    )
    create = CampaignCreate.model_validate(minimal)
    assert create.description == ""
    assert create.templates == ()
    assert create.budget == Budget()
    assert not create.budget.has_limit
    assert create.frequency_cap == FrequencyCap(per_day=1, per_week=3)
    assert (create.priority_eur, create.holdout_share, create.offer_expiry_hours) == (0.0, 0.1, 48)
    assert create.guardrails == Guardrails(pause_on_social_alerts=False)


GOOD_VARIANTS = [
    pytest.param({"holdout_share": 0}, id="no-holdout"),
    pytest.param({"holdout_share": 0.5}, id="largest-holdout"),
    pytest.param({"offer_expiry_hours": 1}, id="shortest-expiry"),
    pytest.param({"offer_expiry_hours": 720}, id="longest-expiry"),
    pytest.param({"priority_eur": 0}, id="int-priority"),
    pytest.param({"guardrails": {"pause_on_social_alerts": True}}, id="pause-on-alerts"),
    pytest.param({"guardrails": {}}, id="default-guardrails"),
    pytest.param({"channels": ["push", "sms", "push"]}, id="channels-repeat"),
    pytest.param({"budget": {"max_sends": 1}}, id="budget-one-limit"),
    pytest.param({"frequency_cap": {"per_day": 3, "per_week": 3}}, id="cap-day-equals-week"),
    pytest.param({"name": "x" * 120}, id="longest-name"),
    pytest.param({"description": "d" * 2000}, id="longest-description"),
    pytest.param({"templates": []}, id="no-templates-in-a-draft"),
    pytest.param(
        {"schedule": nested("schedule", start="2025-06-01T02:00:00+02:00")}, id="start-offset"
    ),
]


@pytest.mark.parametrize("overrides", GOOD_VARIANTS)
def test_good_variants_are_accepted(overrides: dict[str, Any]) -> None:
    create = CampaignCreate.model_validate(campaign_wire(**overrides))
    assert CampaignCreate.model_validate(create.model_dump(mode="json")) == create


def test_sets_are_stored_in_canonical_order_without_repeats() -> None:
    create = valid_campaign_create(channels=["whatsapp", "sms", "whatsapp"])
    assert [c.value for c in create.channels] == ["sms", "whatsapp"]


# --- bad input ---------------------------------------------------------------------------

TEMPLATES: list[dict[str, Any]] = VALID_CAMPAIGN["templates"]

BAD_INPUT = [
    # the campaign itself
    pytest.param({"name": ...}, "name", "Field required", id="no-name"),
    pytest.param({"name": ""}, "name", "at least 1 character", id="empty-name"),
    pytest.param({"name": "   "}, "name", "must not be blank", id="blank-name"),
    pytest.param({"name": "x" * 121}, "name", "at most 120 characters", id="long-name"),
    pytest.param({"name": 7}, "name", "valid string", id="numeric-name"),
    pytest.param({"description": "d" * 2001}, "description", "at most 2000", id="long-desc"),
    pytest.param({"offer": ...}, "offer", "Field required", id="no-offer"),
    pytest.param({"targeting": ...}, "targeting", "Field required", id="no-targeting"),
    pytest.param({"schedule": ...}, "schedule", "Field required", id="no-schedule"),
    pytest.param({"channels": ...}, "channels", "Field required", id="no-channels"),
    pytest.param({"channels": []}, "channels", "at least 1 item", id="empty-channels"),
    pytest.param({"channels": ["fax"]}, "channels.0", "'sms', 'messenger'", id="bad-channel"),
    pytest.param({"holdout_share": 0.51}, "holdout_share", "less than or equal to 0.5", id="hold"),
    pytest.param({"holdout_share": -0.1}, "holdout_share", "greater than or equal to 0", id="h-"),
    pytest.param({"holdout_share": "0.1"}, "holdout_share", "valid number", id="holdout-text"),
    pytest.param({"holdout_share": True}, "holdout_share", "valid number", id="holdout-bool"),
    pytest.param(
        {"offer_expiry_hours": 0}, "offer_expiry_hours", "greater than or equal to 1", id="exp0"
    ),
    pytest.param(
        {"offer_expiry_hours": 721}, "offer_expiry_hours", "less than or equal to 720", id="exp"
    ),
    pytest.param(
        {"offer_expiry_hours": 1.5}, "offer_expiry_hours", "valid integer", id="exp-float"
    ),
    pytest.param({"priority_eur": -1}, "priority_eur", "greater than or equal to 0", id="priority"),
    pytest.param({"priority_eur": float("inf")}, "priority_eur", "finite number", id="prio-inf"),
    pytest.param(
        {"guardrails": {"pause_on_social_alerts": "yes"}},
        "guardrails.pause_on_social_alerts",
        "valid boolean",
        id="pause-text",
    ),
    pytest.param(
        {"guardrails": {"pause_on_social_alerts": 1}},
        "guardrails.pause_on_social_alerts",
        "valid boolean",
        id="pause-int",
    ),
    pytest.param(
        {"guardrails": {"pause_on_complaints": True}},
        "guardrails.pause_on_complaints",
        "Extra inputs are not permitted",
        id="unknown-guardrail",
    ),
    pytest.param({"guardrails": True}, "guardrails", "valid dictionary", id="guardrails-bool"),
    # server-owned fields cannot be set by clients
    pytest.param({"id": "cmp-1"}, "id", "Extra inputs are not permitted", id="client-id"),
    pytest.param({"status": "active"}, "status", "Extra inputs are not permitted", id="status"),
    pytest.param({"version": 3}, "version", "Extra inputs are not permitted", id="version"),
    pytest.param({"created_at": NOW.isoformat()}, "created_at", "Extra inputs", id="created-at"),
    pytest.param({"updated_by": "u-x"}, "updated_by", "Extra inputs", id="updated-by"),
    # templates
    pytest.param(
        {"templates": [*TEMPLATES, TEMPLATES[0]]},
        "templates.4",
        "a second template for channel sms and language it (the first is templates.0)",
        id="duplicate-template",
    ),
    pytest.param(
        {"templates": [{"channel": "sms", "language": "it", "text": "Ciao {nome}"}]},
        "templates.0.text",
        "unknown field '{nome}'",
        id="template-unknown-field",
    ),
    pytest.param(
        {"templates": [{"channel": "sms", "language": "es", "text": "Hola"}]},
        "templates.0.language",
        "'it', 'en', 'de' or 'fr'",
        id="template-language",
    ),
    # offer
    pytest.param(
        {"offer": nested("offer", percent=...)},
        "offer.percent",
        "is required when kind is percent_discount",
        id="offer-no-percent",
    ),
    pytest.param(
        {"offer": nested("offer", percent=91)},
        "offer.percent",
        "less than or equal to 90",
        id="offer-percent-high",
    ),
    pytest.param(
        {"offer": nested("offer", route_ids=["LIV-NAP"])},
        "offer.route_ids.0",
        "unknown route 'LIV-NAP'",
        id="offer-unknown-route",
    ),
    pytest.param(
        {"offer": nested("offer", cost_eur=...)},
        "offer.cost_eur",
        "Field required",
        id="offer-no-cost",
    ),
    # targeting
    pytest.param(
        {"targeting": nested("targeting", geofences=[])},
        "targeting.geofences",
        "at least one geofence is required with the geofence_enter trigger",
        id="geofence-trigger-without-geofence",
    ),
    pytest.param(
        {"targeting": nested("targeting", triggers=["search"])},
        "targeting.geofences",
        "only used by the geofence_enter trigger",
        id="geofence-without-trigger",
    ),
    pytest.param(
        {"targeting": nested("targeting", geofences=[{"kind": "port", "port": "NAP"}])},
        "targeting.geofences.0.port",
        "unknown port 'NAP'",
        id="geofence-unknown-port",
    ),
    pytest.param(
        {
            "targeting": nested(
                "targeting", segment_rules=[{"feature": "shoe_size", "op": "eq", "value": 42}]
            )
        },
        "targeting.segment_rules.0.feature",
        "unknown feature 'shoe_size'",
        id="segment-unknown-feature",
    ),
    pytest.param(
        {"targeting": nested("targeting", max_position_age_s=5)},
        "targeting.max_position_age_s",
        "greater than or equal to 10",
        id="position-age-short",
    ),
    # schedule
    pytest.param(
        {"schedule": nested("schedule", end="2025-05-31T00:00:00+00:00")},
        "schedule.end",
        "not after start",
        id="schedule-end-before-start",
    ),
    pytest.param(
        {"schedule": nested("schedule", start="2025-06-01T00:00:00")},
        "schedule.start",
        "timezone info",
        id="schedule-naive-start",
    ),
    # budget and caps
    pytest.param(
        {"budget": {"max_sends": 0}}, "budget.max_sends", "greater than or equal to 1", id="sends"
    ),
    pytest.param(
        {"budget": {"max_discount_spend_eur": 0}},
        "budget.max_discount_spend_eur",
        "greater than 0",
        id="spend-zero",
    ),
    pytest.param(
        {"budget": {"max_sends": "100"}}, "budget.max_sends", "valid integer", id="sends-text"
    ),
    pytest.param(
        {"budget": {"max_clicks": 5}}, "budget.max_clicks", "Extra inputs", id="budget-unknown"
    ),
    pytest.param(
        {"frequency_cap": {"per_day": 3, "per_week": 2}},
        "frequency_cap.per_week",
        "is 2, less than per_day (3)",
        id="cap-week-below-day",
    ),
    pytest.param(
        {"frequency_cap": {"per_day": 0}},
        "frequency_cap.per_day",
        "greater than or equal to 1",
        id="cap-zero",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "fragment"), BAD_INPUT)
def test_bad_input_is_rejected(overrides: dict[str, Any], field: str, fragment: str) -> None:
    assert_rejected(CampaignCreate, campaign_wire(**overrides), field, fragment)


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of(CampaignCreate, campaign_wire(name="", holdout_share=0.9, colour="red"))
    assert {e.field for e in errors} == {"name", "holdout_share", "colour"}


# --- updates -----------------------------------------------------------------------------


def test_an_update_may_set_any_field_alone() -> None:
    create = valid_campaign_create()
    for name in BODY_FIELDS:
        value = create.model_dump(mode="json")[name]
        update = CampaignUpdate.model_validate({name: value})
        assert update.changes() == {name: getattr(create, name)}


def test_an_empty_update_changes_nothing() -> None:
    assert CampaignUpdate.model_validate({}).changes() == {}


BAD_UPDATES = [
    pytest.param({"name": None}, "name", "may not be null", id="null-name"),
    pytest.param({"offer": None}, "offer", "may not be null", id="null-offer"),
    pytest.param({"name": ""}, "name", "at least 1 character", id="empty-name"),
    pytest.param({"holdout_share": 0.7}, "holdout_share", "less than or equal to 0.5", id="hold"),
    pytest.param({"guardrails": None}, "guardrails", "may not be null", id="null-guardrails"),
    pytest.param(
        {"guardrails": {"pause_on_social_alerts": "no"}},
        "guardrails.pause_on_social_alerts",
        "valid boolean",
        id="pause-text",
    ),
    pytest.param({"status": "active"}, "status", "Extra inputs are not permitted", id="status"),
    pytest.param({"id": "other"}, "id", "Extra inputs are not permitted", id="id"),
    pytest.param({"version": 9}, "version", "Extra inputs are not permitted", id="version"),
    pytest.param(
        {"offer": {"kind": "upgrade", "all_routes": True, "cost_eur": 5}},
        "offer.upgrade",
        "is required when kind is upgrade",
        id="offer-validated-whole",
    ),
    pytest.param(
        {"templates": [TEMPLATES[1], TEMPLATES[1]]},
        "templates.1",
        "a second template for channel sms and language en",
        id="duplicate-template",
    ),
]


@pytest.mark.parametrize(("data", "field", "fragment"), BAD_UPDATES)
def test_bad_updates_are_rejected(data: dict[str, Any], field: str, fragment: str) -> None:
    assert_rejected(CampaignUpdate, data, field, fragment)


# --- the stored campaign -----------------------------------------------------------------


def test_a_created_campaign_is_a_version_1_draft() -> None:
    campaign, entry = create_campaign(valid_campaign_create(), "cmp-1", MARKETER, NOW)
    assert campaign.id == "cmp-1"
    assert campaign.status is CampaignStatus.DRAFT
    assert campaign.version == 1
    assert campaign.created_at == campaign.updated_at == NOW
    assert campaign.updated_by == "u-marta"
    assert campaign.body() == valid_campaign_create()
    assert entry == AuditEntry(
        campaign_id="cmp-1", version=1, action=AuditAction.CREATED, actor=MARKETER, at=NOW
    )


def test_the_stored_campaign_checks_its_own_fields() -> None:
    data = valid_campaign().model_dump(mode="json")
    assert_rejected(Campaign, {**data, "version": 0}, "version", "greater than or equal to 1")
    assert_rejected(Campaign, {**data, "status": "archived"}, "status", "'draft', 'active'")
    assert_rejected(Campaign, {**data, "id": "has space"}, "id", "should match pattern")
    earlier = (NOW - timedelta(seconds=1)).isoformat()
    assert_rejected(Campaign, {**data, "updated_at": earlier}, "updated_at", "before created_at")
    assert_rejected(Campaign, {k: v for k, v in data.items() if k != "id"}, "id", "Field required")


@pytest.mark.parametrize("status", list(CampaignStatus))
def test_campaign_json_round_trip(status: CampaignStatus) -> None:
    campaign = valid_campaign(status)
    data = campaign.model_dump(mode="json")
    assert Campaign.model_validate(data) == campaign
    assert Campaign.model_validate(data).model_dump(mode="json") == data
    raw = orjson.dumps(data)
    assert Campaign.model_validate_json(raw) == campaign
    assert Campaign.model_validate(orjson.loads(raw)) == campaign


def test_campaign_and_its_audit_entry_travel_in_a_campaign_change_event() -> None:
    campaign = valid_campaign(CampaignStatus.ACTIVE)
    entry = AuditEntry(
        campaign_id=campaign.id,
        version=campaign.version,
        action=AuditAction.RESUMED,
        actor=MARKETER,
        at=campaign.updated_at,
    )
    event = campaign_change(campaign, entry)
    assert event.action == "resumed"
    assert event.revision == campaign.version
    assert (event.actor, event.actor_role) == ("u-marta", "marketer")
    decoded = decode(encode(event), clock=ValidationClock(now=NOW + timedelta(days=1)))
    assert isinstance(decoded, CampaignChange)
    assert campaign_from_change(decoded) == campaign
    assert audit_entry(decoded) == entry


def test_an_update_travels_with_its_changed_fields() -> None:
    campaign = valid_campaign()
    changes = {"name": ("Old", campaign.name), "offer.percent": (10, 15)}
    entry = AuditEntry(
        campaign_id=campaign.id,
        version=campaign.version,
        action=AuditAction.UPDATED,
        actor=MARKETER,
        at=campaign.updated_at,
        changes=changes,
    )
    decoded = decode(
        encode(campaign_change(campaign, entry)), clock=ValidationClock(now=NOW + timedelta(days=1))
    )
    assert isinstance(decoded, CampaignChange)
    assert audit_entry(decoded).changes == changes


def test_every_write_of_a_change_has_its_own_event_id() -> None:
    campaign = valid_campaign()
    entry = AuditEntry(campaign_id=campaign.id, version=1, action="created", actor=MARKETER, at=NOW)
    ids = {campaign_change(campaign, entry).event_id for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) <= 64 and i.startswith("cmpchg-") for i in ids)
    assert campaign_change(campaign, entry, event_id="cmpchg-x").partition_key() == "cmpchg-x"


def test_a_change_that_does_not_carry_a_valid_campaign_is_a_contract_error() -> None:
    campaign = valid_campaign()
    event = campaign_change(
        campaign,
        AuditEntry(campaign_id=campaign.id, version=1, action="created", actor=MARKETER, at=NOW),
    )
    broken = event.model_copy(update={"campaign": {**event.campaign, "holdout_share": 2}})
    with pytest.raises(ContractError) as info:
        campaign_from_change(broken)
    assert info.value.errors[0].field == "campaign.holdout_share"
    other = event.model_copy(update={"campaign_id": "cmp-other", "revision": 4})
    with pytest.raises(ContractError) as info:
        campaign_from_change(other)
    assert [e.field for e in info.value.errors] == ["campaign.id", "campaign.version"]


def test_an_entry_of_another_version_is_not_published() -> None:
    campaign = valid_campaign()
    entry = AuditEntry(campaign_id=campaign.id, version=2, action="updated", actor=MARKETER, at=NOW)
    with pytest.raises(ValueError, match="version 2"):
        campaign_change(campaign, entry)


# --- JSON round trip of generated campaigns ------------------------------------------------

_ROUTES = ["LIV-OLB", "OLB-LIV", "PIO-PFE", "GOA-BAS", "CIV-OLB", "STE-BON"]


@st.composite
def offers(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(["percent_discount", "fixed_discount", "upgrade", "onboard_voucher"])
    )
    offer: dict[str, Any] = {"kind": kind, "cost_eur": draw(st.floats(0, 500))}
    if kind == "percent_discount":
        offer["percent"] = draw(st.integers(1, 90))
    elif kind == "upgrade":
        offer["upgrade"] = draw(st.sampled_from(["cabin", "reserved_seat", "priority_boarding"]))
    else:
        offer["amount_eur"] = draw(st.floats(0.01, 1000))
    if draw(st.booleans()):
        offer["all_routes"] = True
    else:
        offer["route_ids"] = draw(st.lists(st.sampled_from(_ROUTES), min_size=1, unique=True))
        offer["sailing_ids"] = draw(
            st.lists(st.from_regex(r"S-[0-9]{1,6}", fullmatch=True), unique=True)
        )
    return offer


@st.composite
def polygons(draw: st.DrawFn) -> dict[str, Any]:
    lat = draw(st.floats(36, 46))
    lon = draw(st.floats(6, 16))
    half = draw(st.floats(0.001, 0.5))
    corners = [[lat - half, lon - half], [lat - half, lon + half], [lat + half, lon + half]]
    if draw(st.booleans()):
        corners.append([lat + half, lon - half])
    return {"kind": "polygon", "points": corners}


@st.composite
def campaigns(draw: st.DrawFn) -> Campaign:
    geofences = draw(
        st.lists(
            st.one_of(
                polygons(),
                st.builds(
                    lambda port, radius: {"kind": "port", "port": port, "radius_km": radius},
                    st.sampled_from(["LIV", "OLB", "PIO", "BAS"]),
                    st.none() | st.floats(0.1, 50),
                ),
            ),
            max_size=3,
        )
    )
    triggers = draw(
        st.lists(st.sampled_from(["search", "fare_drop", "capacity_released"]), min_size=1)
    )
    rules = draw(
        st.lists(
            st.sampled_from(
                [
                    {"feature": "bookings_total", "op": "ge", "value": 2},
                    {"feature": "sentiment_7d", "op": "gt", "value": 0.25},
                    {"feature": "nearest_port", "op": "in", "value": ["LIV", "PIO"]},
                    {"feature": "interest_tags", "op": "contains", "value": "beach"},
                    {"feature": "route_counts_24h", "op": "contains", "value": 3},
                ]
            ),
            max_size=3,
        )
    )
    start = NOW + timedelta(minutes=draw(st.integers(-10_000, 10_000)))
    hours = draw(
        st.none()
        | st.tuples(st.integers(0, 23), st.integers(1, 24))
        .filter(lambda h: h[0] != h[1])
        .map(lambda h: {"start_hour": h[0], "end_hour": h[1]})
    )
    body = campaign_wire(
        name=draw(st.text(min_size=1, max_size=120).filter(str.strip)),
        offer=draw(offers()),
        targeting={
            "triggers": [*triggers, "geofence_enter"] if geofences else triggers,
            "geofences": geofences,
            "segment_rules": rules,
            "languages": draw(st.lists(st.sampled_from(["it", "en", "de", "fr"]))),
        },
        schedule={
            "start": start.isoformat(),
            "end": (start + timedelta(hours=draw(st.integers(1, 5_000)))).isoformat(),
            "days": draw(
                st.lists(st.integers(1, 7) | st.sampled_from(["sat", "Sunday"]), min_size=1)
            ),
            "hours": hours,
        },
        budget=draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "max_sends": st.integers(1, 10**6),
                    "max_discount_spend_eur": st.floats(0.5, 1e6),
                },
            )
        ),
        holdout_share=draw(st.floats(0, 0.5)),
        priority_eur=draw(st.floats(0, 1000)),
    )
    campaign, _ = create_campaign(
        CampaignCreate.model_validate(body), "cmp-generated", MARKETER, NOW
    )
    return campaign


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(campaigns())
def test_generated_campaigns_round_trip_through_json(campaign: Campaign) -> None:
    data = campaign.model_dump(mode="json")
    again = Campaign.model_validate(data)
    assert again == campaign
    assert again.model_dump(mode="json") == data
    assert Campaign.model_validate_json(orjson.dumps(data)) == campaign


# --- errors as data ------------------------------------------------------------------------


def test_field_errors_take_a_validation_error_or_its_list() -> None:
    data = campaign_wire(offer=nested("offer", percent=...), holdout_share="0.1")
    try:
        CampaignCreate.model_validate(data)
    except ValidationError as exc:
        from_exception = field_errors(exc)
        from_list = field_errors(exc.errors(), prefix="body")
    else:
        raise AssertionError("accepted")
    assert from_exception == [
        FieldError("offer.percent", "is required when kind is percent_discount"),
        FieldError("holdout_share", "Input should be a valid number (got '0.1')"),
    ]
    assert [e.field for e in from_list] == ["body.offer.percent", "body.holdout_share"]


def test_a_refusal_carries_its_field_errors() -> None:
    error = CampaignInvalid([FieldError("budget", "is missing"), FieldError("name", "blank")])
    assert str(error) == "budget: is missing; name: blank"
    assert isinstance(error, OffersError)
