"""Eligibility: whether a campaign may be offered to a customer for a trigger, and if not,
the precise reason.

:func:`check` runs the checks below in this fixed order, cheapest first, and returns the
first that fails (the order of :class:`Ineligible`):

1. ``not_active``: the campaign is not active;
2. ``trigger_not_targeted``: the campaign does not target the hit's trigger;
3. ``stale_trigger``: a ``geofence_enter`` hit is more than ``max_position_age_s`` old
   at ``now`` (exactly that age is still fresh);
4. ``budget_exhausted``: the campaign has sent ``budget.max_sends`` offers or more;
5. ``language``: the campaign lists languages and the customer's is not among them (an
   unknown language is not; a campaign listing none takes every customer);
6. ``no_consent``: the customer consented to none of the campaign's channels;
7. ``offer_not_applicable``: the hit names a route or sailing the offer does not apply
   to (a hit naming neither, such as a social mention, is not checked here);
8. ``outside_schedule``: ``now`` is outside the schedule, in the customer's local time;
9. ``segment``: a segment rule does not match the customer's features (a missing
   feature never matches: :meth:`SegmentRule.matches`);
10. ``outside_geofence``: for a ``geofence_enter`` hit, the entered port is none of the
    campaign's port geofences and the customer's last known position lies in none of
    its polygons (a position on a border is inside);
11. ``social_alert``: the campaign pauses on social alerts
    (``guardrails.pause_on_social_alerts``) and an open alert of social listening names
    a place of the decision (:func:`places_of`): the hit's port or route, the route of
    its sailing, or the route of the sailing the offer would be about
    (:func:`target_sailing`) and the ports every one of those routes leaves from and
    arrives at. The campaign goes on elsewhere, and here again once the alert closes;
12. ``no_inventory``: the hit's sailing is unknown, has departed or has no seats left;
    for a hit without a sailing, no known upcoming sailing the offer applies to (of the
    hit's route, when it names one) has seats left.

Sailings are the rows of :func:`streams.features.sailing.row`, keyed by sailing id;
a value that is missing or not a number counts as no seats, or as departed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from offers.campaigns import network
from offers.campaigns.model import Campaign, CampaignStatus
from offers.campaigns.offer import Offer
from offers.campaigns.schedule import in_schedule
from offers.campaigns.targeting import PolygonGeofence, PortGeofence, Trigger
from offers.contracts.base import aware_utc
from offers.contracts.events import Channel, Language
from streams.decisions.policy import zone_info
from streams.decisions.triggers import TriggerHit


class Ineligible(StrEnum):
    """Why a campaign is not offered, in the order :func:`check` tests them."""

    NOT_ACTIVE = "not_active"
    TRIGGER_NOT_TARGETED = "trigger_not_targeted"
    STALE_TRIGGER = "stale_trigger"
    BUDGET_EXHAUSTED = "budget_exhausted"
    LANGUAGE = "language"
    NO_CONSENT = "no_consent"
    OFFER_NOT_APPLICABLE = "offer_not_applicable"
    OUTSIDE_SCHEDULE = "outside_schedule"
    SEGMENT = "segment"
    OUTSIDE_GEOFENCE = "outside_geofence"
    SOCIAL_ALERT = "social_alert"
    NO_INVENTORY = "no_inventory"


@dataclass(frozen=True, slots=True)
class CustomerContext:
    """What eligibility needs to know of the customer.

    ``zone`` is the IANA time zone of the customer (``"Europe/Rome"``; an unknown name
    is refused here); ``features`` the online features by name; ``position`` the last
    known ``(lat, lon)``; ``consented`` the channels the customer consented to.
    """

    customer_id: str
    zone: str
    language: Language | None = None
    features: Mapping[str, Any] = field(default_factory=dict)
    position: tuple[float, float] | None = None
    consented: frozenset[Channel] = frozenset()

    def __post_init__(self) -> None:
        zone_info(self.zone)

    @property
    def tz(self) -> ZoneInfo:
        """The customer's time zone (ZoneInfo caches it by name)."""
        return ZoneInfo(self.zone)


def eligible_channels(campaign: Campaign, customer: CustomerContext) -> tuple[Channel, ...]:
    """The campaign's channels the customer consented to, in the campaign's order."""
    return tuple(channel for channel in campaign.channels if channel in customer.consented)


def check(
    campaign: Campaign,
    hit: TriggerHit,
    customer: CustomerContext,
    *,
    now: datetime,
    sailings: Mapping[str, Mapping[str, Any]],
    sends: int,
    alerts: frozenset[str] = frozenset(),
) -> Ineligible | None:
    """The first reason (in the module's order) why ``campaign`` may not be offered to
    ``customer`` for ``hit`` at ``now``, or None when it may.

    ``sends`` is how many offers the campaign has sent so far; ``alerts`` the subjects
    (``port:<CODE>``, ``route:<ROUTE_ID>``) of the open social alerts. ``now`` must be
    timezone-aware and ``hit`` must be the customer's.
    """
    aware_utc(now, "now")
    if hit.customer_id != customer.customer_id:
        raise ValueError(f"hit: is for customer {hit.customer_id!r}, not {customer.customer_id!r}")
    targeting = campaign.targeting
    geofence_hit = hit.trigger is Trigger.GEOFENCE_ENTER
    if campaign.status is not CampaignStatus.ACTIVE:
        return Ineligible.NOT_ACTIVE
    if hit.trigger not in targeting.triggers:
        return Ineligible.TRIGGER_NOT_TARGETED
    if geofence_hit and now - hit.at > timedelta(seconds=targeting.max_position_age_s):
        return Ineligible.STALE_TRIGGER
    max_sends = campaign.budget.max_sends
    if max_sends is not None and sends >= max_sends:
        return Ineligible.BUDGET_EXHAUSTED
    if targeting.languages and customer.language not in targeting.languages:
        return Ineligible.LANGUAGE
    if not eligible_channels(campaign, customer):
        return Ineligible.NO_CONSENT
    if not _offer_applies(campaign.offer, hit, sailings):
        return Ineligible.OFFER_NOT_APPLICABLE
    if not in_schedule(campaign.schedule, now, customer.tz):
        return Ineligible.OUTSIDE_SCHEDULE
    if not _in_segment(campaign, customer.features):
        return Ineligible.SEGMENT
    if geofence_hit and not _in_geofence(campaign, hit, customer.position):
        return Ineligible.OUTSIDE_GEOFENCE
    if alerts and campaign.guardrails.pause_on_social_alerts:
        if places_of(hit, target_sailing(campaign.offer, hit, sailings, now), sailings) & alerts:
            return Ineligible.SOCIAL_ALERT
    if not _has_inventory(campaign.offer, hit, sailings, now.timestamp()):
        return Ineligible.NO_INVENTORY
    return None


def places_of(
    hit: TriggerHit, sailing_id: str | None, sailings: Mapping[str, Mapping[str, Any]]
) -> frozenset[str]:
    """The subjects of social listening a decision about ``hit`` concerns, when its offer
    is about ``sailing_id``: the hit's port and route, the routes of the hit's sailing and
    of ``sailing_id``, and the ports each of those routes (and sailings) leave from and
    arrive at."""
    routes: set[str | None] = {hit.route_id}
    ports: set[str | None] = {hit.port}
    for sailing in (hit.sailing_id, sailing_id):
        if sailing is None or sailing not in sailings:
            continue
        routes.add(_route_of(sailings, sailing))
        origin = sailings[sailing].get("origin_port")
        ports.add(origin if isinstance(origin, str) and origin else None)
    for route in list(routes):
        ends = network.route_ports(route) if route is not None else None
        if ends is not None:
            ports.update(ends)
    return frozenset(
        [f"route:{route}" for route in routes if route is not None]
        + [f"port:{port}" for port in ports if port is not None]
    )


def _in_segment(campaign: Campaign, features: Mapping[str, Any]) -> bool:
    try:
        return all(rule.matches(features) for rule in campaign.targeting.segment_rules)
    except (TypeError, ValueError):
        # a feature value that cannot be compared with the rule's (e.g. an array) does
        # not match it
        return False


def _in_geofence(campaign: Campaign, hit: TriggerHit, position: tuple[float, float] | None) -> bool:
    for geofence in campaign.targeting.geofences:
        if isinstance(geofence, PortGeofence):
            if geofence.port == hit.port:
                return True
        elif isinstance(geofence, PolygonGeofence) and position is not None:
            if geofence.contains(*position):
                return True
    return False


def _route_of(sailings: Mapping[str, Mapping[str, Any]], sailing_id: str) -> str | None:
    row = sailings.get(sailing_id)
    route = row.get("route_id") if row is not None else None
    return route if isinstance(route, str) and route else None


def _offer_applies(
    offer: Offer, hit: TriggerHit, sailings: Mapping[str, Mapping[str, Any]]
) -> bool:
    """Whether the offer applies to the hit's route and sailing; True when it names neither.

    For a hit on a route without a sailing, the offer applies if it names the route or a
    known sailing of it.
    """
    route, sailing = hit.route_id, hit.sailing_id
    if route is None and sailing is not None:
        route = _route_of(sailings, sailing)
    if route is None:
        return sailing is None or offer.all_routes or sailing in offer.sailing_ids
    if offer.applies_to(route, sailing):
        return True
    return sailing is None and any(_route_of(sailings, s) == route for s in offer.sailing_ids)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class SailingRows(dict[str, Mapping[str, Any]]):
    """Every sailing's latest row by sailing id (a copy, as of one batch), and the rows of
    each route: the soonest bookable sailing of a route is then found among its own."""

    def __init__(self, rows: Mapping[str, Mapping[str, Any]]) -> None:
        super().__init__(rows)
        self._by_route: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        for sailing_id, row in self.items():
            route = row.get("route_id")
            if isinstance(route, str):
                self._by_route.setdefault(route, []).append((sailing_id, row))

    def of_route(self, route_id: str) -> list[tuple[str, Mapping[str, Any]]]:
        return self._by_route.get(route_id, [])


def _bookable(row: Mapping[str, Any], now_s: float) -> bool:
    """Whether the sailing departs after ``now_s`` and has seats left."""
    seats, departure = _number(row.get("seats_left")), _number(row.get("departure_ts"))
    return seats is not None and departure is not None and seats > 0 and departure > now_s


def _has_inventory(
    offer: Offer, hit: TriggerHit, sailings: Mapping[str, Mapping[str, Any]], now_s: float
) -> bool:
    if hit.sailing_id is not None:
        row = sailings.get(hit.sailing_id)
        return row is not None and _bookable(row, now_s)
    return _soonest_bookable(offer, hit, sailings, now_s) is not None


def target_sailing(
    offer: Offer, hit: TriggerHit, sailings: Mapping[str, Mapping[str, Any]], now: datetime
) -> str | None:
    """The sailing an offer for ``hit`` is about: the hit's own, or else the soonest
    bookable sailing the offer applies to (of the hit's route, when it names one),
    preferring those leaving from the hit's port; None when there is none."""
    if hit.sailing_id is not None:
        return hit.sailing_id
    return _soonest_bookable(offer, hit, sailings, aware_utc(now, "now").timestamp())


def _soonest_bookable(
    offer: Offer, hit: TriggerHit, sailings: Mapping[str, Mapping[str, Any]], now_s: float
) -> str | None:
    best: tuple[bool, float, str] | None = None
    rows: Iterable[tuple[str, Mapping[str, Any]]] = sailings.items()
    if hit.route_id is not None and isinstance(sailings, SailingRows):
        rows = sailings.of_route(hit.route_id)
    for sailing_id, row in rows:
        route = row.get("route_id")
        if not isinstance(route, str) or (hit.route_id is not None and route != hit.route_id):
            continue
        if not (offer.applies_to(route, sailing_id) and _bookable(row, now_s)):
            continue
        departure = _number(row.get("departure_ts"))
        assert departure is not None  # bookable
        rank = (row.get("origin_port") != hit.port, departure, sailing_id)
        if best is None or rank < best:
            best = rank
    return best[2] if best is not None else None
