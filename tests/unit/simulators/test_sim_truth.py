"""The true incremental conversions of a campaign, from hand-built decisions, bookings
and responses, in the report's unit (one per customer, first decision, 7-day window)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from simulators.truth import first_decisions, true_incremental_conversions
from tests.unit.simulators.offer_factories import CAMPAIGN, T0, booking, decision, response

HOUR = timedelta(hours=1)


def test_only_customers_who_booked_because_of_the_offer_alone_count() -> None:
    treated = [decision(n, customer=n) for n in range(5)]
    held_out = decision(9, customer=9, outcome="holdout")
    caused_refs = {0: "bk-offer-0", 1: "bk-offer-1", 2: "bk-offer-2"}
    responses = {
        d.decision_id: response(d, u=0.3, booking_ref=caused_refs.get(n))
        for n, d in enumerate(treated)
    }
    bookings = [
        booking(0, 0, T0 + 2 * HOUR, ref="bk-offer-0"),  # caused only: incremental
        booking(1, 1, T0 + 2 * HOUR, ref="bk-offer-1"),  # caused, but also organic:
        booking(2, 1, T0 + 30 * HOUR),  # would have booked anyway
        booking(3, 2, T0 + 8 * 24 * HOUR, ref="bk-offer-2"),  # caused, after the window
        booking(4, 3, T0 + 5 * HOUR),  # organic only
        booking(5, 9, T0 + 5 * HOUR),  # held out: never incremental
    ]
    lift = true_incremental_conversions(CAMPAIGN, [*treated, held_out], bookings, responses)
    assert (lift.campaign_id, lift.treated) == (CAMPAIGN, 5)
    assert (lift.caused, lift.incremental_conversions) == (2, 1)
    assert lift.expected_caused == pytest.approx(5 * 0.3)
    assert lift.incremental_rate == pytest.approx(1 / 5)


def test_the_first_decision_decides_the_group() -> None:
    held_first = decision(1, customer=1, outcome="holdout", at=T0)
    sent_later = decision(2, customer=1, at=T0 + HOUR)
    sent_first = decision(3, customer=2, at=T0)
    again = decision(4, customer=2, at=T0 + 2 * HOUR)
    other_campaign = decision(5, customer=3, campaign_id="cmp-other")
    firsts = first_decisions(CAMPAIGN, [again, sent_later, held_first, sent_first, other_campaign])
    assert {d.decision_id for d in firsts} == {held_first.decision_id, sent_first.decision_id}
    responses = {
        d.decision_id: response(d, u=0.5, booking_ref=f"bk-{d.decision_id}")
        for d in (sent_later, again)
    }
    bookings = [
        booking(1, 1, T0 + 3 * HOUR, ref=f"bk-{sent_later.decision_id}"),
        booking(2, 2, T0 + 3 * HOUR, ref=f"bk-{again.decision_id}"),
    ]
    decisions = [held_first, sent_later, sent_first, again]
    lift = true_incremental_conversions(CAMPAIGN, decisions, bookings, responses)
    assert lift.treated == 1  # customer 1 stays in the control group
    assert (lift.caused, lift.incremental_conversions) == (1, 1)  # a later offer, same window
    assert lift.expected_caused == pytest.approx(0.5)


def test_several_offers_in_a_window_and_stops_in_the_expectation() -> None:
    first, second = decision(1, customer=1), decision(2, customer=1, at=T0 + HOUR)
    stopped = decision(3, customer=2)
    responses = {
        first.decision_id: response(first, u=0.2),
        second.decision_id: response(second, u=0.5),
        stopped.decision_id: response(stopped, u=0.9, stopped=True),
    }
    lift = true_incremental_conversions(CAMPAIGN, [first, second, stopped], [], responses)
    assert lift.treated == 2 and lift.caused == 0
    assert lift.expected_caused == pytest.approx(1 - 0.8 * 0.5)


def test_bookings_caused_by_another_campaign_are_not_this_ones() -> None:
    ours = decision(1, customer=1)
    theirs = decision(2, customer=1, campaign_id="cmp-other")
    responses = {
        ours.decision_id: response(ours, booking_ref="bk-ours"),
        theirs.decision_id: response(theirs, booking_ref="bk-theirs"),
    }
    both = [booking(1, 1, T0 + HOUR, ref="bk-ours"), booking(2, 1, T0 + HOUR, ref="bk-theirs")]
    lift = true_incremental_conversions(CAMPAIGN, [ours, theirs], both, responses)
    assert (lift.caused, lift.incremental_conversions) == (1, 0)
    alone = true_incremental_conversions(CAMPAIGN, [ours, theirs], both[:1], responses)
    assert alone.incremental_conversions == 1


def test_copies_are_counted_once_and_cancellations_ignored() -> None:
    offer = decision(1, customer=1)
    responses = {offer.decision_id: response(offer, booking_ref="bk-offer")}
    made = booking(1, 1, T0 + HOUR, ref="bk-offer")
    bookings = [made, made, booking(2, 1, T0 + 9 * HOUR, ref="bk-offer", action="cancel")]
    lift = true_incremental_conversions(CAMPAIGN, [offer, offer], bookings, responses)
    assert (lift.treated, lift.caused, lift.incremental_conversions) == (1, 1, 1)


def test_window_edges_are_included() -> None:
    offer = decision(1, customer=1)
    responses = {offer.decision_id: response(offer, booking_ref="bk-offer")}
    edge = [booking(1, 1, T0 + timedelta(days=7), ref="bk-offer")]
    assert true_incremental_conversions(CAMPAIGN, [offer], edge, responses).caused == 1
    short = true_incremental_conversions(CAMPAIGN, [offer], edge, responses, window=HOUR)
    assert short.caused == 0
    with pytest.raises(ValueError):
        true_incremental_conversions(CAMPAIGN, [offer], edge, responses, window=timedelta(0))


def test_no_treated_customers_no_rate() -> None:
    lift = true_incremental_conversions(CAMPAIGN, [], [], {})
    assert (lift.treated, lift.incremental_rate, lift.expected_caused) == (0, 0.0, 0.0)
