"""Folding a campaign's events into its funnel and its treated and control groups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from report_factories import CAMPAIGN, booking, cancel, decision, response, status

from offers.contracts import CustomerResponse, Event
from offers.reports import (
    DiscountTerms,
    GroupOutcome,
    ReportError,
    build_funnel,
    fold_campaign,
)

DAY = 24.0


def campaign_events() -> list[Event]:
    """Two sent, one held out, three suppressed, one global control, one no offer."""
    return [
        decision("d1", "c1", "send", 0),
        decision("d2", "c2", "send", 1),
        decision("d3", "c3", "holdout", 2),
        decision("d4", "c4", "suppressed", 3, reason="frequency cap"),
        decision("d5", "c5", "suppressed", 4, reason="quiet hours"),
        decision("d6", "c6", "suppressed", 5, reason="frequency cap"),
        decision("d7", "c7", "control", 6),
        decision("d8", "c8", "no_offer", 7),
        decision("x1", "c1", "send", 0, campaign="camp-winter"),
        status("d1", "queued", 1),
        status("d1", "sent", 2),
        status("d1", "delivered", 3),
        status("d2", "failed", 3),
        status("x1", "delivered", 3),
        response("d1", "click", 4),
        response("d1", "redeem", 5),
        response("d2", "click", 6),
        response("x1", "redeem", 6),
        booking("B1", "c1", 6, 200.0, decision_id="d1"),
        booking("B9", "c1", 7, 80.0, decision_id="x1"),
        booking("B3", "c3", 10, 150.0),
    ]


def with_repeats(events: list[Event]) -> list[Event]:
    """Every event twice: redelivered with the same id, and re-sent under a new event id."""
    copies: list[Event] = []
    for event in events:
        copies.append(event)
        copies.append(event.model_copy(update={"event_id": f"{event.event_id}-again"}))
    return copies + list(events)


def test_the_funnel_counts_each_stage_of_the_campaigns_decisions() -> None:
    funnel = build_funnel(
        CAMPAIGN, campaign_events(), discount=DiscountTerms(percent=10, fixed_eur=5)
    )
    assert funnel.campaign_id == CAMPAIGN
    assert (funnel.decided, funnel.sent, funnel.held_out) == (8, 2, 1)
    assert (funnel.suppressed, funnel.global_control, funnel.no_offer) == (3, 1, 1)
    assert funnel.suppressed_by_reason == {"frequency cap": 2, "quiet hours": 1}
    assert (funnel.delivered, funnel.clicked, funnel.redeemed, funnel.converted) == (1, 2, 1, 1)
    assert funnel.revenue_eur == 200.0
    assert funnel.discount_cost_eur == 25.0  # 10 % of 200 plus 5
    assert funnel.held_out_converted == 1


def test_duplicates_and_any_order_count_once() -> None:
    expected = fold_campaign(CAMPAIGN, campaign_events())
    assert fold_campaign(CAMPAIGN, with_repeats(campaign_events())) == expected
    assert fold_campaign(CAMPAIGN, reversed(with_repeats(campaign_events()))) == expected


@settings(max_examples=50, deadline=None)
@given(st.permutations(with_repeats(campaign_events())))
def test_every_arrival_order_gives_the_same_tally(events: list[Event]) -> None:
    assert fold_campaign(CAMPAIGN, events) == fold_campaign(CAMPAIGN, campaign_events())


def test_a_replayed_decision_keeps_its_earliest_copy() -> None:
    late_copy = decision("d1", "c1", "holdout", 30 * DAY, event_id="od-d1-replay")
    events = [late_copy, decision("d1", "c1", "holdout", 0), booking("B1", "c1", 2 * DAY)]
    funnel = build_funnel(CAMPAIGN, events)
    assert (funnel.decided, funnel.held_out, funnel.held_out_converted) == (1, 1, 1)


def test_the_same_booking_under_two_event_ids_is_one_booking() -> None:
    events = [
        decision("d1", "c1", "send", 0),
        booking("B1", "c1", 5, 120.0, decision_id="d1", event_id="bk-1"),
        booking("B1", "c1", 6, 120.0, decision_id="d1", event_id="bk-1-retry"),
    ]
    tally = fold_campaign(CAMPAIGN, events)
    assert (tally.funnel.converted, tally.funnel.revenue_eur) == (1, 120.0)
    assert tally.treated == GroupOutcome(
        customers=1, conversions=1, revenue_eur=120.0, revenue_sq_eur2=120.0**2
    )


@pytest.mark.parametrize("cancel_first", [False, True])
def test_a_cancelled_booking_counts_nowhere(cancel_first: bool) -> None:
    events: list[Event] = [
        decision("d1", "c1", "send", 0),
        decision("d2", "c2", "holdout", 0),
        booking("B1", "c1", 5, decision_id="d1"),
        booking("B2", "c2", 5),
    ]
    cancels: list[Event] = [cancel("B1", "c1", 9), cancel("B2", "c2", 9)]
    tally = fold_campaign(CAMPAIGN, cancels + events if cancel_first else events + cancels)
    assert (tally.funnel.converted, tally.funnel.revenue_eur, tally.funnel.held_out_converted) == (
        0,
        0.0,
        0,
    )
    assert tally.treated.conversions == tally.control.conversions == 0


def test_conversions_are_attributed_to_the_decision_their_booking_carries() -> None:
    events = [
        decision("d1", "c1", "send", 0),
        decision("d2", "c2", "send", 0),
        decision("d3", "c3", "holdout", 0),
        booking("B1", "c9", 5, 90.0, decision_id="d1"),  # a redemption by someone else
        booking("B2", "c2", 5, 70.0),  # no offer code: not a funnel conversion
        booking("B3", "c3", 5, 60.0, decision_id="d3"),  # held out: nothing to redeem
        booking("B4", "c1", 40 * DAY, 50.0, decision_id="d1"),  # late, but carries d1
    ]
    funnel = build_funnel(CAMPAIGN, events)
    assert (funnel.converted, funnel.revenue_eur) == (1, 140.0)


@pytest.mark.parametrize(
    ("booked_after_hours", "counts"),
    [
        (-1.0, False),  # before the decision
        (0.0, True),  # at the decision
        (6 * DAY, True),
        (7 * DAY, True),  # the window is closed at both ends
        (7 * DAY + 0.01, False),
        (8 * DAY, False),
    ],
)
def test_a_holdout_conversion_is_a_booking_within_the_window(
    booked_after_hours: float, counts: bool
) -> None:
    events = [decision("d1", "c1", "holdout", 10), booking("B1", "c1", 10 + booked_after_hours)]
    tally = fold_campaign(CAMPAIGN, events)
    assert tally.funnel.held_out_converted == int(counts)
    assert tally.control.conversions == int(counts)


def test_the_attribution_window_is_a_parameter() -> None:
    events = [decision("d1", "c1", "holdout", 0), booking("B1", "c1", 2 * DAY)]
    assert build_funnel(CAMPAIGN, events).held_out_converted == 1
    short = build_funnel(CAMPAIGN, events, attribution_window=timedelta(days=1))
    assert short.held_out_converted == 0


def test_a_booking_of_another_customer_does_not_convert_a_holdout() -> None:
    events = [decision("d1", "c1", "holdout", 0), booking("B1", "c2", 5)]
    assert build_funnel(CAMPAIGN, events).held_out_converted == 0


def test_groups_put_each_customer_once_in_the_group_of_their_first_decision() -> None:
    events = [
        decision("d1", "c1", "holdout", 0),
        decision("d2", "c1", "send", DAY),  # later: c1 stays in the control group
        decision("d3", "c2", "send", 0),
        decision("d4", "c2", "send", 2 * DAY),
        decision("d5", "c3", "send", 0),
        decision("d6", "c4", "suppressed", 0),
        booking("B1", "c1", 3 * DAY, 40.0),
        booking("B2", "c2", 1, 100.0),
        booking("B3", "c2", 3 * DAY, 50.0, decision_id="d4"),
        booking("B4", "c2", 9 * DAY, 999.0),  # after the first decision's window
        booking("B5", "c4", 1, 500.0),  # suppressed: in no group
    ]
    tally = fold_campaign(CAMPAIGN, events)
    assert tally.treated == GroupOutcome(
        customers=2, conversions=1, revenue_eur=150.0, revenue_sq_eur2=150.0**2
    )
    assert tally.control == GroupOutcome(
        customers=1, conversions=1, revenue_eur=40.0, revenue_sq_eur2=40.0**2
    )


def test_events_of_other_campaigns_and_replies_are_ignored() -> None:
    reply = CustomerResponse(
        event_id="cr-reply",
        event_time=decision("d1", "c1").event_time,
        customer_id="c1",
        action="reply",
        channel="sms",
        text="STOP",
    )
    events = [
        decision("x1", "c1", "send", campaign="camp-winter"),
        status("x1", "delivered"),
        reply,
    ]
    funnel = build_funnel(CAMPAIGN, events)
    assert (funnel.decided, funnel.sent, funnel.delivered) == (0, 0, 0)


def test_an_empty_stream_gives_an_empty_funnel() -> None:
    tally = fold_campaign(CAMPAIGN, [])
    assert tally.funnel.decided == 0 and tally.funnel.suppressed_by_reason == {}
    assert tally.treated == tally.control == GroupOutcome()


@pytest.mark.parametrize("window", [timedelta(0), timedelta(days=-1)])
def test_the_window_must_be_positive(window: timedelta) -> None:
    with pytest.raises(ReportError, match="attribution_window"):
        fold_campaign(CAMPAIGN, [], attribution_window=window)


@pytest.mark.parametrize(
    ("terms", "price", "cost"),
    [
        (DiscountTerms(), 100.0, 0.0),
        (DiscountTerms(percent=15), 80.0, 12.0),
        (DiscountTerms(fixed_eur=10), 80.0, 10.0),
        (DiscountTerms(fixed_eur=10), 6.0, 6.0),  # never more than the price
    ],
)
def test_discount_terms(terms: DiscountTerms, price: float, cost: float) -> None:
    assert terms.cost_of(price) == pytest.approx(cost)
