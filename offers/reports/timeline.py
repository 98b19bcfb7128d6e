"""A campaign's groups day by day: who entered the treated and the control group, and who
converted, per UTC day.

The entries are the ones the incrementality compares (see :mod:`offers.reports.funnel`):
one per customer, in the group of their first ``send`` or ``holdout`` decision. A
customer enters their group on the day of that decision and converts on the day of the
first booking that counts for them (within the attribution window after the decision).
So the timeline's totals are the groups' customers and conversions, and a chart of it
tells the same story as the report's figures, spread over time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


class TimelinePoint(BaseModel):
    """One UTC day of a campaign's two groups."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: date = Field(description="The UTC day (2026-06-01).")
    treated_customers: int = Field(
        ge=0, description="Customers whose first decision, an offer sent, was on this day."
    )
    treated_conversions: int = Field(
        ge=0, description="Treated customers whose first booking that counts was on this day."
    )
    control_customers: int = Field(
        ge=0, description="Customers whose first decision, held out, was on this day."
    )
    control_conversions: int = Field(
        ge=0, description="Held-out customers whose first booking that counts was on this day."
    )


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """One customer of the comparison: their group, when they entered it, and when they
    converted (None if they did not)."""

    treated: bool
    entered_at: datetime
    converted_at: datetime | None


def daily_timeline(entries: Iterable[GroupEntry]) -> tuple[TimelinePoint, ...]:
    """One point per UTC day from the first to the last day with an entry or a conversion,
    days without either included with zeros; no point at all without entries."""
    counts: Counter[tuple[date, str]] = Counter()
    for entry in entries:
        group = "treated" if entry.treated else "control"
        counts[(_day(entry.entered_at), f"{group}_customers")] += 1
        if entry.converted_at is not None:
            counts[(_day(entry.converted_at), f"{group}_conversions")] += 1
    if not counts:
        return ()
    days = [day for day, _ in counts]
    first, last = min(days), max(days)
    return tuple(
        TimelinePoint(
            day=day,
            treated_customers=counts[(day, "treated_customers")],
            treated_conversions=counts[(day, "treated_conversions")],
            control_customers=counts[(day, "control_customers")],
            control_conversions=counts[(day, "control_conversions")],
        )
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    )


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()
