"""A campaign's groups day by day: entries on the day of the first decision, conversions on
the day of the first booking that counts, and totals that are the report's groups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from report_factories import CAMPAIGN, booking, cancel, decision

from offers.contracts import Event
from offers.reports import (
    CampaignTally,
    GroupEntry,
    TimelinePoint,
    campaign_report,
    daily_timeline,
    fold_campaign,
)

DAY = 24.0
"""Hours; the factories' hour 0 is 2025-05-01 09:00 UTC, so hour 15 starts 2 May."""


def point(day: str, tc: int = 0, tv: int = 0, cc: int = 0, cv: int = 0) -> TimelinePoint:
    return TimelinePoint(
        day=date.fromisoformat(day),
        treated_customers=tc,
        treated_conversions=tv,
        control_customers=cc,
        control_conversions=cv,
    )


def totals(tally: CampaignTally) -> tuple[int, int, int, int]:
    timeline = tally.timeline
    return (
        sum(p.treated_customers for p in timeline),
        sum(p.treated_conversions for p in timeline),
        sum(p.control_customers for p in timeline),
        sum(p.control_conversions for p in timeline),
    )


def test_customers_enter_on_their_decision_day_and_convert_on_their_booking_day() -> None:
    events = [
        decision("d1", "c1", "send", 0),  # 1 May
        decision("d2", "c2", "holdout", 1),  # 1 May
        decision("d3", "c3", "send", 20),  # 2 May
        booking("B1", "c1", 16, 100.0, decision_id="d1"),  # 2 May
        booking("B2", "c2", 3 * DAY + 1, 80.0),  # 4 May, no offer code: still counts
    ]
    assert fold_campaign(CAMPAIGN, events).timeline == (
        point("2025-05-01", tc=1, cc=1),
        point("2025-05-02", tc=1, tv=1),
        point("2025-05-03"),
        point("2025-05-04", cv=1),
    )


def test_a_customer_converts_once_on_the_day_of_the_first_booking_that_counts() -> None:
    events = [
        decision("d1", "c1", "holdout", 0),
        decision("d2", "c1", "send", DAY),  # later: c1 stays in the control group
        booking("B1", "c1", 2 * DAY, 40.0),
        booking("B2", "c1", 4 * DAY, 60.0),
        booking("B3", "c1", 9 * DAY, 999.0),  # after the window: counts nowhere
    ]
    tally = fold_campaign(CAMPAIGN, events)
    assert tally.timeline == (
        point("2025-05-01", cc=1),
        point("2025-05-02"),
        point("2025-05-03", cv=1),
    )
    assert (tally.control.customers, tally.control.conversions) == (1, 1)


def test_a_cancelled_booking_and_decisions_outside_the_groups_leave_no_day() -> None:
    events = [
        decision("d1", "c1", "send", 0),
        decision("d2", "c2", "suppressed", 5 * DAY),
        booking("B1", "c1", 2 * DAY, decision_id="d1"),
        cancel("B1", "c1", 3 * DAY),
        booking("B2", "c2", 6 * DAY),
    ]
    assert fold_campaign(CAMPAIGN, events).timeline == (point("2025-05-01", tc=1),)


def test_no_groups_no_timeline() -> None:
    events = [decision("d1", "c1", "no_offer", 0), booking("B1", "c1", 5)]
    assert fold_campaign(CAMPAIGN, events).timeline == ()
    assert campaign_report(CAMPAIGN, []).timeline == []


def test_days_are_utc_days() -> None:
    rome = timezone(timedelta(hours=2))
    late_evening = datetime(2025, 5, 1, 23, 30, tzinfo=rome)  # 21:30 UTC
    just_after_midnight = datetime(2025, 5, 2, 1, 30, tzinfo=rome)  # 23:30 UTC on 1 May
    entries = [
        GroupEntry(treated=True, entered_at=late_evening, converted_at=just_after_midnight),
        GroupEntry(
            treated=False, entered_at=datetime(2025, 5, 2, 0, 0, tzinfo=UTC), converted_at=None
        ),
    ]
    assert daily_timeline(entries) == (
        point("2025-05-01", tc=1, tv=1),
        point("2025-05-02", cc=1),
    )


def test_the_timeline_adds_up_to_the_reports_groups() -> None:
    events: list[Event] = []
    for i in range(40):
        outcome = "send" if i % 3 else "holdout"
        events.append(decision(f"d{i}", f"c{i}", outcome, i * 7.0))
        if i % 4 == 0:
            events.append(booking(f"B{i}", f"c{i}", i * 7.0 + 30, 120.0))
    report = campaign_report(CAMPAIGN, events)
    treated, control = report.incrementality.treated, report.incrementality.control
    timeline = report.timeline
    assert sum(p.treated_customers for p in timeline) == treated.customers == 26
    assert sum(p.treated_conversions for p in timeline) == treated.conversions == 6
    assert sum(p.control_customers for p in timeline) == control.customers == 14
    assert sum(p.control_conversions for p in timeline) == control.conversions == 4
    days = [p.day for p in timeline]
    assert days == [days[0] + timedelta(days=n) for n in range(len(days))]


def test_the_timeline_is_json_days() -> None:
    events = [decision("d1", "c1", "send", 0), booking("B1", "c1", 2, decision_id="d1")]
    data = campaign_report(CAMPAIGN, events).model_dump(mode="json")
    assert data["timeline"] == [
        {
            "day": "2025-05-01",
            "treated_customers": 1,
            "treated_conversions": 1,
            "control_customers": 0,
            "control_conversions": 0,
        }
    ]


decisions = st.lists(
    st.tuples(
        st.integers(0, 7),
        st.sampled_from(["send", "holdout", "suppressed", "control"]),
        st.floats(0, 20 * DAY),
    ),
    max_size=25,
)
bookings = st.lists(
    st.tuples(st.integers(0, 9), st.floats(-DAY, 30 * DAY), st.booleans()), max_size=25
)


@settings(max_examples=100, deadline=None)
@given(decisions, bookings)
def test_any_events_give_a_timeline_whose_totals_are_the_groups(
    made: list[tuple[int, str, float]], booked: list[tuple[int, float, bool]]
) -> None:
    events: list[Event] = [
        decision(f"d{n}", f"c{customer}", outcome, hours)
        for n, (customer, outcome, hours) in enumerate(made)
    ]
    for n, (customer, hours, cancelled) in enumerate(booked):
        events.append(booking(f"B{n}", f"c{customer}", hours))
        if cancelled:
            events.append(cancel(f"B{n}", f"c{customer}", hours + 1))
    tally = fold_campaign(CAMPAIGN, events)
    assert totals(tally) == (
        tally.treated.customers,
        tally.treated.conversions,
        tally.control.customers,
        tally.control.conversions,
    )
    days = [p.day for p in tally.timeline]
    assert days == sorted(set(days))
    assert not days or (days[-1] - days[0]).days + 1 == len(days)
