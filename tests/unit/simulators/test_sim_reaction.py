"""How a simulated customer meets an offer: links, timing, the rebuilt situation, the
sailing booked, and draws that follow the ground-truth uplift."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from simulators.customers import CHANNELS
from simulators.ports import HOME_CITIES
from simulators.reaction import (
    ReactionRates,
    booking_time,
    draws_for,
    find_offer_link,
    intent_of,
    offer_context,
    offer_route,
    offered_sailing,
    react,
    received_at,
    sailing_after,
)
from simulators.response import ResponseTraits, offer_worth, true_uplift
from simulators.routes import all_routes
from simulators.sailings import build_schedule, seasonal_fare_of
from tests.unit.simulators.offer_factories import T0, campaign, customers, decision, offer_link

ROUTES = all_routes()
LIV_OLB = next(r for r, route in enumerate(ROUTES) if route.route_id == "LIV-OLB")


# --- links and timing ---------------------------------------------------------------------


def test_the_offer_link_names_the_decision() -> None:
    offer = decision(1)
    link = find_offer_link(f"Ciao!\n{offer_link(offer)}")
    assert link is not None
    assert link.url == offer_link(offer)
    assert link.decision_id == offer.decision_id
    assert link.token == link.url.rsplit("/r/", 1)[1]


@pytest.mark.parametrize(
    ("body", "decision_id"),
    [
        ("Vai su https://x.test/offerte/r/dec.1.2.AAAA. Grazie", "dec.1"),
        ('template t (it): [{"text": "https://x.test/r/d-9.17.sig"}]', "d-9"),
        ("https://x.test/r/first.1.a then https://x.test/r/second.2.b", "second"),
    ],
)
def test_links_are_found_in_any_text(body: str, decision_id: str) -> None:
    link = find_offer_link(body)
    assert link is not None and link.decision_id == decision_id


@pytest.mark.parametrize(
    "body",
    ["Sei stato disiscritto.", "https://x.test/r/", "https://x.test/r/no-dots", "/r/a.1.b"],
)
def test_messages_without_an_offer_link(body: str) -> None:
    assert find_offer_link(body) is None


def test_an_offer_held_for_quiet_hours_arrives_when_they_end() -> None:
    assert received_at(decision(1)) == T0
    later = T0 + timedelta(hours=9)
    assert received_at(decision(1, send_at=later)) == later


def test_bookings_wait_the_delay_but_not_past_six_days_or_the_expiry() -> None:
    expiry = T0 + timedelta(days=2)
    assert booking_time(T0, timedelta(hours=3), expiry) == T0 + timedelta(hours=3)
    assert booking_time(T0, timedelta(days=3), expiry) == expiry - timedelta(seconds=1)
    assert booking_time(T0, timedelta(days=9), None) == T0 + timedelta(days=6)
    assert booking_time(T0, timedelta(hours=1), T0 - timedelta(hours=1)) == T0


# --- the situation ------------------------------------------------------------------------


def test_sailings_are_the_worlds() -> None:
    schedule = build_schedule(ROUTES, date(2026, 7, 1), date(2026, 7, 20), seed=3)
    fares = dict(zip(schedule.sailing_ids, schedule.seasonal_fare, strict=True))
    for route in ROUTES:
        sailing = sailing_after(route, T0 + timedelta(days=3, minutes=17))
        assert sailing.sailing_id in fares
        assert sailing.fare_eur == pytest.approx(fares[sailing.sailing_id])
        assert sailing.departure >= T0 + timedelta(days=3, minutes=17)
        assert sailing.route_id == route.route_id and sailing.origin == route.origin


def test_a_route_without_winter_service_sails_in_spring() -> None:
    route = next(route for route in ROUTES if route.route_id == "GOA-BAS")
    sailing = sailing_after(route, datetime(2026, 1, 10, tzinfo=UTC))
    assert sailing.departure.month == 4


def test_the_offer_names_the_route_or_the_customer_prefers_one() -> None:
    people = customers()
    assert offer_route(campaign().offer, people, 0, ROUTES) == LIV_OLB
    by_sailing = campaign(route_ids=[], sailing_ids=["OLB-LIV-20260710-2130"]).offer
    assert ROUTES[offer_route(by_sailing, people, 0, ROUTES)].route_id == "OLB-LIV"
    anywhere = campaign(route_ids=[], all_routes=True).offer
    assert offer_route(anywhere, people, 7, ROUTES) == int(people.favourite_routes[7, 0])
    searched = offer_route(anywhere, people, 7, ROUTES, "PIO-PFE")
    assert ROUTES[searched].route_id == "PIO-PFE"


def test_a_booking_takes_the_sailing_the_offer_is_about_while_it_has_not_left() -> None:
    anywhere = campaign(route_ids=[], all_routes=True).offer
    about = decision(1).model_copy(update={"sailing_id": "LIV-OLB-20260710-2130"})
    booked_at = datetime(2026, 7, 9, 12, 0, tzinfo=UTC)
    sailing = offered_sailing(about, anywhere, ROUTES, booked_at)
    assert sailing is not None
    assert (sailing.route_id, sailing.origin) == ("LIV-OLB", "LIV")
    assert sailing.departure == datetime(2026, 7, 10, 19, 30, tzinfo=UTC)  # 21:30 in Livorno
    assert sailing.fare_eur == seasonal_fare_of(ROUTES[LIV_OLB], date(2026, 7, 10))
    assert offered_sailing(about, anywhere, ROUTES, sailing.departure) is None  # left
    elsewhere = campaign(route_ids=["GOA-OLB"]).offer
    assert offered_sailing(about, elsewhere, ROUTES, booked_at) is None  # not valid on it
    assert offered_sailing(decision(2), anywhere, ROUTES, booked_at) is None  # none named


@pytest.mark.parametrize(
    ("offer", "value"),
    [
        ({"percent": 25}, (25.0, 0.0)),
        ({"kind": "fixed_discount", "percent": None, "amount_eur": 15.0}, (0.0, 15.0)),
        # what the customer gets from a voucher or an upgrade, as a EUR discount
        ({"kind": "onboard_voucher", "percent": None, "amount_eur": 10.0}, (0.0, 5.0)),
        ({"kind": "upgrade", "percent": None, "upgrade": "cabin"}, (0.0, 45.0)),
    ],
)
def test_offers_are_worth_to_the_ground_truth_what_they_give(
    offer: dict[str, Any], value: tuple[float, float]
) -> None:
    assert offer_worth(campaign(**offer).offer) == value


@pytest.mark.parametrize(
    ("trigger", "intent"),
    [
        ("abandoned_quote", (True, True)),
        ("search", (True, False)),
        ("fare_drop", (True, False)),
        ("capacity_released", (True, False)),
        ("geofence_enter", (False, False)),
        ("positive_social_mention", (False, False)),
    ],
)
def test_intent_follows_the_trigger(trigger: str, intent: tuple[bool, bool]) -> None:
    assert intent_of(trigger) == intent


def test_the_context_of_an_offer() -> None:
    people = customers()
    offer = decision(3, channel="whatsapp", trigger="geofence_enter")
    sailing = sailing_after(ROUTES[LIV_OLB], T0 + timedelta(days=4))
    context = offer_context(offer, campaign(), people, 3, LIV_OLB, sailing)
    assert context.route == LIV_OLB
    assert (context.discount_pct, context.discount_eur) == (40.0, 0.0)
    assert context.fare_eur == sailing.fare_eur
    assert context.channel == CHANNELS.index("whatsapp")
    assert context.distance_km == 2.5  # at Livorno's geofence
    assert context.month == sailing.departure.month
    hours = (sailing.departure - T0).total_seconds() / 3600
    assert context.hours_to_departure == pytest.approx(hours)
    zone = ZoneInfo(HOME_CITIES[int(people.home_city[3])].timezone)
    assert context.local_hour == T0.astimezone(zone).hour
    searched_far = offer_context(decision(3), campaign(), people, 3, LIV_OLB, sailing)
    assert float(searched_far.distance_km) > 10 and searched_far.recently_quoted


# --- draws ----------------------------------------------------------------------------------


def test_draws_depend_on_the_seed_and_the_decision_only() -> None:
    mean = timedelta(hours=3)
    assert draws_for(1, "dec-1", mean) == draws_for(1, "dec-1", mean)
    assert draws_for(1, "dec-1", mean) != draws_for(2, "dec-1", mean)
    assert draws_for(1, "dec-1", mean) != draws_for(1, "dec-2", mean)
    delays = [draws_for(0, f"d{n}", mean).delay.total_seconds() for n in range(4000)]
    assert np.mean(delays) / 3600 == pytest.approx(3.0, rel=0.1)


def test_outcomes_follow_the_true_uplift_over_many_draws() -> None:
    people = customers()
    offer_campaign = campaign()
    rates = ReactionRates(seed=5, click_rate=0.2, stop_rate=0.1)
    uplifts, caused, clicked_only, plain, stopped = [], 0, 0, 0, 0
    for n in range(6000):
        channel = CHANNELS[1 + n % 3]  # whatsapp, sms, messenger
        offer = decision(n, channel=channel)
        reaction = react(offer, offer_campaign, people, n % 500, ROUTES, rates)
        stopped += reaction.stopped
        if reaction.stopped:
            assert channel == "sms" and not (reaction.caused or reaction.clicked)
            continue
        uplifts.append(reaction.uplift)
        caused += reaction.caused
        if not reaction.caused:
            plain += 1
            clicked_only += reaction.clicked
    expected = sum(uplifts)
    spread = math.sqrt(sum(u * (1 - u) for u in uplifts))
    assert expected > 100  # enough signal for the check to mean something
    assert abs(caused - expected) < 4 * spread + 1
    assert abs(clicked_only / plain - 0.2) < 4 * math.sqrt(0.2 * 0.8 / plain)
    assert abs(stopped / 2000 - 0.1) < 4 * math.sqrt(0.1 * 0.9 / 2000)


def test_the_uplift_drawn_against_is_the_models() -> None:
    people = customers()
    offer = decision(8)
    rates = ReactionRates(seed=1)
    reaction = react(offer, campaign(), people, 8, ROUTES, rates)
    context = offer_context(offer, campaign(), people, 8, LIV_OLB, reaction.sailing)
    assert reaction.uplift == true_uplift(ResponseTraits.of(people, 8), context)
    assert reaction.sailing.departure > reaction.booked_at >= received_at(offer)


@pytest.mark.parametrize(
    "rates",
    [{"click_rate": 1.5}, {"stop_rate": -0.1}, {"mean_booking_delay": timedelta(0)}],
)
def test_rates_are_checked(rates: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ReactionRates(**rates)  # type: ignore[arg-type]
