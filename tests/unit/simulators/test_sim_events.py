from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from offers.contracts import (
    BookingAction,
    BookingEvent,
    Event,
    SailingUpdate,
    SocialPost,
    decode,
    encode,
)
from offers.topics import topic_for
from simulators.social import true_sentiment
from simulators.world import World


def test_every_event_survives_the_wire(small_events: list[Event]) -> None:
    for event in small_events:
        assert decode(encode(event)) == event


def test_busy_events_survive_the_wire(busy_events: list[Event]) -> None:
    for event in busy_events:
        assert decode(encode(event)) == event
        assert event.partition_key()
        assert topic_for(event.TYPE)


def test_events_come_in_time_order_with_unique_ids(small_events: list[Event]) -> None:
    times = [e.event_time for e in small_events]
    assert times == sorted(times)
    assert len({e.event_id for e in small_events}) == len(small_events)


def test_events_stay_inside_the_period(small_world: World, small_events: list[Event]) -> None:
    start = small_world.config.start
    assert small_events[0].event_time >= start
    assert small_events[-1].event_time < start + timedelta(days=2)
    assert all(e.event_time.tzinfo is not None for e in small_events)
    assert small_world.config.end < datetime.now(UTC)


def test_a_small_world_makes_a_few_thousand_events_a_day(small_events: list[Event]) -> None:
    kinds = Counter(e.TYPE for e in small_events)
    assert set(kinds) == {"location_ping", "social_post", "booking", "sailing_update"}
    assert 2_000 <= len(small_events) / 2 <= 10_000


def test_funnel_steps_follow_each_other(busy_events: list[Event]) -> None:
    quoted: set[tuple[str, str]] = set()
    booked: dict[str, tuple[str, str]] = {}
    actions: Counter[BookingAction] = Counter()
    for event in busy_events:
        if not isinstance(event, BookingEvent):
            continue
        actions[event.action] += 1
        key = (event.customer_id, event.sailing_id or "")
        if event.action is BookingAction.QUOTE:
            quoted.add(key)
        elif event.action is BookingAction.BOOK:
            assert key in quoted
            assert event.booking_ref is not None
            booked[event.booking_ref] = key
        elif event.action is BookingAction.CANCEL:
            assert event.booking_ref is not None and booked.pop(event.booking_ref) == key
    assert actions[BookingAction.SEARCH] > actions[BookingAction.QUOTE]
    assert actions[BookingAction.QUOTE] > actions[BookingAction.BOOK] > 0
    assert actions[BookingAction.CANCEL] > 0


def test_a_booking_updates_its_sailing(busy_events: list[Event]) -> None:
    last: dict[str, SailingUpdate] = {}
    pending: dict[str, int] = {}
    for event in busy_events:
        if isinstance(event, SailingUpdate):
            if event.sailing_id in pending:
                assert event.booked_passengers >= pending.pop(event.sailing_id)
            last[event.sailing_id] = event
        elif isinstance(event, BookingEvent) and event.action is BookingAction.BOOK:
            assert event.sailing_id in last
            pending[event.sailing_id] = event.passengers


def test_posts_carry_a_known_sentiment_in_four_languages(busy_events: list[Event]) -> None:
    posts = [e for e in busy_events if isinstance(e, SocialPost)]
    sentiments = Counter(true_sentiment(p.text, p.language.value) for p in posts)
    assert len(sentiments) == 3
    assert {p.language.value for p in posts} == {"it", "en", "de", "fr"}
    assert all(p.brand_mentions and p.hashtags for p in posts)
    assert all(tag in p.text for p in posts for tag in p.hashtags)
