"""The lifecycle: every allowed and refused transition, edits, activation problems, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import JsonValue

from offers.campaigns import (
    EDITABLE_STATUSES,
    Actor,
    AuditAction,
    AuditEntry,
    Campaign,
    CampaignConflict,
    CampaignInvalid,
    CampaignStatus,
    CampaignUpdate,
    LifecycleAction,
    activate,
    activation_problems,
    allowed_actions,
    apply_update,
    changed_fields,
    new_campaign_id,
    transition,
)
from offers.errors import FieldError, OffersError
from offers.roles import Role
from tests.unit.campaigns.factories import (
    ADMIN,
    MARKETER,
    NOW,
    VALID_CAMPAIGN,
    nested,
    valid_campaign,
)

LATER = NOW + timedelta(hours=1)
DRAFT, ACTIVE, PAUSED, ENDED = (
    CampaignStatus.DRAFT,
    CampaignStatus.ACTIVE,
    CampaignStatus.PAUSED,
    CampaignStatus.ENDED,
)
ACTIVATE, PAUSE, RESUME, END = (
    LifecycleAction.ACTIVATE,
    LifecycleAction.PAUSE,
    LifecycleAction.RESUME,
    LifecycleAction.END,
)

ALLOWED = [
    (DRAFT, ACTIVATE, ACTIVE, AuditAction.ACTIVATED),
    (ACTIVE, PAUSE, PAUSED, AuditAction.PAUSED),
    (PAUSED, RESUME, ACTIVE, AuditAction.RESUMED),
    (DRAFT, END, ENDED, AuditAction.ENDED),
    (ACTIVE, END, ENDED, AuditAction.ENDED),
    (PAUSED, END, ENDED, AuditAction.ENDED),
]
ALLOWED_PAIRS = {(source, action) for source, action, _, _ in ALLOWED}
REFUSED = [
    (status, action)
    for status in CampaignStatus
    for action in LifecycleAction
    if (status, action) not in ALLOWED_PAIRS
]


@pytest.mark.parametrize(("source", "action", "target", "logged_as"), ALLOWED)
def test_allowed_transitions(
    source: CampaignStatus, action: LifecycleAction, target: CampaignStatus, logged_as: AuditAction
) -> None:
    campaign = valid_campaign(source)
    moved, entry = transition(campaign, action, ADMIN, LATER)
    assert moved.status is target
    assert moved.version == campaign.version + 1
    assert (moved.updated_at, moved.updated_by) == (LATER, "u-admin")
    assert moved.created_at == campaign.created_at
    assert moved.body() == campaign.body()
    assert entry == AuditEntry(
        campaign_id=campaign.id,
        version=moved.version,
        action=logged_as,
        actor=ADMIN,
        at=LATER,
    )


def test_there_are_ten_refused_transitions() -> None:
    assert len(REFUSED) == 4 * 4 - len(ALLOWED) == 10


@pytest.mark.parametrize(("status", "action"), REFUSED)
def test_refused_transitions(status: CampaignStatus, action: LifecycleAction) -> None:
    campaign = valid_campaign(status)
    with pytest.raises(CampaignConflict) as info:
        transition(campaign, action, MARKETER, LATER)
    [error] = info.value.errors
    assert error.field == "status"
    assert f"cannot {action.value} a campaign that" in error.reason
    assert isinstance(info.value, OffersError)


def test_refusals_say_what_is_allowed() -> None:
    with pytest.raises(
        CampaignConflict, match="cannot pause a campaign that is draft; allowed: activate, end"
    ):
        transition(valid_campaign(DRAFT), PAUSE, MARKETER, LATER)
    with pytest.raises(CampaignConflict, match="has ended; it can no longer change"):
        transition(valid_campaign(ENDED), RESUME, MARKETER, LATER)


def test_allowed_actions_per_status() -> None:
    assert allowed_actions(DRAFT) == (ACTIVATE, END)
    assert allowed_actions(ACTIVE) == (PAUSE, END)
    assert allowed_actions(PAUSED) == (RESUME, END)
    assert allowed_actions(ENDED) == ()


def test_a_stale_version_is_refused() -> None:
    campaign = valid_campaign(DRAFT)
    with pytest.raises(CampaignConflict) as info:
        transition(campaign, ACTIVATE, MARKETER, LATER, expected_version=7)
    assert info.value.errors == (
        FieldError(
            "version", "is 1, not 7: the campaign changed meanwhile; reload it and try again"
        ),
    )
    moved, _ = activate(campaign, MARKETER, LATER, expected_version=1)
    assert moved.status is ACTIVE


def test_timestamps_never_go_back() -> None:
    campaign = valid_campaign(ACTIVE)
    moved, entry = transition(campaign, PAUSE, MARKETER, NOW - timedelta(hours=1))
    assert moved.updated_at == entry.at == campaign.updated_at


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        transition(valid_campaign(), END, MARKETER, NOW.replace(tzinfo=None))


# --- activation ----------------------------------------------------------------------------


def test_a_complete_campaign_has_no_activation_problems() -> None:
    assert activation_problems(valid_campaign(), NOW) == []


def test_activation_lists_every_problem_precisely() -> None:
    campaign = valid_campaign(
        budget={},
        channels=["sms", "push"],
        templates=[VALID_CAMPAIGN["templates"][0]],
        schedule=nested("schedule", end="2025-06-01T06:00:00+00:00"),
    )
    expected = [
        FieldError(
            "budget",
            "set at least one of max_sends, max_redemptions, max_discount_spend_eur before "
            "activating",
        ),
        FieldError(
            "schedule.end",
            "is 2025-06-01T06:00:00+00:00, already past (now is 2025-06-01T12:00:00+00:00)",
        ),
        FieldError("templates", "no template for channel sms in language en"),
        FieldError("templates", "no template for channel push in language it"),
        FieldError("templates", "no template for channel push in language en"),
    ]
    assert activation_problems(campaign, NOW) == expected
    with pytest.raises(CampaignInvalid) as info:
        activate(campaign, MARKETER, NOW)
    assert list(info.value.errors) == expected


def test_no_listed_language_means_every_language_needs_a_template() -> None:
    campaign = valid_campaign(targeting=nested("targeting", languages=[]), channels=["sms"])
    assert [e.reason for e in activation_problems(campaign, NOW)] == [
        "no template for channel sms in language de",
        "no template for channel sms in language fr",
    ]


def test_a_missing_geofence_is_an_activation_problem_too() -> None:
    campaign = valid_campaign()
    # the model refuses this; a campaign built without validation is still checked
    targeting = campaign.targeting.model_copy(update={"geofences": ()})
    broken = campaign.model_copy(update={"targeting": targeting})
    assert activation_problems(broken, NOW) == [
        FieldError("targeting.geofences", "the geofence_enter trigger needs a geofence")
    ]


def test_a_campaign_starting_later_can_be_activated() -> None:
    campaign = valid_campaign(schedule=nested("schedule", start="2025-07-01T00:00:00+00:00"))
    assert activation_problems(campaign, NOW) == []


def test_resuming_checks_activation_again() -> None:
    paused = valid_campaign(PAUSED)
    after_the_end = paused.schedule.end + timedelta(seconds=1)
    with pytest.raises(CampaignInvalid) as info:
        transition(paused, RESUME, MARKETER, after_the_end)
    assert [e.field for e in info.value.errors] == ["schedule.end"]


# --- edits ---------------------------------------------------------------------------------


def test_edits_are_allowed_in_draft_and_paused_only() -> None:
    assert EDITABLE_STATUSES == {DRAFT, PAUSED}


@pytest.mark.parametrize("status", [DRAFT, PAUSED])
def test_an_update_lists_exactly_the_changed_fields(status: CampaignStatus) -> None:
    campaign = valid_campaign(status)
    update = CampaignUpdate.model_validate(
        {
            "name": "Late summer to Olbia",
            "offer": nested("offer", percent=20),
            "holdout_share": 0.1,  # unchanged
            "targeting": nested("targeting", triggers=["abandoned_quote", "geofence_enter"]),
        }
    )
    updated, entry = apply_update(campaign, update, ADMIN, LATER)
    assert updated.name == "Late summer to Olbia"
    assert updated.offer.percent == 20
    assert updated.status is status
    assert updated.version == campaign.version + 1
    assert (updated.updated_at, updated.updated_by) == (LATER, "u-admin")
    assert entry.action is AuditAction.UPDATED
    assert entry.version == updated.version
    assert entry.changes == {
        "name": ("Summer to Olbia", "Late summer to Olbia"),
        "offer.percent": (15, 20),
    }


def test_an_update_of_nested_lists_records_the_whole_list() -> None:
    campaign = valid_campaign()
    update = CampaignUpdate.model_validate({"channels": ["sms"], "budget": {"max_sends": 10}})
    _, entry = apply_update(campaign, update, MARKETER, LATER)
    assert entry.changes == {
        "channels": (["sms", "whatsapp"], ["sms"]),
        "budget.max_sends": (50_000, 10),
        "budget.max_redemptions": (2_000, None),
        "budget.max_discount_spend_eur": (20_000.0, None),
    }


def test_an_update_that_changes_nothing_keeps_the_version() -> None:
    campaign = valid_campaign()
    same = CampaignUpdate.model_validate({"name": campaign.name, "holdout_share": 0.1})
    updated, entry = apply_update(campaign, same, MARKETER, LATER)
    assert updated is campaign
    assert entry.changes == {}
    assert entry.version == campaign.version


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (ACTIVE, "the campaign is active; pause it before editing"),
        (ENDED, "the campaign has ended and can no longer change"),
    ],
)
def test_editing_an_active_or_ended_campaign_is_refused(
    status: CampaignStatus, reason: str
) -> None:
    campaign = valid_campaign(status)
    with pytest.raises(CampaignConflict) as info:
        apply_update(campaign, CampaignUpdate(name="Renamed"), MARKETER, LATER)
    assert info.value.errors == (FieldError("status", reason),)


def test_an_update_with_a_stale_version_is_refused() -> None:
    campaign = valid_campaign()
    with pytest.raises(CampaignConflict, match="version: is 1, not 2"):
        apply_update(campaign, CampaignUpdate(name="x"), MARKETER, LATER, expected_version=2)


def test_pause_edit_resume() -> None:
    paused = valid_campaign(PAUSED)
    edited, _ = apply_update(paused, CampaignUpdate(channels=("sms",)), MARKETER, LATER)
    resumed, entry = transition(edited, RESUME, MARKETER, LATER)
    assert resumed.status is ACTIVE
    assert resumed.version == paused.version + 2
    assert entry.action is AuditAction.RESUMED


def test_an_update_that_leaves_a_campaign_unable_to_run_is_caught_at_resume() -> None:
    paused = valid_campaign(PAUSED)
    edited, _ = apply_update(
        paused, CampaignUpdate.model_validate({"channels": ["push"]}), MARKETER, LATER
    )
    with pytest.raises(CampaignInvalid, match="no template for channel push in language it"):
        transition(edited, RESUME, MARKETER, LATER)


# --- audit entries -------------------------------------------------------------------------


def test_changed_fields_compares_nested_objects_field_by_field() -> None:
    old: dict[str, JsonValue] = {"a": 1, "b": {"c": 2, "d": [1, 2]}, "e": None, "f": 1}
    new: dict[str, JsonValue] = {"a": 1, "b": {"c": 3, "d": [1, 2]}, "e": "x", "f": True, "g": 0}
    assert changed_fields(old, new) == {
        "b.c": (2, 3),
        "e": (None, "x"),
        "f": (1, True),
        "g": (None, 0),
    }


def test_audit_entries_record_changes_for_updates_only() -> None:
    entry = AuditEntry.model_validate(
        {
            "campaign_id": "cmp-1",
            "version": 2,
            "action": "updated",
            "actor": {"user_id": "u-1", "role": "marketer"},
            "at": "2025-06-01T12:00:00+02:00",
            "changes": {"name": ["a", "b"]},
        }
    )
    assert entry.at == NOW - timedelta(hours=2)
    assert AuditEntry.model_validate(entry.model_dump(mode="json")) == entry
    with pytest.raises(ValueError, match="changes: are only recorded for updates, not paused"):
        AuditEntry(
            campaign_id="cmp-1",
            version=2,
            action=AuditAction.PAUSED,
            actor=MARKETER,
            at=NOW,
            changes={"name": ("a", "b")},
        )


def test_actors_have_a_known_role() -> None:
    assert str(Actor(user_id="u-1", role=Role.DATA_SCIENTIST)) == "u-1 (data_scientist)"
    with pytest.raises(ValueError, match="'customer', 'marketer', 'data_scientist' or 'admin'"):
        Actor.model_validate({"user_id": "u-1", "role": "intern"})


def test_new_campaign_ids_are_valid_and_distinct() -> None:
    first, second = new_campaign_id(), new_campaign_id()
    assert first != second
    assert (
        Campaign.model_validate({**valid_campaign().model_dump(mode="json"), "id": first}).id
        == first
    )
