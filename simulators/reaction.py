"""How a simulated customer meets an offer: the redemption link in the message, the
simulated moment it arrives, the situation the ground-truth model judges it in, the
sailing a booking takes, and the seeded draws that decide what the customer does.

Everything here is a plain function of its arguments: the same decision, campaign and
customer always give the same situation and the same draws, whatever the order in which
messages are handled.

The situation (:class:`~simulators.response.OfferContext`) is rebuilt from what the
simulator knows:

* sailing: the one the offer is about (the sailing the decision names for its offer, as
  the message does), when the offer applies to it and it leaves after the booking
  moment; otherwise the first sailing of the offer's route leaving some days after the
  booking moment (as far ahead as the world's searches look), the route being the
  offer's first (or that of its first sailing), the trigger's for an offer on all
  routes, else the customer's first favourite;
* discount: what the offer is worth to the customer
  (:func:`simulators.response.offer_worth`);
* fare, hours to departure and month: those of that sailing, at its seasonal fare; the
  month is that of departure, as the model's season term reads it;
* channel: the decision's; hour: local time at the customer's home when the message
  arrives;
* intent: an abandoned quote means the customer searched and was quoted; a search, a
  fare drop or released capacity (both follow the customer's searches) mean searched;
* distance: from the customer's home to the departure port, or the port's geofence radius
  when the trigger was entering a geofence (the customer was at a port).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from offers.campaigns import Campaign
from offers.campaigns.offer import Offer
from offers.contracts import OfferDecision, Trigger
from simulators.customers import CHANNELS, Customers
from simulators.geo import haversine_km
from simulators.ports import HOME_CITIES, port_named
from simulators.response import OfferContext, ResponseTraits, offer_worth, true_uplift
from simulators.routes import Route
from simulators.sailings import local_departures, sailing_id_of, seasonal_fare_of

REACTION_STREAM = 23
"""Separates the responder's draws from the world's other seeded streams."""
LINK = re.compile(r"https?://[^\s/]+(?:/\S*?)?/r/([A-Za-z0-9][A-Za-z0-9_.:\-]*)")
"""A redemption link, ``{public_base_url}/r/{decision_id}.{expiry}.{signature}``."""
MAX_SEARCH_DAYS = 200
"""How far ahead a sailing is looked for (a route may not run in the low season)."""
_SEARCHED = frozenset({Trigger.SEARCH, Trigger.FARE_DROP, Trigger.CAPACITY_RELEASED})


@dataclass(frozen=True, slots=True)
class ReactionRates:
    """The seed and the rates of the reactions that the ground-truth model leaves open."""

    seed: int = 7
    click_rate: float = 0.08
    """Chance that a customer the offer does not win over still opens its link."""
    stop_rate: float = 0.01
    """Chance that an SMS recipient replies STOP."""
    mean_booking_delay: timedelta = timedelta(hours=3)
    """Mean (exponential) time from receiving an offer to booking because of it."""

    def __post_init__(self) -> None:
        for name in ("click_rate", "stop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.mean_booking_delay <= timedelta(0):
            raise ValueError("mean_booking_delay must be positive")


@dataclass(frozen=True, slots=True)
class OfferLink:
    """The redemption link of a message and the decision its token names."""

    url: str
    token: str
    decision_id: str


def find_offer_link(body: str) -> OfferLink | None:
    """The last redemption link in ``body``, or None when the message carries no offer."""
    found = None
    for match in LINK.finditer(body):
        token = match.group(1).rstrip(".:")
        parts = token.rsplit(".", 2)
        if len(parts) == 3 and all(parts):
            url = match.group(0)[: match.start(1) - match.start(0)] + token
            found = OfferLink(url=url, token=token, decision_id=parts[0])
    return found


def received_at(decision: OfferDecision) -> datetime:
    """When the offer reaches the customer, in simulated time: the decision, or the end of
    the quiet hours it waited for."""
    return max(decision.event_time, decision.send_at or decision.event_time)


@dataclass(frozen=True, slots=True)
class Draws:
    """The uniform and exponential draws of one decision, always made in this order."""

    stop: float
    cause: float
    click: float
    delay: timedelta
    ahead: timedelta
    """How long after booking the customer wants to sail."""


def draws_for(seed: int, decision_id: str, mean_delay: timedelta) -> Draws:
    """The draws of ``decision_id``, from a generator seeded with ``seed`` and the id.

    Every draw is made whatever the outcome, so a change of one rate never shifts the
    others. How far ahead the customer sails follows the world's searches (gamma, mean
    12 days, at least 7 hours, at most 21 days).
    """
    digest = hashlib.sha256(decision_id.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "big") for i in range(0, 16, 4)]
    rng = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([seed, REACTION_STREAM, *words]))
    )
    stop, cause, click = (float(x) for x in rng.random(3))
    delay_h = float(rng.exponential(mean_delay.total_seconds() / 3600.0))
    ahead_days = float(np.clip(rng.gamma(1.5, 8.0), 0.3, 21.0))
    return Draws(stop, cause, click, timedelta(hours=delay_h), timedelta(days=ahead_days))


def booking_time(received: datetime, delay: timedelta, expires_at: datetime | None) -> datetime:
    """When a customer who books because of the offer does so: ``delay`` after receiving
    it, at most six days later and before the offer expires (never before receipt)."""
    moment = received + min(delay, timedelta(days=6))
    if expires_at is not None:
        moment = min(moment, expires_at - timedelta(seconds=1))
    return max(moment, received)


@dataclass(frozen=True, slots=True)
class Sailing:
    """A sailing a customer books: its id in the world's form, departure and fare."""

    sailing_id: str
    route_id: str
    origin: str
    """Code of the departure port."""
    departure: datetime
    """In UTC."""
    fare_eur: float


def sailing_after(route: Route, moment: datetime) -> Sailing:
    """The first sailing of ``route`` departing at or after ``moment``, as the world's
    schedule has it (same id, same seasonal fare)."""
    zone = port_named(route.origin).zone
    day: date = moment.astimezone(zone).date()
    for _ in range(MAX_SEARCH_DAYS):
        for local in local_departures(route, day):
            if local >= moment:
                return Sailing(
                    sailing_id=sailing_id_of(route, local),
                    route_id=route.route_id,
                    origin=route.origin,
                    departure=local.astimezone(UTC),
                    fare_eur=seasonal_fare_of(route, day),
                )
        day += timedelta(days=1)
    raise ValueError(f"route {route.route_id} has no sailing within {MAX_SEARCH_DAYS} days")


def offer_route(
    offer: Offer,
    customers: Customers,
    index: int,
    routes: tuple[Route, ...],
    trigger_route: str | None = None,
) -> int:
    """The route the offer is about, for customer ``index``: its position in ``routes``."""
    positions = {route.route_id: r for r, route in enumerate(routes)}
    if offer.route_ids and offer.route_ids[0] in positions:
        return positions[offer.route_ids[0]]
    if offer.sailing_ids:
        route_id = offer.sailing_ids[0].rsplit("-", 2)[0]
        if route_id in positions:
            return positions[route_id]
    if offer.all_routes and trigger_route in positions:
        return positions[trigger_route]
    return int(customers.favourite_routes[index, 0])


def offered_sailing(
    decision: OfferDecision, offer: Offer, routes: tuple[Route, ...], booked_at: datetime
) -> Sailing | None:
    """The sailing the decision's offer is about, if the offer applies to it and it leaves
    after ``booked_at``: the chosen candidate's sailing, else the trigger's."""
    chosen = (c.sailing_id for c in decision.candidates if c.campaign_id == decision.campaign_id)
    sailing_id = next(chosen, None) or decision.sailing_id
    if sailing_id is None:
        return None
    route_id, day, hour = sailing_id.rsplit("-", 2)
    route = next((r for r in routes if r.route_id == route_id), None)
    if route is None or not offer.applies_to(route_id, sailing_id):
        return None
    try:
        local = datetime.strptime(f"{day}{hour}", "%Y%m%d%H%M").replace(
            tzinfo=port_named(route.origin).zone
        )
    except ValueError:
        return None
    if local <= booked_at:
        return None
    return Sailing(
        sailing_id=sailing_id,
        route_id=route_id,
        origin=route.origin,
        departure=local.astimezone(UTC),
        fare_eur=seasonal_fare_of(route, local.date()),
    )


def intent_of(trigger: str) -> tuple[bool, bool]:
    """(recently searched, recently quoted) as the decision's trigger shows them."""
    if trigger == Trigger.ABANDONED_QUOTE:
        return True, True
    return trigger in _SEARCHED, False


def distance_km(customers: Customers, index: int, port_code: str, trigger: str) -> float:
    """How far the customer is from the departure port when the offer arrives."""
    port = port_named(port_code)
    if trigger == Trigger.GEOFENCE_ENTER:
        return port.geofence_km
    lat, lon = float(customers.home_lat[index]), float(customers.home_lon[index])
    return float(haversine_km(lat, lon, port.lat, port.lon))


def home_zone(customers: Customers, index: int) -> ZoneInfo:
    return ZoneInfo(HOME_CITIES[int(customers.home_city[index])].timezone)


def offer_context(
    decision: OfferDecision,
    campaign: Campaign,
    customers: Customers,
    index: int,
    route: int,
    sailing: Sailing,
) -> OfferContext:
    """The situation of the offer for the ground-truth model (see the module's notes);
    ``route`` is the position of the sailing's route among the world's routes."""
    received = received_at(decision)
    percent, euros = offer_worth(campaign.offer)
    searched, quoted = intent_of(decision.trigger)
    channel = decision.channel.value if decision.channel is not None else CHANNELS[0]
    hours = (sailing.departure - received).total_seconds() / 3600.0
    return OfferContext(
        route=route,
        discount_pct=percent,
        discount_eur=euros,
        fare_eur=sailing.fare_eur,
        hours_to_departure=max(hours, 0.0),
        distance_km=distance_km(customers, index, sailing.origin, decision.trigger),
        recently_searched=searched,
        recently_quoted=quoted,
        channel=CHANNELS.index(channel),
        local_hour=received.astimezone(home_zone(customers, index)).hour,
        month=sailing.departure.month,
    )


@dataclass(frozen=True, slots=True)
class Reaction:
    """What the customer of one decision does, before any of it is carried out."""

    uplift: float
    """The true uplift of the offer in its situation: the chance it causes a booking."""
    stopped: bool
    caused: bool
    clicked: bool
    booked_at: datetime
    """When a booking caused by the offer is made (meaningful when ``caused``)."""
    sailing: Sailing


def react(
    decision: OfferDecision,
    campaign: Campaign,
    customers: Customers,
    index: int,
    routes: tuple[Route, ...],
    rates: ReactionRates,
) -> Reaction:
    """Draws what customer ``index`` does with the offer of ``decision``.

    An SMS recipient first replies STOP with probability ``stop_rate`` and then does
    nothing else. Otherwise the offer causes a booking with probability equal to its true
    uplift (the customer clicks, redeems and books), or the customer only clicks, with
    probability ``click_rate``.
    """
    draws = draws_for(rates.seed, decision.decision_id, rates.mean_booking_delay)
    received = received_at(decision)
    booked_at = booking_time(received, draws.delay, decision.expires_at)
    sailing = offered_sailing(decision, campaign.offer, routes, booked_at)
    if sailing is None:
        route = offer_route(campaign.offer, customers, index, routes, decision.route_id)
        sailing = sailing_after(routes[route], booked_at + draws.ahead)
    route = next(r for r, known in enumerate(routes) if known.route_id == sailing.route_id)
    context = offer_context(decision, campaign, customers, index, route, sailing)
    uplift = true_uplift(ResponseTraits.of(customers, index), context)
    channel = decision.channel.value if decision.channel is not None else None
    stopped = channel == "sms" and draws.stop < rates.stop_rate
    caused = not stopped and draws.cause < uplift
    clicked = caused or (not stopped and draws.click < rates.click_rate)
    return Reaction(uplift, stopped, caused, clicked, booked_at, sailing)
