"""The fold of the campaigns topic: versions accepted in order, the first write of a
version wins, the audit trail is every accepted change."""

from __future__ import annotations

from datetime import timedelta

from offers.campaigns import (
    AuditEntry,
    Campaign,
    CampaignUpdate,
    LifecycleAction,
    apply_update,
    campaign_change,
    create_campaign,
    transition,
)
from offers.campaigns.history import CampaignHistory
from offers.contracts import CampaignChange
from tests.unit.campaigns.factories import ADMIN, MARKETER, NOW, valid_campaign_create


def _changes() -> list[tuple[Campaign, AuditEntry]]:
    """A campaign created, renamed and activated: versions 1, 2, 3."""
    created = create_campaign(valid_campaign_create(), "cmp-a", MARKETER, NOW)
    renamed = apply_update(
        created[0], CampaignUpdate(name="Autumn to Olbia"), MARKETER, NOW + timedelta(minutes=1)
    )
    active = transition(renamed[0], LifecycleAction.ACTIVATE, ADMIN, NOW + timedelta(minutes=2))
    return [created, renamed, active]


def _events() -> list[CampaignChange]:
    return [campaign_change(campaign, entry) for campaign, entry in _changes()]


def test_versions_in_order_give_the_latest_campaign_and_the_whole_trail() -> None:
    history = CampaignHistory()
    assert [history.apply(e) for e in _events()] == [True, True, True]
    latest = history.get("cmp-a")
    assert latest is not None and latest.version == 3 and latest.name == "Autumn to Olbia"
    trail = history.audit("cmp-a")
    assert trail is not None
    assert [(e.version, e.action.value, e.actor.user_id) for e in trail] == [
        (1, "created", "u-marta"),
        (2, "updated", "u-marta"),
        (3, "activated", "u-admin"),
    ]
    assert trail[1].changes == {"name": ("Summer to Olbia", "Autumn to Olbia")}
    assert trail == [entry for _, entry in _changes()]


def test_of_two_writes_of_one_version_the_first_in_the_topic_wins() -> None:
    history = CampaignHistory()
    created, renamed, _ = _events()
    rival = campaign_change(
        *apply_update(campaign_from(created), CampaignUpdate(name="Rival name"), ADMIN, NOW)
    )
    assert history.apply(created)
    assert history.apply(renamed)
    assert not history.apply(rival)
    assert history.accepted("cmp-a", 2) == renamed.event_id
    latest = history.get("cmp-a")
    assert latest is not None and latest.name == "Autumn to Olbia"
    assert len(history.audit("cmp-a") or []) == 2


def test_a_version_that_skips_one_is_ignored() -> None:
    history = CampaignHistory()
    created, _, active = _events()
    history.apply(created)
    assert not history.apply(active)
    assert history.accepted("cmp-a", 3) is None
    latest = history.get("cmp-a")
    assert latest is not None and latest.version == 1


def test_a_change_whose_campaign_cannot_be_read_is_ignored() -> None:
    history = CampaignHistory()
    created = _events()[0]
    broken = created.model_copy(update={"campaign": {**created.campaign, "holdout_share": 7}})
    assert not history.apply(broken)
    assert history.get("cmp-a") is None and history.audit("cmp-a") is None
    assert history.apply(created)


def test_unknown_campaigns_and_versions() -> None:
    history = CampaignHistory()
    history.apply(_events()[0])
    assert history.get("cmp-zzz") is None
    assert history.accepted("cmp-a", 0) is None
    assert history.accepted("cmp-a", 2) is None
    assert len(history) == 1


def test_campaigns_are_listed_oldest_first() -> None:
    history = CampaignHistory()
    late = create_campaign(valid_campaign_create(), "cmp-late", MARKETER, NOW + timedelta(days=1))
    early = create_campaign(valid_campaign_create(), "cmp-early", MARKETER, NOW)
    for campaign, entry in (late, early):
        history.apply(campaign_change(campaign, entry))
    assert [c.id for c in history.campaigns()] == ["cmp-early", "cmp-late"]


def campaign_from(change: CampaignChange) -> Campaign:
    return Campaign.model_validate(change.campaign)
