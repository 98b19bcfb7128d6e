"""The whole report of one campaign, from events to JSON."""

from __future__ import annotations

import orjson
import pytest
from report_factories import CAMPAIGN, booking, decision, response, status

from offers.contracts import Event
from offers.reports import (
    DEFAULT_ATTRIBUTION_WINDOW,
    CampaignReport,
    DiscountTerms,
    campaign_report,
    fold_campaign,
    measure_incrementality,
)


def campaign_world(treated: int = 100, control: int = 50) -> list[Event]:
    """Treated customers book 30 % of the time with the offer; held-out ones 10 % without."""
    events: list[Event] = []
    for i in range(treated):
        events += [decision(f"t{i}", f"ct{i}", "send", i), status(f"t{i}", "delivered", i + 1)]
        if i % 10 < 3:
            events += [
                response(f"t{i}", "redeem", i + 2),
                booking(f"BT{i}", f"ct{i}", i + 3, 200.0, decision_id=f"t{i}"),
            ]
    for i in range(control):
        events.append(decision(f"h{i}", f"ch{i}", "holdout", i))
        if i % 10 == 0:
            events.append(booking(f"BH{i}", f"ch{i}", i + 3, 200.0))
    return events


def test_the_report_puts_the_funnel_and_the_incrementality_together() -> None:
    discount = DiscountTerms(percent=10)
    report = campaign_report(CAMPAIGN, campaign_world(), discount=discount)
    funnel = report.funnel
    assert (funnel.sent, funnel.delivered, funnel.redeemed, funnel.converted) == (100, 100, 30, 30)
    assert (funnel.held_out, funnel.held_out_converted) == (50, 5)
    assert (funnel.revenue_eur, funnel.discount_cost_eur) == (6000.0, 600.0)
    tally = fold_campaign(CAMPAIGN, campaign_world(), discount=discount)
    assert report.incrementality == measure_incrementality(
        tally.treated, tally.control, discount_cost_eur=600.0
    )
    lift = report.incrementality.absolute_lift
    assert lift is not None and lift.value == pytest.approx(0.2) and lift.low > 0.0
    revenue = report.incrementality.incremental_revenue_eur
    assert revenue is not None and revenue.value == pytest.approx(100 * (60.0 - 20.0))
    roi = report.incrementality.roi
    assert roi is not None and roi.value == pytest.approx((4000.0 - 600.0) / 600.0)
    assert report.attribution_window == DEFAULT_ATTRIBUTION_WINDOW


def test_the_report_takes_a_one_shot_stream_of_events() -> None:
    once = campaign_report(CAMPAIGN, iter(campaign_world()))
    assert once.funnel.sent == 100 and once.incrementality.enough_data


def test_the_report_is_json_for_the_api_and_back() -> None:
    report = campaign_report(CAMPAIGN, campaign_world(), discount=DiscountTerms(percent=10))
    data = report.model_dump(mode="json")
    assert orjson.loads(orjson.dumps(data)) == data
    assert data["attribution_window"] == "P7D"
    assert data["funnel"]["suppressed_by_reason"] == {}
    assert CampaignReport.model_validate_json(report.model_dump_json()) == report


def test_a_small_campaign_reports_not_enough_data_in_json() -> None:
    report = campaign_report(CAMPAIGN, campaign_world(treated=10, control=3))
    data = report.model_dump(mode="json")["incrementality"]
    assert data["enough_data"] is False
    assert data["absolute_lift"] is None and data["roi"] is None
    assert data["notes"] == [
        "not enough data: the treated group has 10 customers (at least 30 needed)",
        "not enough data: the control group has 3 customers (at least 30 needed)",
    ]
