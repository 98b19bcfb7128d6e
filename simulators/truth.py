"""The true effect of a campaign: how many customers booked only because of its offers.

The engine estimates a campaign's incremental conversions by comparing treated and
held-out customers (``offers.reports.funnel``). The simulator knows the answer, because
it drew each booking an offer caused (:mod:`simulators.responder`), and measures it in the
report's own unit:

* one unit per customer, in the group of the customer's first ``send`` or ``holdout``
  decision of the campaign (the earliest by event time, then decision id; copies of a
  decision count once);
* a customer's window runs from that decision's event time to ``window`` after it, both
  ends included;
* a treated customer (first decision a ``send``) converted **because of the campaign**
  when their window holds at least one booking caused by one of the campaign's offers and
  no other booking: not one from the world (organic), nor one caused by another
  campaign's offer. Those customers would not have booked without the campaign.

Bookings are ``book`` events, counted once per ``booking_ref``; cancellations are
ignored (a booking cancelled later still counts, for the truth and for this comparison).

The expected value of the draws: a treated customer's chance of a caused booking is
``1 - prod(1 - u)`` over the campaign's offers answered in their window (the customer's
``u`` when there is one offer), an offer answered by STOP counting 0; the sum over the
treated customers is :attr:`TrueLift.expected_caused`, which :attr:`TrueLift.caused`
matches up to the luck of the draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import fsum, prod

from offers.contracts import BookingAction, BookingEvent, DecisionOutcome, OfferDecision
from simulators.responder import Response

DEFAULT_WINDOW = timedelta(days=7)
_GROUPS = (DecisionOutcome.SEND, DecisionOutcome.HOLDOUT)


@dataclass(frozen=True, slots=True)
class TrueLift:
    """The realised counterfactual of one campaign."""

    campaign_id: str
    treated: int
    """Customers whose first decision of the campaign sent them an offer."""
    caused: int
    """Treated customers with a booking caused by the campaign in their window."""
    incremental_conversions: int
    """Of those, the customers with no other booking in their window: they converted only
    because of the campaign."""
    expected_caused: float
    """Expected value of ``caused`` given the true uplifts drawn against."""

    @property
    def incremental_rate(self) -> float:
        """Incremental conversions per treated customer (0 without treated customers)."""
        return self.incremental_conversions / self.treated if self.treated else 0.0


def first_decisions(campaign_id: str, decisions: Iterable[OfferDecision]) -> list[OfferDecision]:
    """Each customer's first ``send`` or ``holdout`` decision of the campaign."""
    first: dict[str, OfferDecision] = {}
    for decision in decisions:
        if decision.campaign_id != campaign_id or decision.outcome not in _GROUPS:
            continue
        kept = first.get(decision.customer_id)
        if kept is None or (decision.event_time, decision.decision_id) < (
            kept.event_time,
            kept.decision_id,
        ):
            first[decision.customer_id] = decision
    return list(first.values())


def _bookings_by_customer(bookings: Iterable[BookingEvent]) -> dict[str, list[BookingEvent]]:
    """``book`` events once per reference (the earliest copy), by customer."""
    kept: dict[str, BookingEvent] = {}
    for booking in bookings:
        if booking.action is not BookingAction.BOOK or booking.booking_ref is None:
            continue
        earlier = kept.get(booking.booking_ref)
        if earlier is None or (booking.event_time, booking.event_id) < (
            earlier.event_time,
            earlier.event_id,
        ):
            kept[booking.booking_ref] = booking
    by_customer: dict[str, list[BookingEvent]] = {}
    for booking in kept.values():
        by_customer.setdefault(booking.customer_id, []).append(booking)
    return by_customer


def _chance_caused(responses: list[Response]) -> float:
    return 1.0 - prod(1.0 - (0.0 if r.stopped else r.u) for r in responses)


def true_incremental_conversions(
    campaign_id: str,
    decisions: Iterable[OfferDecision],
    bookings: Iterable[BookingEvent],
    caused: Mapping[str, Response],
    window: timedelta = DEFAULT_WINDOW,
) -> TrueLift:
    """The true incremental conversions of ``campaign_id`` (see the module's notes).

    ``decisions`` and ``bookings`` are the engine's and the world's events (any order,
    copies allowed); ``caused`` is the responder's :class:`Response` of each decision it
    answered (by decision id).
    """
    if window <= timedelta(0):
        raise ValueError(f"window must be positive, got {window}")
    campaign_of = {r.booking_ref: r.campaign_id for r in caused.values() if r.booking_ref}
    answered: dict[str, list[Response]] = {}
    for response in caused.values():
        if response.campaign_id == campaign_id:
            answered.setdefault(response.customer_id, []).append(response)
    by_customer = _bookings_by_customer(bookings)
    treated = [
        d for d in first_decisions(campaign_id, decisions) if d.outcome is DecisionOutcome.SEND
    ]
    caused_count = incremental = 0
    expected: list[float] = []
    for decision in treated:
        start, end = decision.event_time, decision.event_time + window
        booked = [
            b for b in by_customer.get(decision.customer_id, []) if start <= b.event_time <= end
        ]
        ours = [b for b in booked if campaign_of.get(b.booking_ref or "") == campaign_id]
        if ours:
            caused_count += 1
            incremental += len(ours) == len(booked)
        offers = [r for r in answered.get(decision.customer_id, []) if _within(r, start, end)]
        expected.append(_chance_caused(offers))
    return TrueLift(
        campaign_id=campaign_id,
        treated=len(treated),
        caused=caused_count,
        incremental_conversions=incremental,
        expected_caused=fsum(expected),
    )


def _within(response: Response, start: datetime, end: datetime) -> bool:
    """Whether the offer answered in ``response`` reached the customer in the window."""
    return start <= response.received_at <= end
