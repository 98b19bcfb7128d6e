"""The report of one campaign, as the API returns it: its funnel, its incrementality and its
groups day by day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from offers.contracts.base import Event
from offers.reports.funnel import (
    DEFAULT_ATTRIBUTION_WINDOW,
    NO_DISCOUNT,
    DiscountTerms,
    Funnel,
    fold_campaign,
)
from offers.reports.incrementality import (
    DEFAULT_MIN_GROUP_SIZE,
    Incrementality,
    measure_incrementality,
)
from offers.reports.intervals import DEFAULT_CONFIDENCE
from offers.reports.social import SocialAttribution
from offers.reports.timeline import TimelinePoint


class CampaignReport(BaseModel):
    """One campaign's funnel and measured effect; ``model_dump(mode="json")`` for the API."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign_id: str
    attribution_window: timedelta
    discount: DiscountTerms
    funnel: Funnel
    incrementality: Incrementality
    timeline: list[TimelinePoint] = Field(
        description=(
            "The treated and control groups per UTC day, from the first to the last day "
            "with data (days between with zeros): customers entering each group and "
            "conversions, counted as the incrementality counts them, so the totals are its "
            "groups' customers and conversions."
        )
    )
    social: SocialAttribution = Field(
        description=(
            "How many of the groups' conversions, and of those made with the campaign's "
            "offers, followed a social touchpoint of the customer (a post naming the brand, "
            "a port or a route; a reply or a click on a social channel) within the "
            "attribution window."
        )
    )


def campaign_report(
    campaign_id: str,
    events: Iterable[Event],
    *,
    attribution_window: timedelta = DEFAULT_ATTRIBUTION_WINDOW,
    discount: DiscountTerms = NO_DISCOUNT,
    confidence: float = DEFAULT_CONFIDENCE,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> CampaignReport:
    """Fold ``events`` once into the funnel, the groups and their timeline, then compare
    the groups.

    The ROI's cost is the funnel's discount cost: the discount given on every booking made
    with one of the campaign's offers.
    """
    tally = fold_campaign(
        campaign_id, events, attribution_window=attribution_window, discount=discount
    )
    incrementality = measure_incrementality(
        tally.treated,
        tally.control,
        discount_cost_eur=tally.funnel.discount_cost_eur,
        confidence=confidence,
        min_group_size=min_group_size,
    )
    return CampaignReport(
        campaign_id=campaign_id,
        attribution_window=attribution_window,
        discount=discount,
        funnel=tally.funnel,
        incrementality=incrementality,
        timeline=list(tally.timeline),
        social=tally.social,
    )
