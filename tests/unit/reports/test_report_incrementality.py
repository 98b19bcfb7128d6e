"""The holdout comparison: lift, incremental conversions and revenue, ROI, too little data."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from offers.reports import (
    GroupOutcome,
    ReportError,
    difference_of_means,
    measure_incrementality,
    newcombe_difference,
)


def group(customers: int, conversions: int, revenues: list[float] | None = None) -> GroupOutcome:
    """``conversions`` customers with the given revenues (100 each by default), the rest 0."""
    revenues = revenues if revenues is not None else [100.0] * conversions
    assert len(revenues) == conversions
    return GroupOutcome(
        customers=customers,
        conversions=conversions,
        revenue_eur=sum(revenues),
        revenue_sq_eur2=sum(r * r for r in revenues),
    )


def test_lift_is_newcombes_interval_scaled_to_the_treated_customers() -> None:
    """Newcombe (1998b) example (a) as a campaign: 56/70 treated, 48/80 held out."""
    result = measure_incrementality(group(70, 56), group(80, 48), discount_cost_eur=500.0)
    assert result.enough_data and result.notes == ()
    lift = result.absolute_lift
    assert lift is not None
    assert (round(lift.value, 4), round(lift.low, 4), round(lift.high, 4)) == (0.2, 0.0524, 0.3339)
    assert result.relative_lift == pytest.approx(0.2 / 0.6)
    incremental = result.incremental_conversions
    assert incremental is not None
    assert incremental.value == pytest.approx(14.0)
    assert (incremental.low, incremental.high) == pytest.approx((70 * lift.low, 70 * lift.high))
    assert result.treated.conversion_rate is not None
    assert result.treated.conversion_rate.value == pytest.approx(0.8)
    assert result.control.revenue_per_customer_eur == pytest.approx(60.0)


def test_incremental_revenue_and_roi_follow_from_the_difference_of_means() -> None:
    treated = group(40, 4, [100.0, 200.0, 300.0, 400.0])
    control = group(40, 2, [100.0, 100.0])
    result = measure_incrementality(treated, control, discount_cost_eur=200.0)
    per_customer = difference_of_means(1000.0, 300_000.0, 40, 200.0, 20_000.0, 40)
    revenue = result.incremental_revenue_eur
    assert revenue is not None
    assert revenue.value == pytest.approx(40 * (25.0 - 5.0))  # 800 EUR
    assert (revenue.low, revenue.high) == pytest.approx(
        (40 * per_customer.low, 40 * per_customer.high)
    )
    roi = result.roi
    assert roi is not None
    assert roi.value == pytest.approx((800.0 - 200.0) / 200.0)
    assert (roi.low, roi.high) == pytest.approx(
        ((revenue.low - 200) / 200, (revenue.high - 200) / 200)
    )
    assert result.discount_cost_eur == 200.0


def test_without_a_discount_cost_there_is_no_roi() -> None:
    result = measure_incrementality(group(40, 4), group(40, 2))
    assert result.incremental_revenue_eur is not None and result.roi is None
    assert any("ROI is undefined" in note for note in result.notes)


@pytest.mark.parametrize(
    ("treated", "control", "fragment"),
    [
        (group(0, 0), group(100, 10), "treated group has 0 customers"),
        (group(100, 10), group(0, 0), "control group has 0 customers"),
        (group(29, 5), group(100, 10), "treated group has 29 customers (at least 30 needed)"),
        (group(100, 0), group(100, 0), "no conversion in either group"),
    ],
)
def test_too_little_data_says_so_instead_of_a_number(
    treated: GroupOutcome, control: GroupOutcome, fragment: str
) -> None:
    result = measure_incrementality(treated, control, discount_cost_eur=100.0)
    assert not result.enough_data
    assert any(fragment in note and note.startswith("not enough data") for note in result.notes)
    assert result.absolute_lift is result.relative_lift is result.incremental_conversions is None
    assert result.incremental_revenue_eur is result.roi is None


def test_an_empty_group_has_no_rate_but_the_other_keeps_its_own() -> None:
    result = measure_incrementality(group(0, 0), group(50, 5))
    assert result.treated.conversion_rate is None
    assert result.treated.revenue_per_customer_eur is None
    rate = result.control.conversion_rate
    assert rate is not None and 0.0 < rate.low < rate.value == 0.1 < rate.high < 1.0


def test_a_control_without_conversions_gives_a_lift_but_no_relative_lift_or_revenue() -> None:
    result = measure_incrementality(group(200, 12), group(60, 0), discount_cost_eur=50.0)
    assert result.enough_data
    lift = result.absolute_lift
    assert lift is not None and lift == newcombe_difference(12, 200, 0, 60)
    assert result.relative_lift is None and result.incremental_revenue_eur is None
    assert result.roi is None
    assert any("relative lift is undefined" in note for note in result.notes)
    assert any("no conversion in the control group" in note for note in result.notes)


@pytest.mark.parametrize(
    ("treated", "control"),
    [
        (group(50, 50), group(50, 50)),
        (group(50, 50), group(40, 1)),
        (group(40, 1), group(50, 50)),
        (group(1000, 1000), group(30, 0)),
    ],
)
def test_all_converted_stays_within_bounds(treated: GroupOutcome, control: GroupOutcome) -> None:
    result = measure_incrementality(treated, control, discount_cost_eur=10.0)
    for summary in (result.treated, result.control):
        rate = summary.conversion_rate
        assert rate is not None and 0.0 <= rate.low <= rate.value <= rate.high <= 1.0
    lift = result.absolute_lift
    assert lift is not None and -1.0 <= lift.low <= lift.value <= lift.high <= 1.0


def test_identical_all_converted_groups_have_no_lift_and_a_flat_revenue_difference() -> None:
    result = measure_incrementality(group(50, 50), group(50, 50))
    assert result.absolute_lift is not None and result.absolute_lift.value == 0.0
    revenue = result.incremental_revenue_eur
    assert revenue is not None and (revenue.value, revenue.low, revenue.high) == (0.0, 0.0, 0.0)


def test_the_minimum_group_size_is_a_parameter() -> None:
    assert not measure_incrementality(group(10, 2), group(10, 1)).enough_data
    assert measure_incrementality(group(10, 2), group(10, 1), min_group_size=10).enough_data


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"discount_cost_eur": -1.0}, "discount_cost_eur"),
        ({"discount_cost_eur": float("inf")}, "discount_cost_eur"),
        ({"confidence": 1.5}, "confidence"),
        ({"min_group_size": 1}, "min_group_size"),
    ],
)
def test_bad_parameters_are_report_errors(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ReportError, match=fragment):
        measure_incrementality(group(40, 4), group(40, 2), **kwargs)


@pytest.mark.parametrize(
    "fields",
    [
        {"customers": 3, "conversions": 4},
        {"customers": 3, "conversions": 0, "revenue_eur": 10.0},
        {"customers": -1},
    ],
)
def test_impossible_group_outcomes_are_rejected(fields: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        GroupOutcome.model_validate(fields)
