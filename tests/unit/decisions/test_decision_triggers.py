"""Triggers: geofence entries, searches, abandoned quotes, positive mentions, and the
fare drops and capacity releases of sailings fanned out to customers."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from offers.campaigns import Trigger
from offers.contracts.events import BookingEvent
from streams.decisions.triggers import (
    MAX_BOOKINGS_PER_ROUTE,
    MAX_PENDING_QUOTES,
    QuoteWatch,
    SailingSignal,
    TriggerHit,
    fan_out,
    from_booking,
    from_geofence,
    from_sailing,
    from_social,
)
from streams.features.sailing import State, apply, row
from streams.features.sentiment import sentiment
from tests.unit.decisions.decision_factories import (
    CUSTOMER,
    ROUTE,
    SAILING,
    at,
    booking,
    geofence,
    post,
    sailing_update,
)

WINDOW_S = 30 * 60
LATER = at(10 * 86_400)
"""Long after every quote of these tests is due."""


# geofence, search, social ---------------------------------------------------------------


def test_entering_a_geofence_is_a_hit_at_the_ping_time_and_leaving_is_none() -> None:
    entered = geofence("enter", seconds=-60, port="LIV")
    assert from_geofence(entered) == TriggerHit(
        Trigger.GEOFENCE_ENTER, entered.event_id, CUSTOMER, at(-60), port="LIV"
    )
    assert from_geofence(geofence("exit")) is None


def test_a_search_is_a_hit_on_its_route_and_other_steps_are_none() -> None:
    search = booking(0, "search")
    assert from_booking(search) == TriggerHit(
        Trigger.SEARCH, search.event_id, CUSTOMER, at(0), route_id=ROUTE
    )
    for action in ("quote", "book", "cancel"):
        assert from_booking(booking(0, action)) is None


def test_a_positive_post_naming_the_brand_is_a_mention() -> None:
    happy = post("Lovely crossing, great crew, on time!")
    found = from_social(happy)
    assert found == TriggerHit(
        Trigger.POSITIVE_SOCIAL_MENTION, happy.event_id, CUSTOMER, happy.event_time
    )
    assert from_social(post("Lovely crossing, great crew", brands=())) is None
    assert from_social(post("Late again, awful and dirty")) is None
    assert from_social(post("Nothing to say about it")) is None


def test_the_sentiment_threshold_is_inclusive() -> None:
    mixed = post("great lovely but late")
    score = sentiment(mixed.text, "en")
    assert 0.3 < score < 1.0
    assert from_social(mixed, threshold=score) is not None
    assert from_social(mixed, threshold=score + 1e-6) is None
    assert from_social(post("Ottimo viaggio, personale gentile", language="it")) is not None


def test_a_positive_post_naming_a_destination_is_a_mention_about_it() -> None:
    route = post("Lovely crossing from Livorno to Olbia, great crew!", brands=())
    assert from_social(route) == TriggerHit(
        Trigger.POSITIVE_SOCIAL_MENTION,
        route.event_id,
        CUSTOMER,
        route.event_time,
        port="LIV",
        route_id="LIV-OLB",
    )
    port = post("Back in Olbia soon, lovely place, great holidays!", brands=())
    found = from_social(port)
    assert found is not None and (found.port, found.route_id) == ("OLB", None)
    island = from_social(post("Sardinia is wonderful, great holiday", brands=()))
    assert island is not None and (island.port, island.route_id) == (None, None)
    branded = from_social(post("Ferry to Bastia was great, lovely staff"))
    assert branded is not None and branded.port == "BAS"


def test_a_post_naming_a_destination_without_enough_sentiment_is_none() -> None:
    assert from_social(post("Livorno to Olbia: awful, late and dirty", brands=())) is None
    assert from_social(post("Ferry from Livorno to Olbia", brands=())) is None


def test_a_hit_needs_an_aware_time_and_keeps_it_in_utc() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TriggerHit(Trigger.SEARCH, "e", CUSTOMER, at(0).replace(tzinfo=None))
    rome = at(0).astimezone(ZoneInfo("Europe/Rome"))
    assert TriggerHit(Trigger.SEARCH, "e", CUSTOMER, rome).at.utcoffset() == timedelta(0)


# abandoned quotes -----------------------------------------------------------------------


def watch_of(*events: BookingEvent, max_pending: int = MAX_PENDING_QUOTES) -> QuoteWatch:
    watch = QuoteWatch(CUSTOMER, max_pending=max_pending)
    for event in events:
        watch.observe(event)
    return watch


def test_a_quote_booked_one_second_before_the_window_ends_is_not_abandoned() -> None:
    watch = watch_of(booking(0, "quote"), booking(WINDOW_S - 1, "book"))
    assert watch.due(LATER) == []


def test_a_quote_booked_when_the_window_ends_is_abandoned_at_that_moment() -> None:
    quote = booking(0, "quote")
    watch = watch_of(quote, booking(WINDOW_S, "book"))
    assert watch.due(at(WINDOW_S - 1)) == []
    assert watch.due(at(WINDOW_S)) == [
        TriggerHit(
            Trigger.ABANDONED_QUOTE,
            quote.event_id,
            CUSTOMER,
            at(0),
            route_id=ROUTE,
            sailing_id=quote.sailing_id,
        )
    ]


def test_an_abandoned_quote_is_returned_once_even_if_it_comes_again() -> None:
    quote = booking(0, "quote")
    watch = watch_of(quote)
    assert watch.next_due() == at(WINDOW_S)
    assert len(watch.due(at(WINDOW_S))) == 1
    assert watch.due(LATER) == [] and watch.next_due() is None
    watch.observe(quote)
    assert watch.due(LATER) == []


def test_a_later_quote_replaces_the_pending_one_and_an_earlier_one_is_ignored() -> None:
    first, second = booking(0, "quote"), booking(600, "quote")
    for order in ((first, second), (second, first)):
        watch = watch_of(*order)
        assert watch.due(at(WINDOW_S)) == []
        assert [h.source_event_id for h in watch.due(at(600 + WINDOW_S))] == [second.event_id]


def test_a_booking_that_arrives_before_its_quote_settles_it() -> None:
    watch = watch_of(booking(900, "book"), booking(0, "quote"))
    assert watch.due(LATER) == []


def test_a_booking_before_the_quote_or_on_another_route_does_not_settle_it() -> None:
    watch = watch_of(
        booking(-100, "book"),
        booking(0, "quote"),
        booking(60, "book", route="OLB-LIV"),
        booking(-50, "book"),
        booking(120, "search"),
        booking(130, "cancel"),
    )
    assert [h.route_id for h in watch.due(LATER)] == [ROUTE]


def test_quotes_of_several_routes_are_due_oldest_first() -> None:
    watch = watch_of(booking(100, "quote", route="OLB-LIV"), booking(0, "quote"))
    assert [h.route_id for h in watch.due(LATER)] == [ROUTE, "OLB-LIV"]


def test_at_most_max_pending_quotes_are_kept_and_the_oldest_is_dropped() -> None:
    routes = ["LIV-OLB", "OLB-LIV", "GOA-OLB", "OLB-GOA"]
    watch = watch_of(
        *(booking(60 * i, "quote", route=r) for i, r in enumerate(routes)), max_pending=3
    )
    assert len(watch.routes) == 3
    assert [h.route_id for h in watch.due(LATER)] == routes[1:]


def test_the_state_survives_json_and_the_settings_are_not_stored() -> None:
    watch = watch_of(booking(0, "quote"), booking(60, "quote", route="OLB-LIV"))
    watch.observe(booking(120, "book", route="OLB-LIV"))
    watch.observe(booking(5000, "book", route="GOA-OLB"))
    data = json.loads(json.dumps(watch.to_dict()))
    assert QuoteWatch.from_dict(data) == watch
    shorter = QuoteWatch.from_dict(data, window=timedelta(minutes=10))
    assert [h.route_id for h in shorter.due(at(600))] == [ROUTE]
    smaller = QuoteWatch.from_dict(data, max_pending=2)
    assert sorted(smaller.routes) == ["GOA-OLB", "OLB-LIV"]


def test_a_watch_refuses_another_customers_event_and_bad_settings() -> None:
    with pytest.raises(ValueError, match="customer_id"):
        watch_of(booking(0, "quote", customer="cust-2"))
    with pytest.raises(ValueError, match="window"):
        QuoteWatch(CUSTOMER, window=timedelta(0))
    with pytest.raises(ValueError, match="max_pending"):
        QuoteWatch(CUSTOMER, max_pending=0)


_STEP = st.tuples(
    st.sampled_from(["LIV-OLB", "OLB-LIV"]),
    st.sampled_from(["quote", "book"]),
    st.integers(0, 3 * WINDOW_S),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_STEP, min_size=1, max_size=10), st.randoms(use_true_random=False))
def test_hits_do_not_depend_on_arrival_order(
    steps: list[tuple[str, str, int]], shuffler: random.Random
) -> None:
    """Per route, the latest quote is abandoned iff no booking falls in its window."""
    for route in ("LIV-OLB", "OLB-LIV"):
        bookings = [s for s in steps if s[0] == route and s[1] == "book"]
        assume(len(bookings) <= MAX_BOOKINGS_PER_ROUTE)
    events = [
        booking(t, action, route=route, event_id=f"e{i:02d}")
        for i, (route, action, t) in enumerate(steps)
    ]
    expected: set[str] = set()
    for route in ("LIV-OLB", "OLB-LIV"):
        quotes = [e for e in events if e.route_id == route and e.action == "quote"]
        if not quotes:
            continue
        last = max(quotes, key=lambda e: (e.event_time, e.event_id))
        end = last.event_time + timedelta(seconds=WINDOW_S)
        books = [e.event_time for e in events if e.route_id == route and e.action == "book"]
        if not any(last.event_time <= b < end for b in books):
            expected.add(last.event_id)
    shuffled = list(events)
    shuffler.shuffle(shuffled)
    hits = watch_of(*shuffled).due(LATER)
    assert {h.source_event_id for h in hits} == expected


# sailing signals ------------------------------------------------------------------------


def previous_row(**fields: Any) -> dict[str, Any]:
    """The sailing's row after one update at NOW - 10 min."""
    state = apply(State(), sailing_update(-600, **fields), allowed_lateness=timedelta(0)).state
    return row(state, SAILING)


def triggers_of(signals: list[SailingSignal]) -> list[Trigger]:
    return [s.trigger for s in signals]


def test_a_fare_drop_is_five_percent_or_more() -> None:
    before = previous_row(fare=100.0)
    assert triggers_of(from_sailing(before, sailing_update(fare=95.01))) == []
    update = sailing_update(fare=95.0)
    assert from_sailing(before, update) == [
        SailingSignal(Trigger.FARE_DROP, SAILING, ROUTE, update.event_id, at(0), port="LIV")
    ]
    assert triggers_of(from_sailing(previous_row(fare=19.99), sailing_update(fare=18.9905))) == [
        Trigger.FARE_DROP
    ]
    assert triggers_of(from_sailing(before, sailing_update(fare=120.0))) == []


def test_a_capacity_release_is_seats_from_none_to_some_or_ten_more() -> None:
    full = previous_row(booked=500)
    assert triggers_of(from_sailing(full, sailing_update(booked=499))) == [
        Trigger.CAPACITY_RELEASED
    ]
    assert triggers_of(from_sailing(full, sailing_update(booked=500))) == []
    some = previous_row(booked=495)  # 5 seats left
    assert triggers_of(from_sailing(some, sailing_update(booked=486))) == []  # 14: +9
    assert triggers_of(from_sailing(some, sailing_update(booked=485))) == [
        Trigger.CAPACITY_RELEASED
    ]


def test_one_update_can_be_both_with_the_same_source_event() -> None:
    signals = from_sailing(previous_row(booked=500), sailing_update(fare=80.0, booked=450))
    assert triggers_of(signals) == [Trigger.FARE_DROP, Trigger.CAPACITY_RELEASED]
    assert {s.source_event_id for s in signals} == {"sail-0"}


def test_no_signal_without_a_previous_row_for_an_older_update_or_a_sailing_not_on_sale() -> None:
    drop: dict[str, Any] = {"fare": 50.0, "booked": 100}
    before = previous_row(booked=500)
    assert from_sailing(None, sailing_update(**drop)) == []
    assert from_sailing(row(State(), SAILING), sailing_update(**drop)) == []
    assert from_sailing(before, sailing_update(-900, **drop)) == []
    assert from_sailing(before, sailing_update(status="cancelled", **drop)) == []
    assert from_sailing(before, sailing_update(status="departed", **drop)) == []
    assert triggers_of(from_sailing(before, sailing_update(status="delayed", **drop))) == [
        Trigger.FARE_DROP,
        Trigger.CAPACITY_RELEASED,
    ]
    with pytest.raises(ValueError, match="previous"):
        from_sailing(previous_row() | {"sailing_id": "other"}, sailing_update(**drop))


def test_fan_out_gives_one_hit_per_customer_with_the_same_source_event() -> None:
    signal = SailingSignal(Trigger.FARE_DROP, SAILING, ROUTE, "sail-9", at(0), port="LIV")
    hits = fan_out(signal, iter(["c2", "c1", "c2"]))
    assert [h.customer_id for h in hits] == ["c1", "c2"]
    assert {(h.trigger, h.source_event_id, h.route_id, h.sailing_id, h.port) for h in hits} == {
        (Trigger.FARE_DROP, "sail-9", ROUTE, SAILING, "LIV")
    }
    assert fan_out(signal, []) == []
