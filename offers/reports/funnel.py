"""One campaign's funnel and holdout comparison, folded from its events.

The fold reads :class:`OfferDecision`, :class:`DeliveryStatus`, :class:`CustomerResponse`
and :class:`BookingEvent` in any order and any number of copies (replays, retries) and
ignores every other event. Its rules:

- **decisions**: those whose ``campaign_id`` is the campaign, once per ``decision_id``
  (of several copies the earliest by event time, then event id, is kept);
- **delivered, clicked, redeemed**: sent decisions with at least one ``delivered`` status,
  ``click`` or ``redeem`` response for their id, however often and in whatever order those
  arrive; statuses and responses of other decisions are ignored;
- **bookings**: ``book`` events once per ``booking_ref`` (the earliest copy), without those
  cancelled by a ``cancel`` of the same reference;
- **converted** (funnel): sent decisions with a booking carrying their id in
  ``offer_decision_id``; ``revenue_eur`` and ``discount_cost_eur`` sum over those bookings;
- **held_out_converted** (funnel): held-out decisions whose customer made a booking within
  the attribution window after the decision: ``decision time <= booking time <=
  decision time + window`` (7 days by default);
- **groups** (for the incrementality): one unit per customer, in the group of the
  customer's first ``send`` or ``holdout`` decision of the campaign. A customer converts
  when they made a booking within the attribution window after that decision, and their
  revenue is the sum of those bookings' prices. The same rule holds for both groups, so
  the comparison is fair; a redeemed offer is not needed (a treated customer who books
  without the code still counts, as a held-out customer would). A customer held out first
  and sent an offer later stays in the control group, which can only shrink the lift;
- **timeline**: the same groups per UTC day (:mod:`offers.reports.timeline`): a customer
  enters on the day of that first decision and converts on the day of the first booking
  that counts for them;
- **social**: the treated and control groups' conversions (at that first booking) and the
  offer-driven ones (each converted decision at its first booking) beside the customers'
  social touchpoints within the attribution window before them
  (:mod:`offers.reports.social`).

Prices: ``price_eur`` of a booking is taken as the fare before the offer's discount; the
discount of a booking made with an offer is :meth:`DiscountTerms.cost_of` its price.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import fsum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from offers.contracts.base import Event
from offers.contracts.events import (
    BookingAction,
    BookingEvent,
    CustomerResponse,
    DecisionOutcome,
    DeliveryState,
    DeliveryStatus,
    OfferDecision,
    ResponseAction,
    SocialPost,
)
from offers.reports.incrementality import GroupOutcome
from offers.reports.intervals import ReportError
from offers.reports.social import SOCIAL_CHANNELS, SocialAttribution, TouchpointLog
from offers.reports.timeline import GroupEntry, TimelinePoint, daily_timeline

DEFAULT_ATTRIBUTION_WINDOW = timedelta(days=7)


class DiscountTerms(BaseModel):
    """What an offer takes off a booking's price: a percentage, a fixed amount, or both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    percent: float = Field(0.0, ge=0.0, le=100.0, allow_inf_nan=False)
    fixed_eur: float = Field(0.0, ge=0.0, allow_inf_nan=False)

    def cost_of(self, price_eur: float) -> float:
        """The discount on a booking of ``price_eur``, never more than the price."""
        return min(price_eur, price_eur * self.percent / 100.0 + self.fixed_eur)


NO_DISCOUNT = DiscountTerms()


class Funnel(BaseModel):
    """How far one campaign's decisions went; every count is of distinct decisions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign_id: str
    decided: int
    """Decisions for the campaign, whatever their outcome."""
    held_out: int
    held_out_converted: int
    """Held-out decisions followed by a booking of their customer within the window."""
    global_control: int
    """Decisions for customers of the global control group (outcome ``control``)."""
    suppressed: int
    suppressed_by_reason: dict[str, int]
    no_offer: int
    sent: int
    delivered: int
    clicked: int
    redeemed: int
    converted: int
    """Sent decisions with a (not cancelled) booking carrying their id."""
    revenue_eur: float
    """The price of the bookings counted in ``converted``."""
    discount_cost_eur: float
    """The discount given on those bookings."""


class CampaignTally(BaseModel):
    """Everything counted for one campaign: its funnel and the two groups to compare."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    funnel: Funnel
    treated: GroupOutcome
    control: GroupOutcome
    timeline: tuple[TimelinePoint, ...]
    """The two groups per UTC day; its totals are ``treated`` and ``control``."""
    social: SocialAttribution


def build_funnel(
    campaign_id: str,
    events: Iterable[Event],
    *,
    attribution_window: timedelta = DEFAULT_ATTRIBUTION_WINDOW,
    discount: DiscountTerms = NO_DISCOUNT,
) -> Funnel:
    """The funnel of ``campaign_id`` from ``events`` (see the module's docstring)."""
    return fold_campaign(
        campaign_id, events, attribution_window=attribution_window, discount=discount
    ).funnel


def fold_campaign(
    campaign_id: str,
    events: Iterable[Event],
    *,
    attribution_window: timedelta = DEFAULT_ATTRIBUTION_WINDOW,
    discount: DiscountTerms = NO_DISCOUNT,
) -> CampaignTally:
    """The funnel, the treated and control groups and their timeline of ``campaign_id``
    from ``events``."""
    if attribution_window <= timedelta(0):
        raise ReportError(f"attribution_window: must be positive, got {attribution_window}")
    seen = _collect(campaign_id, events)
    bookings = [b for ref, b in seen.bookings.items() if ref not in seen.cancelled]
    timelines = _timelines(bookings)
    with_offer = _offer_bookings(seen, bookings)
    funnel = _funnel(campaign_id, seen, with_offer, timelines, attribution_window, discount)
    groups = _groups(seen, timelines, attribution_window)
    social = SocialAttribution(
        window=attribution_window,
        channels=SOCIAL_CHANNELS,
        treated=seen.touchpoints.split(groups.treated_conversions, attribution_window),
        control=seen.touchpoints.split(groups.control_conversions, attribution_window),
        offer_driven=seen.touchpoints.split(_offer_conversions(with_offer), attribution_window),
    )
    return CampaignTally(
        funnel=funnel,
        treated=groups.treated,
        control=groups.control,
        timeline=groups.timeline,
        social=social,
    )


@dataclass(slots=True)
class _Seen:
    """The campaign's events, without duplicates."""

    decisions: dict[str, OfferDecision] = field(default_factory=dict)
    deliveries: dict[str, set[DeliveryState]] = field(default_factory=dict)
    responses: dict[str, set[ResponseAction]] = field(default_factory=dict)
    bookings: dict[str, BookingEvent] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    touchpoints: TouchpointLog = field(default_factory=TouchpointLog)


@dataclass(slots=True)
class _Timeline:
    """One customer's bookings in time order, to sum those within a window."""

    times: list[datetime] = field(default_factory=list)
    prices: list[float] = field(default_factory=list)

    def within(self, start: datetime, end: datetime) -> list[float]:
        return self.prices[self._span(start, end)]

    def first_within(self, start: datetime, end: datetime) -> datetime | None:
        times = self.times[self._span(start, end)]
        return times[0] if times else None

    def _span(self, start: datetime, end: datetime) -> slice:
        return slice(bisect_left(self.times, start), bisect_right(self.times, end))


_E = TypeVar("_E", bound=Event)


def _keep_earliest(store: dict[str, _E], key: str, event: _E) -> None:
    kept = store.get(key)
    if kept is None or (event.event_time, event.event_id) < (kept.event_time, kept.event_id):
        store[key] = event


def _collect(campaign_id: str, events: Iterable[Event]) -> _Seen:
    seen = _Seen()
    for event in events:
        if isinstance(event, OfferDecision):
            if event.campaign_id == campaign_id:
                _keep_earliest(seen.decisions, event.decision_id, event)
        elif isinstance(event, DeliveryStatus):
            seen.deliveries.setdefault(event.decision_id, set()).add(event.status)
        elif isinstance(event, CustomerResponse):
            if event.decision_id is not None:
                seen.responses.setdefault(event.decision_id, set()).add(event.action)
            seen.touchpoints.add(event)
        elif isinstance(event, SocialPost):
            seen.touchpoints.add(event)
        elif isinstance(event, BookingEvent) and event.booking_ref is not None:
            if event.action is BookingAction.BOOK:
                _keep_earliest(seen.bookings, event.booking_ref, event)
            elif event.action is BookingAction.CANCEL:
                seen.cancelled.add(event.booking_ref)
    return seen


def _timelines(bookings: list[BookingEvent]) -> dict[str, _Timeline]:
    timelines: dict[str, _Timeline] = {}
    for booking in sorted(bookings, key=lambda b: (b.event_time, b.event_id)):
        timeline = timelines.setdefault(booking.customer_id, _Timeline())
        timeline.times.append(booking.event_time)
        timeline.prices.append(booking.price_eur or 0.0)
    return timelines


def _booked_within(
    timelines: dict[str, _Timeline], decision: OfferDecision, window: timedelta
) -> list[float]:
    timeline = timelines.get(decision.customer_id)
    if timeline is None:
        return []
    return timeline.within(decision.event_time, decision.event_time + window)


def _first_booked_within(
    timelines: dict[str, _Timeline], decision: OfferDecision, window: timedelta
) -> datetime | None:
    """When the first booking counted by :func:`_booked_within` was made, if any."""
    timeline = timelines.get(decision.customer_id)
    if timeline is None:
        return None
    return timeline.first_within(decision.event_time, decision.event_time + window)


def _funnel(
    campaign_id: str,
    seen: _Seen,
    with_offer: list[BookingEvent],
    timelines: dict[str, _Timeline],
    window: timedelta,
    discount: DiscountTerms,
) -> Funnel:
    by_outcome: dict[DecisionOutcome, list[OfferDecision]] = {o: [] for o in DecisionOutcome}
    for decision in seen.decisions.values():
        by_outcome[decision.outcome].append(decision)
    sent = {d.decision_id for d in by_outcome[DecisionOutcome.SEND]}
    prices = [b.price_eur or 0.0 for b in with_offer]
    reasons = Counter(d.reason for d in by_outcome[DecisionOutcome.SUPPRESSED])
    return Funnel(
        campaign_id=campaign_id,
        decided=len(seen.decisions),
        held_out=len(by_outcome[DecisionOutcome.HOLDOUT]),
        held_out_converted=sum(
            1 for d in by_outcome[DecisionOutcome.HOLDOUT] if _booked_within(timelines, d, window)
        ),
        global_control=len(by_outcome[DecisionOutcome.CONTROL]),
        suppressed=reasons.total(),
        suppressed_by_reason=dict(sorted(reasons.items())),
        no_offer=len(by_outcome[DecisionOutcome.NO_OFFER]),
        sent=len(sent),
        delivered=_count_with(sent, seen.deliveries, DeliveryState.DELIVERED),
        clicked=_count_with(sent, seen.responses, ResponseAction.CLICK),
        redeemed=_count_with(sent, seen.responses, ResponseAction.REDEEM),
        converted=len({b.offer_decision_id for b in with_offer}),
        revenue_eur=fsum(prices),
        discount_cost_eur=fsum(discount.cost_of(p) for p in prices),
    )


def _count_with(
    decision_ids: set[str],
    seen: dict[str, set[DeliveryState]] | dict[str, set[ResponseAction]],
    wanted: DeliveryState | ResponseAction,
) -> int:
    return sum(1 for decision_id in decision_ids if wanted in seen.get(decision_id, ()))


@dataclass(frozen=True, slots=True)
class _Groups:
    treated: GroupOutcome
    control: GroupOutcome
    timeline: tuple[TimelinePoint, ...]
    treated_conversions: list[tuple[str, datetime]]
    """Each converted treated customer, at the first booking that counts for them."""
    control_conversions: list[tuple[str, datetime]]


def _groups(seen: _Seen, timelines: dict[str, _Timeline], window: timedelta) -> _Groups:
    """The treated and control groups, and the same customers per day: one rule decides
    both, so the timeline's totals are the groups'."""
    revenues: dict[DecisionOutcome, list[list[float]]] = {
        DecisionOutcome.SEND: [],
        DecisionOutcome.HOLDOUT: [],
    }
    conversions: dict[DecisionOutcome, list[tuple[str, datetime]]] = {
        DecisionOutcome.SEND: [],
        DecisionOutcome.HOLDOUT: [],
    }
    entries: list[GroupEntry] = []
    for decision in _first_offers(seen).values():
        revenues[decision.outcome].append(_booked_within(timelines, decision, window))
        converted_at = _first_booked_within(timelines, decision, window)
        if converted_at is not None:
            conversions[decision.outcome].append((decision.customer_id, converted_at))
        entries.append(
            GroupEntry(
                treated=decision.outcome is DecisionOutcome.SEND,
                entered_at=decision.event_time,
                converted_at=converted_at,
            )
        )
    return _Groups(
        treated=_group(revenues[DecisionOutcome.SEND]),
        control=_group(revenues[DecisionOutcome.HOLDOUT]),
        timeline=daily_timeline(entries),
        treated_conversions=conversions[DecisionOutcome.SEND],
        control_conversions=conversions[DecisionOutcome.HOLDOUT],
    )


def _offer_bookings(seen: _Seen, bookings: list[BookingEvent]) -> list[BookingEvent]:
    """The bookings made with one of the campaign's offers: carrying a sent decision's id."""
    sent = {
        decision_id
        for decision_id, decision in seen.decisions.items()
        if decision.outcome is DecisionOutcome.SEND
    }
    return [b for b in bookings if b.offer_decision_id in sent]


def _offer_conversions(with_offer: list[BookingEvent]) -> list[tuple[str, datetime]]:
    """Each sent decision with a booking carrying its id (of ``with_offer``), at the first
    such booking: the conversions the funnel counts in ``converted``."""
    first: dict[str, BookingEvent] = {}
    for booking in with_offer:
        assert booking.offer_decision_id is not None
        _keep_earliest(first, booking.offer_decision_id, booking)
    return [(booking.customer_id, booking.event_time) for booking in first.values()]


def _first_offers(seen: _Seen) -> dict[str, OfferDecision]:
    """Each customer's first ``send`` or ``holdout`` decision: the one that puts them in a
    group."""
    first: dict[str, OfferDecision] = {}
    for decision in seen.decisions.values():
        if decision.outcome not in (DecisionOutcome.SEND, DecisionOutcome.HOLDOUT):
            continue
        kept = first.get(decision.customer_id)
        if kept is None or (decision.event_time, decision.decision_id) < (
            kept.event_time,
            kept.decision_id,
        ):
            first[decision.customer_id] = decision
    return first


def _group(bookings_per_customer: list[list[float]]) -> GroupOutcome:
    revenue = [fsum(prices) for prices in bookings_per_customer]
    return GroupOutcome(
        customers=len(bookings_per_customer),
        conversions=sum(1 for prices in bookings_per_customer if prices),
        revenue_eur=fsum(revenue),
        revenue_sq_eur2=fsum(r * r for r in revenue),
    )
