"""The audit trail of a campaign: who did what to it, when, and what changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, Strict, model_validator

from offers.campaigns.errors import field_problem
from offers.contracts.base import Identifier, UtcDatetime
from offers.contracts.events import CampaignAction
from offers.roles import Role


class Actor(BaseModel):
    """Who made a change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: Identifier = Field(description="Id of the user or service.")
    role: Role = Field(description="The role they acted in.")

    def __str__(self) -> str:
        return f"{self.user_id} ({self.role.value})"


AuditAction = CampaignAction
"""What was done to a campaign: the same list as the ``action`` of a ``CampaignChange``."""


Change = tuple[JsonValue, JsonValue]
"""``[old, new]``, as JSON values; ``null`` for a value that was or became absent."""


class AuditEntry(BaseModel):
    """One change of a campaign, leading to ``version``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign_id: Identifier = Field(description="The campaign changed.")
    version: Annotated[int, Strict(), Field(ge=1)] = Field(
        description="The campaign's version after the change."
    )
    action: AuditAction = Field(description="What was done.")
    actor: Actor = Field(description="Who did it.")
    at: UtcDatetime = Field(description="When (UTC).")
    changes: dict[str, Change] = Field(
        default_factory=dict,
        description=(
            "For an update, each changed field (dotted path into nested objects, e.g. "
            "offer.percent) with its [old, new] JSON values; empty otherwise."
        ),
    )

    @model_validator(mode="after")
    def _changes_only_for_updates(self) -> AuditEntry:
        if self.changes and self.action is not AuditAction.UPDATED:
            raise field_problem("changes", f"are only recorded for updates, not {self.action}")
        return self


def changed_fields(
    old: Mapping[str, JsonValue], new: Mapping[str, JsonValue], prefix: str = ""
) -> dict[str, Change]:
    """Every field whose JSON value differs between ``old`` and ``new``: ``path: [old, new]``.

    Nested objects are compared field by field (``offer.percent``); lists are compared
    whole (``targeting.triggers``).
    """
    found: dict[str, Change] = {}
    for name in [*old, *(key for key in new if key not in old)]:
        before, after = old.get(name), new.get(name)
        path = f"{prefix}{name}"
        if isinstance(before, dict) and isinstance(after, dict):
            found.update(changed_fields(before, after, prefix=f"{path}."))
        elif before != after or isinstance(before, bool) != isinstance(after, bool):
            found[path] = (before, after)
    return found
