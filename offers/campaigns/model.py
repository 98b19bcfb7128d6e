"""The campaign: what a marketer sends to create or change one, and what is stored.

Split by direction, as the API uses them:

- :class:`CampaignCreate`: what a marketer sends to create a campaign. The server
  assigns the id, the status (draft), the version and the timestamps; a client that
  sends any of them is refused (``extra="forbid"``).
- :class:`CampaignUpdate`: a partial change. Every field is optional and validated as
  in ``CampaignCreate`` when present; a field left out stays as it is, ``null`` is
  refused, and a nested object (``offer``, ``targeting``, ``schedule``, ...) replaces the
  old one whole.
- :class:`Campaign`: the stored campaign, with its server-owned fields. Its JSON form
  (``model_dump(mode="json")``) is what travels in ``CampaignChange.campaign`` on the
  compacted campaigns topic; ``Campaign.model_validate`` of it returns an equal campaign.

What a campaign needs to run (a budget, a template for every channel and language) is
checked when it is activated, by :func:`offers.campaigns.lifecycle.activation_problems`,
so that drafts can be saved incomplete.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, model_validator

from offers.campaigns.budget import Budget, FrequencyCap
from offers.campaigns.errors import field_problem
from offers.campaigns.guardrails import Guardrails
from offers.campaigns.offer import Offer
from offers.campaigns.primitives import Description, Name, canonical
from offers.campaigns.schedule import Schedule
from offers.campaigns.targeting import Targeting
from offers.campaigns.templates import MessageTemplate
from offers.contracts.base import Identifier, UtcDatetime
from offers.contracts.events import Channel, Language

MAX_TEMPLATES = 64


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


def _one_per_channel_and_language(
    templates: tuple[MessageTemplate, ...],
) -> tuple[MessageTemplate, ...]:
    seen: dict[tuple[Channel, Language], int] = {}
    for i, template in enumerate(templates):
        key = (template.channel, template.language)
        if key in seen:
            raise field_problem(
                str(i),
                f"a second template for channel {template.channel.value} and language "
                f"{template.language.value} (the first is templates.{seen[key]})",
            )
        seen[key] = i
    return templates


CampaignName = Annotated[Name, Field(description="Name shown to marketers, 1 to 120 chars.")]
CampaignDescription = Annotated[
    Description, Field(description="Free text for marketers, up to 2000 characters.")
]
Templates = Annotated[
    tuple[MessageTemplate, ...],
    AfterValidator(_one_per_channel_and_language),
    Field(
        max_length=MAX_TEMPLATES,
        description="Message texts, at most one per channel and language.",
    ),
]
Channels = Annotated[
    tuple[Channel, ...],
    AfterValidator(canonical(Channel)),
    Field(min_length=1, description="Channels it may send over (a non-empty set)."),
]
PriorityEur = Annotated[
    float,
    Strict(),
    Field(
        ge=0.0,
        le=100_000.0,
        allow_inf_nan=False,
        description="Business value of one redemption, in EUR: arbitration ranks by it.",
    ),
]
HoldoutShare = Annotated[
    float,
    Strict(),
    Field(
        ge=0.0,
        le=0.5,
        allow_inf_nan=False,
        description="Share of eligible customers held out (decided, logged, not sent), 0-0.5.",
    ),
]
OfferExpiryHours = Annotated[
    int,
    Strict(),
    Field(ge=1, le=720, description="Hours an offer stays redeemable once sent, 1 to 720."),
]


class CampaignBody(BaseModel):
    """The fields a marketer controls; shared by :class:`CampaignCreate` and
    :class:`Campaign`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: CampaignName
    description: CampaignDescription = ""
    offer: Offer
    templates: Templates = ()
    targeting: Targeting
    schedule: Schedule
    channels: Channels
    budget: Budget = Budget()
    frequency_cap: FrequencyCap = FrequencyCap()
    priority_eur: PriorityEur = 0.0
    holdout_share: HoldoutShare = 0.1
    offer_expiry_hours: OfferExpiryHours = 48
    guardrails: Guardrails = Guardrails()

    def template_for(self, channel: Channel, language: Language) -> MessageTemplate | None:
        """The template for ``channel`` in ``language``, if there is one."""
        for template in self.templates:
            if template.channel == channel and template.language == language:
                return template
        return None


BODY_FIELDS: tuple[str, ...] = tuple(CampaignBody.model_fields)
"""The names of the fields a marketer controls, in order."""


class CampaignCreate(CampaignBody):
    """A new campaign, as a marketer sends it: no id, status, version or timestamps."""


class CampaignUpdate(BaseModel):
    """A partial change of a campaign: the fields present replace the stored ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: CampaignName | None = None
    description: CampaignDescription | None = None
    offer: Offer | None = None
    templates: Templates | None = None
    targeting: Targeting | None = None
    schedule: Schedule | None = None
    channels: Channels | None = None
    budget: Budget | None = None
    frequency_cap: FrequencyCap | None = None
    priority_eur: PriorityEur | None = None
    holdout_share: HoldoutShare | None = None
    offer_expiry_hours: OfferExpiryHours | None = None
    guardrails: Guardrails | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, value in data.items():
                if value is None and name in BODY_FIELDS:
                    raise field_problem(
                        name, "may not be null; leave the field out to keep its value"
                    )
        return data

    def changes(self) -> dict[str, Any]:
        """The fields this update sets, by name."""
        return {name: getattr(self, name) for name in BODY_FIELDS if name in self.model_fields_set}


class _ServerOwned(BaseModel):
    """The fields only the server sets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Identifier = Field(description="Assigned by the server when the campaign is created.")
    status: CampaignStatus = Field(description="draft, active, paused or ended.")
    version: Annotated[int, Strict(), Field(ge=1)] = Field(
        description="1 when created, one more at every change."
    )
    created_at: UtcDatetime = Field(description="When it was created (UTC).")
    updated_at: UtcDatetime = Field(description="When it last changed (UTC).")
    updated_by: Identifier = Field(description="User id of whoever changed it last.")


class Campaign(CampaignBody, _ServerOwned):
    """A stored campaign: the marketer's fields and the server-owned ones."""

    @model_validator(mode="after")
    def _updated_after_created(self) -> Campaign:
        if self.updated_at < self.created_at:
            raise field_problem(
                "updated_at",
                f"is {self.updated_at.isoformat()}, before created_at "
                f"({self.created_at.isoformat()})",
            )
        return self

    def body(self) -> CampaignCreate:
        """The marketer's fields of the campaign."""
        return CampaignCreate.model_validate({name: getattr(self, name) for name in BODY_FIELDS})
