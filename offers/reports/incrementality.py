"""Incrementality of one campaign: what its offers caused, measured against its holdout.

The comparison is **intention to treat**: the treated group is every customer whose first
eligible decision for the campaign was ``send`` (whether or not the message was then
delivered, opened or redeemed), the control group every customer whose first eligible
decision was ``holdout``. The holdout is drawn at random among the same eligible
decisions, so the two groups differ only by the offer and the difference of their
outcomes is an unbiased estimate of its effect. Comparing only delivered or redeemed
customers with the holdout would select the most willing customers on one side only.

- **conversion rate** per group, with Wilson's interval;
- **absolute lift** ``p_treated - p_control`` with Newcombe's hybrid score interval
  (method 10), and the **relative lift** ``lift / p_control`` (no interval);
- **incremental conversions** = lift × treated customers (its interval scaled likewise);
- **incremental revenue** = (treated revenue per customer - control revenue per
  customer) × treated customers, with the normal-approximation interval of the difference
  of means (unpooled variances from each group's sum and sum of squares; customers who
  did not convert count with revenue 0);
- **ROI** = (incremental revenue - discount cost) / discount cost. The discount cost is
  what the campaign actually gave away, an observed amount, not an estimate, so ROI is an
  increasing linear function of the incremental revenue and its interval is that
  interval mapped through the same function. Revenue is the bookings' price before the
  offer's discount (see :mod:`offers.reports.funnel`), so the discount is subtracted
  once, here.

Nothing is estimated from too little data: with fewer than ``min_group_size`` customers
in a group, or no conversion in either group, the lift and everything after it is
``None`` and ``notes`` says why. Revenue needs at least one conversion in each group as
well (a group with none has a sample variance of zero, and the normal interval would
ignore that group's uncertainty altogether).
"""

from __future__ import annotations

from math import isfinite

from pydantic import BaseModel, ConfigDict, Field, model_validator

from offers.reports.intervals import (
    DEFAULT_CONFIDENCE,
    Estimate,
    ReportError,
    difference_of_means,
    newcombe_difference,
    wilson_interval,
    z_for,
)

DEFAULT_MIN_GROUP_SIZE = 30
"""Fewer customers than this in a group and the report says "not enough data"."""


class GroupOutcome(BaseModel):
    """What happened to one group of customers: the inputs of the comparison."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customers: int = Field(0, ge=0)
    conversions: int = Field(0, ge=0)
    """Customers with at least one booking that counts for them."""
    revenue_eur: float = Field(0.0, ge=0.0, allow_inf_nan=False)
    """The sum over customers of each customer's revenue."""
    revenue_sq_eur2: float = Field(0.0, ge=0.0, allow_inf_nan=False)
    """The sum over customers of each customer's revenue squared."""

    @model_validator(mode="after")
    def _consistent(self) -> GroupOutcome:
        if self.conversions > self.customers:
            raise ValueError("conversions: cannot exceed customers")
        if self.conversions == 0 and self.revenue_eur > 0:
            raise ValueError("revenue_eur: must be 0 without conversions")
        return self


class GroupSummary(BaseModel):
    """One group as the report shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customers: int
    conversions: int
    revenue_eur: float
    conversion_rate: Estimate | None
    """With Wilson's interval; ``None`` for an empty group."""
    revenue_per_customer_eur: float | None


class Incrementality(BaseModel):
    """The campaign's effect against its holdout, or why it cannot be told yet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    confidence: float
    treated: GroupSummary
    control: GroupSummary
    enough_data: bool
    """False when the lift is not reported (see ``notes``): "not enough data"."""
    notes: tuple[str, ...] = ()
    absolute_lift: Estimate | None = None
    relative_lift: float | None = None
    incremental_conversions: Estimate | None = None
    incremental_revenue_eur: Estimate | None = None
    discount_cost_eur: float = 0.0
    roi: Estimate | None = None


def measure_incrementality(
    treated: GroupOutcome,
    control: GroupOutcome,
    *,
    discount_cost_eur: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> Incrementality:
    """Compare the treated group with the control group (see the module's docstring)."""
    z_for(confidence)  # rejects a bad confidence before anything else
    if not isfinite(discount_cost_eur) or discount_cost_eur < 0:
        raise ReportError(f"discount_cost_eur: must be >= 0, got {discount_cost_eur}")
    if min_group_size < 2:
        raise ReportError(f"min_group_size: must be >= 2, got {min_group_size}")
    base = Incrementality(
        confidence=confidence,
        treated=_summarise(treated, confidence),
        control=_summarise(control, confidence),
        enough_data=False,
        discount_cost_eur=discount_cost_eur,
    )
    notes = _too_little_for_lift(treated, control, min_group_size)
    if notes:
        return base.model_copy(update={"notes": tuple(notes)})
    lift = newcombe_difference(
        treated.conversions, treated.customers, control.conversions, control.customers, confidence
    )
    control_rate = control.conversions / control.customers
    relative = lift.value / control_rate if control_rate > 0 else None
    if relative is None:
        notes.append("no conversion in the control group: the relative lift is undefined")
    revenue, roi = _revenue_and_roi(treated, control, discount_cost_eur, confidence, notes)
    return base.model_copy(
        update={
            "enough_data": True,
            "notes": tuple(notes),
            "absolute_lift": lift,
            "relative_lift": relative,
            "incremental_conversions": lift.scaled(treated.customers),
            "incremental_revenue_eur": revenue,
            "roi": roi,
        }
    )


def _summarise(group: GroupOutcome, confidence: float) -> GroupSummary:
    empty = group.customers == 0
    return GroupSummary(
        customers=group.customers,
        conversions=group.conversions,
        revenue_eur=group.revenue_eur,
        conversion_rate=None
        if empty
        else wilson_interval(group.conversions, group.customers, confidence),
        revenue_per_customer_eur=None if empty else group.revenue_eur / group.customers,
    )


def _too_little_for_lift(
    treated: GroupOutcome, control: GroupOutcome, min_group_size: int
) -> list[str]:
    notes = [
        f"not enough data: the {name} group has {group.customers} customers "
        f"(at least {min_group_size} needed)"
        for name, group in (("treated", treated), ("control", control))
        if group.customers < min_group_size
    ]
    if treated.conversions + control.conversions == 0:
        notes.append("not enough data: no conversion in either group")
    return notes


def _revenue_and_roi(
    treated: GroupOutcome,
    control: GroupOutcome,
    discount_cost_eur: float,
    confidence: float,
    notes: list[str],
) -> tuple[Estimate | None, Estimate | None]:
    without = [
        name
        for name, group in (("treated", treated), ("control", control))
        if not group.conversions
    ]
    if without:
        notes.append(
            f"not enough data for revenue: no conversion in the {' and '.join(without)} group"
        )
        return None, None
    per_customer = difference_of_means(
        treated.revenue_eur,
        treated.revenue_sq_eur2,
        treated.customers,
        control.revenue_eur,
        control.revenue_sq_eur2,
        control.customers,
        confidence,
    )
    revenue = per_customer.scaled(treated.customers)
    if discount_cost_eur <= 0:
        notes.append("no discount cost: the ROI is undefined")
        return revenue, None
    roi = Estimate(
        value=(revenue.value - discount_cost_eur) / discount_cost_eur,
        low=(revenue.low - discount_cost_eur) / discount_cost_eur,
        high=(revenue.high - discount_cost_eur) / discount_cost_eur,
    )
    return revenue, roi
