"""How much a campaign may spend, and how often one customer may hear from it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

from offers.campaigns.errors import field_problem
from offers.campaigns.primitives import PositiveEuros

Count = Annotated[int, Strict(), Field(ge=1, le=100_000_000)]

BUDGET_LIMITS = ("max_sends", "max_redemptions", "max_discount_spend_eur")


class Budget(BaseModel):
    """Limits over the whole campaign; each optional, at least one needed to activate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_sends: Count | None = Field(None, description="Most offers sent, in all.")
    max_redemptions: Count | None = Field(None, description="Most offers redeemed, in all.")
    max_discount_spend_eur: PositiveEuros | None = Field(
        None, description="Most cost of redemptions (Offer.cost_eur each), in EUR."
    )

    @property
    def has_limit(self) -> bool:
        """Whether at least one limit is set (a campaign needs one to be activated)."""
        return any(getattr(self, name) is not None for name in BUDGET_LIMITS)


class FrequencyCap(BaseModel):
    """How many offers of this campaign one customer may receive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_day: Annotated[int, Strict(), Field(ge=1, le=10)] = Field(
        1, description="Most offers per customer per (local) day, 1 to 10."
    )
    per_week: Annotated[int, Strict(), Field(ge=1, le=50)] = Field(
        3,
        description=(
            "Most offers per customer per local calendar week (Monday to Sunday, the ISO"
            " week), 1 to 50, at least per_day."
        ),
    )

    @model_validator(mode="after")
    def _week_holds_a_day(self) -> FrequencyCap:
        if self.per_week < self.per_day:
            raise field_problem(
                "per_week", f"is {self.per_week}, less than per_day ({self.per_day})"
            )
        return self
