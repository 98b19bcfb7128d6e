"""Campaigns kept in ``state.campaigns``: created, changed and moved through their life.

Every change is one record, written with acks=all, that carries the new version of the
campaign and the audit entry's fields; so a campaign and its audit trail can never
disagree, and both survive any restart of the API or the broker. The store reads the
topic back (:class:`~offers.campaigns.history.CampaignHistory`) and answers from it.

Concurrent writers (two API replicas, two marketers) are told apart by the topic itself:
of two writes of the same version only the first is accepted by every reader; the
writer of the other gets :class:`~offers.campaigns.errors.CampaignConflict` (409).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from offers.campaigns import (
    Actor,
    AuditEntry,
    Campaign,
    CampaignConflict,
    CampaignCreate,
    CampaignUpdate,
    LifecycleAction,
    apply_update,
    campaign_change,
    create_campaign,
    new_campaign_id,
    transition,
)
from offers.campaigns.history import CampaignHistory
from offers.contracts import CampaignChange, decode, encode
from offers.errors import FieldError, OffersError
from offers.state.compacted import TopicView, TopicWriter
from offers.topics import CAMPAIGNS


class CampaignNotFound(OffersError):
    """No campaign has this id (HTTP 404)."""

    def __init__(self, campaign_id: str) -> None:
        self.campaign_id = campaign_id
        super().__init__(f"no campaign has the id {campaign_id!r}")


def decode_change(raw: bytes) -> CampaignChange:
    """A record of ``state.campaigns``."""
    return cast(CampaignChange, decode(raw, expected=CampaignChange))


class CampaignStore:
    def __init__(self, bootstrap: str, writer: TopicWriter) -> None:
        self._writer = writer
        self.history = CampaignHistory()
        self.view: TopicView[CampaignChange] = TopicView(
            bootstrap, CAMPAIGNS.name, decode_change, on_change=self._fold
        )

    def _fold(self, key: str, change: CampaignChange | None) -> None:
        if change is not None:
            self.history.apply(change)

    def get(self, campaign_id: str) -> Campaign | None:
        return self.history.get(campaign_id)

    def require(self, campaign_id: str) -> Campaign:
        campaign = self.history.get(campaign_id)
        if campaign is None:
            raise CampaignNotFound(campaign_id)
        return campaign

    def all(self) -> list[Campaign]:
        return self.history.campaigns()

    def audit(self, campaign_id: str) -> list[AuditEntry]:
        entries = self.history.audit(campaign_id)
        if entries is None:
            raise CampaignNotFound(campaign_id)
        return entries

    def create(self, body: CampaignCreate, actor: Actor) -> Campaign:
        campaign, entry = create_campaign(body, new_campaign_id(), actor, _now())
        return self._commit(campaign, entry)

    def update(
        self,
        campaign_id: str,
        update: CampaignUpdate,
        actor: Actor,
        *,
        expected_version: int | None = None,
    ) -> Campaign:
        current = self.require(campaign_id)
        campaign, entry = apply_update(
            current, update, actor, _now(), expected_version=expected_version
        )
        if campaign.version == current.version:
            return current
        return self._commit(campaign, entry)

    def move(
        self,
        campaign_id: str,
        action: LifecycleAction,
        actor: Actor,
        *,
        expected_version: int | None = None,
    ) -> Campaign:
        current = self.require(campaign_id)
        campaign, entry = transition(
            current, action, actor, _now(), expected_version=expected_version
        )
        return self._commit(campaign, entry)

    def _commit(self, campaign: Campaign, entry: AuditEntry) -> Campaign:
        """Write the new version and wait until this store has read it back."""
        change = campaign_change(campaign, entry)
        position = self._writer.put(CAMPAIGNS.name, change.partition_key(), encode(change))
        self.view.wait_for(position)
        if self.history.accepted(campaign.id, campaign.version) != change.event_id:
            raise CampaignConflict(
                [
                    FieldError(
                        "version",
                        f"another change made version {campaign.version} of the campaign "
                        "first; reload it and try again",
                    )
                ]
            )
        return campaign

    def close(self) -> None:
        self.view.close()


def launch(bootstrap: str, body: CampaignCreate, actor: Actor) -> Campaign:
    """Create a campaign and activate it, with a store of its own (for tools and tests
    that set up a campaign and go on)."""
    writer = TopicWriter(bootstrap)
    store = CampaignStore(bootstrap, writer)
    try:
        created = store.create(body, actor)
        return store.move(created.id, LifecycleAction.ACTIVATE, actor)
    finally:
        store.close()
        writer.close()


def _now() -> datetime:
    return datetime.now(UTC)
