"""Campaign reports: funnel, incrementality against the holdout, ROI; pure functions.

- :mod:`offers.reports.funnel` folds a campaign's events into counts (duplicates and
  out-of-order events counted once) and the treated and control groups;
- :mod:`offers.reports.incrementality` compares the groups (intention to treat);
- :mod:`offers.reports.timeline` spreads the groups over the days they entered and
  converted;
- :mod:`offers.reports.intervals` holds the confidence intervals (Wilson, Newcombe,
  difference of means);
- :mod:`offers.reports.social` sets the conversions beside the customers' social
  touchpoints (mentions, replies and clicks on social channels) before them;
- :mod:`offers.reports.campaign` puts them together in one JSON-ready report.
"""

from offers.reports.campaign import CampaignReport, campaign_report
from offers.reports.funnel import (
    DEFAULT_ATTRIBUTION_WINDOW,
    NO_DISCOUNT,
    CampaignTally,
    DiscountTerms,
    Funnel,
    build_funnel,
    fold_campaign,
)
from offers.reports.incrementality import (
    DEFAULT_MIN_GROUP_SIZE,
    GroupOutcome,
    GroupSummary,
    Incrementality,
    measure_incrementality,
)
from offers.reports.intervals import (
    DEFAULT_CONFIDENCE,
    Estimate,
    ReportError,
    difference_of_means,
    newcombe_difference,
    wilson_interval,
    z_for,
)
from offers.reports.timeline import GroupEntry, TimelinePoint, daily_timeline

__all__ = [
    "DEFAULT_ATTRIBUTION_WINDOW",
    "DEFAULT_CONFIDENCE",
    "DEFAULT_MIN_GROUP_SIZE",
    "NO_DISCOUNT",
    "CampaignReport",
    "CampaignTally",
    "DiscountTerms",
    "Estimate",
    "Funnel",
    "GroupEntry",
    "GroupOutcome",
    "GroupSummary",
    "Incrementality",
    "ReportError",
    "TimelinePoint",
    "build_funnel",
    "campaign_report",
    "daily_timeline",
    "difference_of_means",
    "fold_campaign",
    "measure_incrementality",
    "newcombe_difference",
    "wilson_interval",
    "z_for",
]
