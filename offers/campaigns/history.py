"""Every campaign's versions, folded from the campaigns topic in topic order.

The same fold serves the API (its campaigns and their audit trail) and the workers (the
campaigns they run), so both read the topic by one rule:

- a campaign's versions are accepted in order: revision 1 first, then 2, ...; a change
  whose revision is not the next one is ignored (two writers raced and the other one's
  change came first: its writer is told so and nothing of its change is kept);
- a change whose campaign document cannot be read is ignored and logged.

A process that wrote a change learns whether it was accepted with :meth:`accepted`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from offers.campaigns.audit import AuditEntry
from offers.campaigns.changes import audit_entry, campaign_from_change
from offers.campaigns.model import Campaign
from offers.contracts.events import CampaignChange
from offers.errors import ContractError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Versions:
    campaign: Campaign
    entries: list[AuditEntry] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)


class CampaignHistory:
    """Each campaign's latest version and audit trail; safe to read from any thread."""

    def __init__(self) -> None:
        self._campaigns: dict[str, _Versions] = {}
        self._lock = threading.Lock()

    def apply(self, change: CampaignChange) -> bool:
        """Fold one change in; True if it became the campaign's new version."""
        with self._lock:
            known = self._campaigns.get(change.campaign_id)
            expected = 1 if known is None else known.campaign.version + 1
            if change.revision != expected:
                log.info(
                    "campaign %s: ignoring revision %d of %s (expected %d)",
                    change.campaign_id,
                    change.revision,
                    change.event_id,
                    expected,
                )
                return False
            try:
                campaign = campaign_from_change(change)
            except ContractError as exc:
                log.error(
                    "campaign %s: ignoring unreadable %s: %s",
                    change.campaign_id,
                    change.event_id,
                    exc,
                )
                return False
            if known is None:
                known = self._campaigns[change.campaign_id] = _Versions(campaign)
            known.campaign = campaign
            known.entries.append(audit_entry(change))
            known.event_ids.append(change.event_id)
            return True

    def get(self, campaign_id: str) -> Campaign | None:
        with self._lock:
            known = self._campaigns.get(campaign_id)
            return None if known is None else known.campaign

    def campaigns(self) -> list[Campaign]:
        """Every campaign's latest version, oldest campaign first."""
        with self._lock:
            found = [versions.campaign for versions in self._campaigns.values()]
        return sorted(found, key=lambda c: (c.created_at, c.id))

    def audit(self, campaign_id: str) -> list[AuditEntry] | None:
        """The campaign's audit entries, oldest first; None for an unknown campaign."""
        with self._lock:
            known = self._campaigns.get(campaign_id)
            return None if known is None else list(known.entries)

    def accepted(self, campaign_id: str, revision: int) -> str | None:
        """The event id of the accepted change with this revision, if there is one."""
        with self._lock:
            known = self._campaigns.get(campaign_id)
            if known is None or not 1 <= revision <= len(known.event_ids):
                return None
            return known.event_ids[revision - 1]

    def __len__(self) -> int:
        with self._lock:
            return len(self._campaigns)
