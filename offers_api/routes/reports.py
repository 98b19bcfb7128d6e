"""What marketers and data scientists read: each campaign's report."""

from __future__ import annotations

from fastapi import APIRouter

from offers.reports.campaign import CampaignReport
from offers.reports.source import report_from_topics
from offers_api.deps import Analyst, PathId, StateDep
from offers_api.schemas import problem

router = APIRouter(prefix="/v1/campaigns", tags=["reports"])

CampaignId = PathId


@router.get(
    "/{campaign_id}/report",
    response_model=CampaignReport,
    responses={
        404: problem("No campaign has this id."),
        503: problem("The events could not be read in time."),
    },
)
def campaign_report(campaign_id: CampaignId, state: StateDep, principal: Analyst) -> CampaignReport:
    """The campaign's funnel (decided, held out, suppressed by reason, sent, delivered,
    clicked, redeemed, converted, revenue, discount cost) and its incremental conversions,
    revenue and ROI against the holdout, with 95 % confidence intervals. Computed from the
    events the topics hold when it is asked for."""
    campaign = state.campaigns.require(campaign_id)
    return report_from_topics(state.settings.kafka_bootstrap, campaign)
