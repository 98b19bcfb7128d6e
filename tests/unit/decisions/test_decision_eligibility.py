"""Eligibility: each reason flips an otherwise eligible situation, in a fixed order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offers.campaigns import FEATURE_TYPES, CampaignStatus, Trigger
from offers.contracts.events import Channel, Language
from streams.decisions.eligibility import (
    CustomerContext,
    Ineligible,
    SailingRows,
    check,
    eligible_channels,
    places_of,
    target_sailing,
)
from tests.unit.campaigns.factories import nested
from tests.unit.decisions.decision_factories import (
    PISA,
    ROUTE,
    SAILING,
    Situation,
    active_campaign,
    at,
    customer,
    every_language_templates,
    guarded,
    hit,
    quote_hit,
    sailing_row,
)

BASE = Situation()
MAX_AGE_S = 600
"""max_position_age_s of the default campaign."""


def test_the_default_situation_is_eligible() -> None:
    assert BASE.check() is None
    assert BASE.but(hit=quote_hit()).check() is None


EVENING = timedelta(hours=8, minutes=30)
"""From NOW (12:00 UTC) to 20:30 UTC: 22:30 in Rome, after the campaign's hours."""


def _later(s: Situation, by: timedelta) -> Situation:
    return s.but(now=s.now + by, hit=replace(s.hit, at=s.hit.at + by))


FLIPS: dict[Ineligible, Callable[[Situation], Situation]] = {
    Ineligible.NOT_ACTIVE: lambda s: s.but(
        campaign=s.campaign.model_copy(update={"status": CampaignStatus.PAUSED})
    ),
    Ineligible.TRIGGER_NOT_TARGETED: lambda s: s.but(hit=replace(s.hit, trigger=Trigger.SEARCH)),
    Ineligible.STALE_TRIGGER: lambda s: s.but(
        hit=replace(s.hit, at=s.now - timedelta(seconds=MAX_AGE_S + 1))
    ),
    Ineligible.BUDGET_EXHAUSTED: lambda s: s.but(sends=50_000),
    Ineligible.LANGUAGE: lambda s: s.but(customer=replace(s.customer, language=Language.DE)),
    Ineligible.NO_CONSENT: lambda s: s.but(
        customer=replace(s.customer, consented=frozenset({Channel.PUSH}))
    ),
    Ineligible.OFFER_NOT_APPLICABLE: lambda s: s.but(hit=replace(s.hit, route_id="GOA-OLB")),
    Ineligible.OUTSIDE_SCHEDULE: lambda s: _later(s, EVENING),
    Ineligible.SEGMENT: lambda s: s.but(
        customer=replace(s.customer, features={"bookings_total": 0, "language": "it"})
    ),
    Ineligible.OUTSIDE_GEOFENCE: lambda s: s.but(hit=replace(s.hit, port="GOA")),
    Ineligible.SOCIAL_ALERT: lambda s: s.but(
        campaign=guarded(s.campaign), alerts=frozenset({"port:LIV"})
    ),
    Ineligible.NO_INVENTORY: lambda s: s.but(sailings={SAILING: sailing_row(seats=0)}),
}
"""For each reason, the one change that makes an eligible situation fail it (and only it)."""


@pytest.mark.parametrize("reason", list(Ineligible))
def test_each_condition_alone_makes_the_campaign_ineligible(reason: Ineligible) -> None:
    assert FLIPS[reason](BASE).check() is reason


def test_the_first_failing_check_in_the_documented_order_is_reported() -> None:
    order = list(Ineligible)
    for i, first in enumerate(order):
        situation = BASE
        for later in reversed(order[i:]):
            situation = FLIPS[later](situation)
        assert situation.check() is first, f"with {[r.value for r in order[i:]]} failing"


# stale triggers and geofences ----------------------------------------------------------


def test_a_position_exactly_max_age_old_is_fresh_and_one_second_older_is_stale() -> None:
    assert BASE.but(hit=hit(seconds=-MAX_AGE_S)).check() is None
    assert BASE.but(hit=hit(seconds=-(MAX_AGE_S + 1))).check() is Ineligible.STALE_TRIGGER
    later = BASE.but(hit=hit(seconds=-60), now=at(MAX_AGE_S - 60 + 1))
    assert later.check() is Ineligible.STALE_TRIGGER


def test_only_geofence_hits_go_stale() -> None:
    assert BASE.but(hit=quote_hit(), now=at(4 * 3600)).check() is None


def test_a_polygon_matches_the_last_known_position_border_included() -> None:
    elsewhere = hit(port="GOA")
    inside = BASE.but(hit=elsewhere, customer=customer(position=PISA))
    assert inside.check() is None
    on_border = BASE.but(hit=elsewhere, customer=customer(position=(43.70, 10.40)))
    assert on_border.check() is None
    corner = BASE.but(hit=elsewhere, customer=customer(position=(43.73, 10.42)))
    assert corner.check() is None
    outside = BASE.but(hit=elsewhere, customer=customer(position=(43.6999, 10.40)))
    assert outside.check() is Ineligible.OUTSIDE_GEOFENCE
    unknown = BASE.but(hit=elsewhere, customer=customer(position=None))
    assert unknown.check() is Ineligible.OUTSIDE_GEOFENCE


def test_the_entered_port_matches_a_port_geofence_wherever_the_position() -> None:
    assert BASE.but(customer=customer(position=None)).check() is None
    assert BASE.but(customer=customer(position=(40.0, 9.0))).check() is None


# schedule in local time -----------------------------------------------------------------

SUMMER_EVENING = datetime(2025, 7, 15, 20, 30, tzinfo=UTC)
"""22:30 in Rome (UTC+2), 20:30 in the Azores (UTC+0 in summer)."""


def evening(zone: str, moment: datetime = SUMMER_EVENING) -> Situation:
    fresh = hit(when=moment - timedelta(seconds=60))
    sailings = {SAILING: sailing_row(departs=moment + timedelta(days=1))}
    return BASE.but(now=moment, hit=fresh, customer=customer(zone=zone), sailings=sailings)


def test_hours_are_the_recipients_local_hours() -> None:
    assert evening("Europe/Rome").check() is Ineligible.OUTSIDE_SCHEDULE
    assert evening("Atlantic/Azores").check() is None
    assert evening("Europe/Rome", SUMMER_EVENING - timedelta(hours=2)).check() is None
    last_minute = datetime(2025, 7, 15, 18, 59, tzinfo=UTC)  # 20:59 in Rome
    assert evening("Europe/Rome", last_minute).check() is None
    closing = datetime(2025, 7, 15, 19, 0, tzinfo=UTC)  # 21:00 in Rome: end excluded
    assert evening("Europe/Rome", closing).check() is Ineligible.OUTSIDE_SCHEDULE


# segment, language, consent ------------------------------------------------------------


def test_a_missing_or_null_feature_fails_the_segment() -> None:
    for features in ({"language": "it"}, {"bookings_total": None, "language": "it"}, {}):
        assert BASE.but(customer=customer(features=features)).check() is Ineligible.SEGMENT


def test_a_feature_that_cannot_be_compared_fails_the_segment_without_raising() -> None:
    odd = {"bookings_total": "two", "language": ["it"]}
    assert BASE.but(customer=customer(features=odd)).check() is Ineligible.SEGMENT


def test_an_unknown_language_is_refused_only_when_languages_are_listed() -> None:
    unknown = customer(language=None)
    assert BASE.but(customer=unknown).check() is Ineligible.LANGUAGE
    anyone = active_campaign(
        targeting=nested("targeting", languages=[]), templates=every_language_templates()
    )
    assert BASE.but(customer=unknown, campaign=anyone).check() is None


def test_eligible_channels_follow_the_campaign_order() -> None:
    campaign = active_campaign()
    both = customer(consented=frozenset({Channel.WHATSAPP, Channel.PUSH, Channel.SMS}))
    assert eligible_channels(campaign, both) == (Channel.SMS, Channel.WHATSAPP)
    assert eligible_channels(campaign, customer(consented=frozenset())) == ()


# offer and inventory -------------------------------------------------------------------


def test_a_route_without_sailing_applies_when_the_offer_names_one_of_its_sailings() -> None:
    by_sailing = active_campaign(
        offer=nested("offer", route_ids=[], sailing_ids=["GOA-OLB-1"]),
    )
    goa = {"GOA-OLB-1": sailing_row("GOA-OLB-1", route="GOA-OLB")}
    situation = BASE.but(campaign=by_sailing, sailings=goa)
    assert situation.but(hit=quote_hit(route="GOA-OLB", sailing=None)).check() is None
    assert situation.but(hit=quote_hit(route="GOA-OLB", sailing="GOA-OLB-1")).check() is None
    assert situation.but(hit=quote_hit(route="GOA-OLB", sailing="GOA-OLB-2")).check() is (
        Ineligible.OFFER_NOT_APPLICABLE
    )
    assert situation.but(hit=quote_hit(route=ROUTE, sailing=None)).check() is (
        Ineligible.OFFER_NOT_APPLICABLE
    )


def test_the_target_sailing_needs_seats_and_a_future_departure() -> None:
    quote = BASE.but(hit=quote_hit())
    assert quote.check() is None
    assert quote.but(sailings={SAILING: sailing_row(seats=1)}).check() is None
    for row in (sailing_row(seats=0), sailing_row(departs=BASE.now), {"route_id": ROUTE}):
        assert quote.but(sailings={SAILING: row}).check() is Ineligible.NO_INVENTORY
    assert quote.but(sailings={}).check() is Ineligible.NO_INVENTORY


def test_without_a_sailing_an_upcoming_sailing_of_an_applicable_route_needs_seats() -> None:
    elsewhere = {"GOA-OLB-1": sailing_row("GOA-OLB-1", route="GOA-OLB", seats=300)}
    departed = sailing_row("OLB-LIV-1", route="OLB-LIV", departs=at(-3600))
    full = {SAILING: sailing_row(seats=0), "OLB-LIV-1": departed}
    assert BASE.but(sailings=full | elsewhere).check() is Ineligible.NO_INVENTORY
    back = {"OLB-LIV-2": sailing_row("OLB-LIV-2", route="OLB-LIV")}
    assert BASE.but(sailings=full | back).check() is None
    search = active_campaign(targeting=nested("targeting", triggers=["search"], geofences=[]))
    on_route = BASE.but(campaign=search, hit=hit(Trigger.SEARCH, port=None, route=ROUTE))
    assert on_route.but(sailings=full | back).check() is Ineligible.NO_INVENTORY
    assert on_route.check() is None


def test_budget_counts_sends_and_no_limit_never_exhausts() -> None:
    assert BASE.but(sends=49_999).check() is None
    unlimited = active_campaign(budget={"max_redemptions": 10})
    assert BASE.but(campaign=unlimited, sends=10**9).check() is None


# inputs --------------------------------------------------------------------------------


def test_bad_inputs_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="zone"):
        customer(zone="Europe/Atlantis")
    with pytest.raises(ValueError, match="zone"):
        customer(zone="")
    with pytest.raises(ValueError, match="now"):
        BASE.but(now=BASE.now.replace(tzinfo=None)).check()
    with pytest.raises(ValueError, match="hit"):
        BASE.but(hit=hit(customer="cust-2")).check()


CAMPAIGNS = (
    active_campaign(),
    active_campaign(
        offer=nested("offer", route_ids=[], all_routes=True),
        targeting=nested(
            "targeting",
            triggers=[t.value for t in Trigger],
            languages=[],
            segment_rules=[
                {"feature": "interest_tags", "op": "contains", "value": "beach"},
                {"feature": "sentiment_7d", "op": "gt", "value": 0.2},
                {"feature": "route_counts_24h", "op": "contains", "value": 2},
            ],
        ),
        templates=every_language_templates(),
    ),
    active_campaign(
        offer=nested("offer", route_ids=[], sailing_ids=[SAILING, "GOA-OLB-1"]),
        targeting=nested("targeting", triggers=["search", "fare_drop"], geofences=[]),
    ),
)

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.lists(st.one_of(st.integers(), st.text(max_size=3), st.floats()), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
_IDS = st.sampled_from([SAILING, "GOA-OLB-1", "OLB-LIV-1", "nowhere"])
_ROWS = st.dictionaries(
    _IDS,
    st.dictionaries(
        st.sampled_from(["route_id", "seats_left", "departure_ts", "sailing_id"]),
        st.one_of(_VALUES, st.sampled_from([ROUTE, "GOA-OLB", "OLB-LIV"])),
    ),
    max_size=4,
)
_MOMENTS = st.integers(-400 * 86_400, 400 * 86_400).map(lambda s: at(s))


@st.composite
def _situations(draw: st.DrawFn) -> Situation:
    someone = CustomerContext(
        customer_id="cust-1",
        zone=draw(st.sampled_from(["Europe/Rome", "UTC", "Pacific/Kiritimati", "America/Adak"])),
        language=draw(st.none() | st.sampled_from(Language)),
        features=draw(st.dictionaries(st.sampled_from([*FEATURE_TYPES, "other"]), _VALUES)),
        position=draw(st.none() | st.tuples(st.floats(), st.floats())),
        consented=draw(st.frozensets(st.sampled_from(Channel))),
    )
    trigger_hit = hit(
        draw(st.sampled_from(Trigger)),
        seconds=draw(st.integers(-(10**6), 10**6)),
        port=draw(st.none() | st.sampled_from(["LIV", "GOA", "XYZ"])),
        route=draw(st.none() | st.sampled_from([ROUTE, "GOA-OLB", "nowhere"])),
        sailing=draw(st.none() | _IDS),
    )
    return Situation(
        campaign=draw(st.sampled_from(CAMPAIGNS)),
        hit=trigger_hit,
        customer=someone,
        now=draw(_MOMENTS),
        sailings=draw(_ROWS),
        sends=draw(st.integers(-1, 10**9)),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_situations())
def test_check_never_raises_and_answers_a_reason_or_none(situation: Situation) -> None:
    result: Any = check(
        situation.campaign,
        situation.hit,
        situation.customer,
        now=situation.now,
        sailings=situation.sailings,
        sends=situation.sends,
    )
    assert result is None or isinstance(result, Ineligible)
    if result is None:
        assert eligible_channels(situation.campaign, situation.customer)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_situations())
def test_rows_indexed_by_route_answer_as_the_plain_rows_do(situation: Situation) -> None:
    indexed = SailingRows(situation.sailings)
    plain_check, indexed_check = (
        check(
            situation.campaign,
            situation.hit,
            situation.customer,
            now=situation.now,
            sailings=rows,
            sends=situation.sends,
        )
        for rows in (situation.sailings, indexed)
    )
    assert indexed == situation.sailings
    assert indexed_check == plain_check
    offer, trigger_hit = situation.campaign.offer, situation.hit
    assert target_sailing(offer, trigger_hit, indexed, situation.now) == target_sailing(
        offer, trigger_hit, situation.sailings, situation.now
    )


# social alerts ---------------------------------------------------------------------------

GUARDED = BASE.but(campaign=guarded(BASE.campaign))
"""The default situation, its campaign opted in to pause on social alerts."""


@pytest.mark.parametrize(
    "subject",
    ["port:LIV", "port:OLB", "route:LIV-OLB"],
    ids=["entered-port", "arrival-port", "route"],
)
def test_an_open_alert_on_the_port_or_route_pauses_an_opted_in_campaign(subject: str) -> None:
    alerted = frozenset({subject})
    assert GUARDED.but(alerts=alerted).check() is Ineligible.SOCIAL_ALERT
    assert GUARDED.but(alerts=alerted, hit=quote_hit()).check() is Ineligible.SOCIAL_ALERT
    assert BASE.but(alerts=alerted).check() is None


def test_a_campaign_that_does_not_opt_in_keeps_sending_under_an_alert() -> None:
    assert BASE.campaign.guardrails.pause_on_social_alerts is False
    assert BASE.but(alerts=frozenset({"route:LIV-OLB", "port:LIV"})).check() is None


def test_alerts_on_other_routes_and_ports_change_nothing() -> None:
    elsewhere = frozenset({"route:GOA-PTO", "port:GOA", "port:PTO", "route:OLB-CIV"})
    assert GUARDED.but(alerts=elsewhere).check() is None
    assert GUARDED.but(alerts=elsewhere, hit=quote_hit()).check() is None


def test_the_alert_matches_the_target_sailing_of_a_hit_without_a_route() -> None:
    # a social mention names no route: its offer is about the soonest sailing, LIV-OLB
    mention = hit(Trigger.POSITIVE_SOCIAL_MENTION, port=None)
    campaign = guarded(
        BASE.campaign.model_copy(
            update={
                "targeting": BASE.campaign.targeting.model_copy(
                    update={"triggers": (Trigger.POSITIVE_SOCIAL_MENTION,), "geofences": ()}
                )
            }
        )
    )
    social = GUARDED.but(campaign=campaign, hit=mention)
    assert social.check() is None
    assert social.but(alerts=frozenset({"route:LIV-OLB"})).check() is Ineligible.SOCIAL_ALERT
    assert social.but(alerts=frozenset({"port:OLB"})).check() is Ineligible.SOCIAL_ALERT
    assert social.but(alerts=frozenset({"route:GOA-OLB"})).check() is None


def test_the_pause_lifts_once_the_alert_is_closed() -> None:
    """The open subjects are what the alerts topic holds open: a closed alert is gone."""
    during = GUARDED.but(alerts=frozenset({"route:LIV-OLB"}))
    assert during.check() is Ineligible.SOCIAL_ALERT
    assert during.but(alerts=frozenset()).check() is None


def test_places_of_a_decision() -> None:
    rows = {SAILING: sailing_row()}
    assert places_of(quote_hit(), None, rows) == {"route:LIV-OLB", "port:LIV", "port:OLB"}
    assert places_of(hit(port="GOA"), None, {}) == {"port:GOA"}
    assert places_of(hit(port="GOA"), SAILING, rows) == {
        "port:GOA",
        "port:LIV",
        "port:OLB",
        "route:LIV-OLB",
    }
    assert places_of(hit(port=None), "unknown", rows) == frozenset()
