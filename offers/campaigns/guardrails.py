"""What pauses a campaign by itself, without a marketer's change."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict


class Guardrails(BaseModel):
    """Conditions under which the campaign sends nothing, for the places they concern."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pause_on_social_alerts: Annotated[bool, Strict()] = Field(
        False,
        description=(
            "Pause the campaign on a route or port while social listening has an open "
            "alert on it (other routes and ports keep sending); false by default."
        ),
    )
