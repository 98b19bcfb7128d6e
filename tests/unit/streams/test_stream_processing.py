"""One event through one feature view: ``streams.processing.step`` over stored entries."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest
from stream_factories import LATENESS, at, make_booking, make_ping, make_post, make_sailing

from offers.contracts import Event, GeofenceAction, GeofenceTransition
from simulators.ports import port_named
from streams.processing import Entry, Step, step, transition_id
from streams.views import (
    CUSTOMER_BOOKING,
    CUSTOMER_LOCATION,
    CUSTOMER_SOCIAL,
    FEATURE_VIEWS,
    SAILING_STATE,
    FeatureView,
)

LIV, PIO = port_named("LIV"), port_named("PIO")
IN_LIV = (LIV.lat, LIV.lon + 0.01)  # about 0.8 km from the terminal, fence 2.5 km
IN_PIO = (PIO.lat, PIO.lon + 0.005)  # about 0.4 km, fence 1.5 km
AT_SEA = (LIV.lat, LIV.lon - 0.3)  # about 24 km west of Livorno

EventAt = Callable[[float], Event]
"""An event of a view at a time in seconds after the test base time."""

EVENT_AT: dict[str, EventAt] = {
    CUSTOMER_LOCATION.name: lambda t: make_ping(t),
    CUSTOMER_SOCIAL.name: lambda t: make_post(t),
    CUSTOMER_BOOKING.name: lambda t: make_booking(t, "search"),
    SAILING_STATE.name: lambda t: make_sailing(t),
}

SEQUENCES: dict[str, list[Event]] = {
    CUSTOMER_LOCATION.name: [
        make_ping(0, *AT_SEA),
        make_ping(60, *IN_LIV),
        make_ping(30, *IN_LIV),  # out of order, within the lateness
        make_ping(300, *IN_PIO),
        make_ping(4000, *AT_SEA),
        make_ping(100, *IN_LIV),  # late
        make_ping(4100, *IN_LIV),
    ],
    CUSTOMER_SOCIAL.name: [
        make_post(0),
        make_post(100, "Sardegna con la famiglia e la macchina", hashtags=["sardegna"]),
        make_post(50, "Terrible crossing, never again", language="en"),
        make_post(5000, "Livorno-Olbia domani!"),
        make_post(10),  # late
    ],
    CUSTOMER_BOOKING.name: [
        make_booking(0, "search"),
        make_booking(60, "quote"),
        make_booking(120, "book"),
        make_booking(90, "search", route="PIO-PFE"),  # out of order
        make_booking(7000, "cancel"),
        make_booking(30, "quote"),  # late
    ],
    SAILING_STATE.name: [
        make_sailing(0, fare=50.0),
        make_sailing(100, fare=60.0, booked=300),
        make_sailing(50, fare=55.0),  # out of order
        make_sailing(5000, booked=900),
        make_sailing(10),  # late
    ],
}

views = pytest.mark.parametrize("view", FEATURE_VIEWS, ids=lambda view: view.name)


def run(
    view: FeatureView, events: Sequence[Event], first_offset: int = 0, stored: bytes | None = None
) -> tuple[list[Step], bytes | None]:
    """Step through ``events`` at consecutive offsets, storing entries as the worker does."""
    steps = []
    for offset, event in enumerate(events, start=first_offset):
        result = step(view, stored, event, offset, LATENESS)
        if result.entry is not None:
            stored = result.entry.encode()
        steps.append(result)
    return steps, stored


@views
def test_first_event_of_a_key_creates_its_entry(view: FeatureView) -> None:
    event = EVENT_AT[view.name](0)
    result = step(view, None, event, 7, LATENESS)
    expected = view.update(view.new_state(), event, LATENESS)
    assert result.entry == Entry(expected.state, 7, ())
    assert result.row == view.row(expected.state, view.key_of(event)) == expected.row
    assert not result.late and not result.replayed and result.transitions == []


@views
def test_entry_round_trips_through_bytes(view: FeatureView) -> None:
    _, stored = run(view, SEQUENCES[view.name])
    assert stored is not None
    entry = Entry.decode(view, stored)
    assert entry.state.watermark.late_events == 1  # the sequences end with a late event
    full = Entry(entry.state, 2**40, (("LIV", "exit"), ("PIO", "enter")))
    assert Entry.decode(view, full.encode()) == full
    assert Entry.decode(view, Entry(view.new_state(), 0).encode()) == Entry(view.new_state(), 0)


@views
def test_a_stored_entry_holds_no_more_memory_than_its_bytes(view: FeatureView) -> None:
    _, stored = run(view, SEQUENCES[view.name])
    assert stored is not None
    entry = Entry.decode(view, stored)

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [entry.encode() for _ in range(200)]
        held = (tracemalloc.get_traced_memory()[0] - before) / len(kept)
    finally:
        tracemalloc.stop()

    assert held < len(kept[0]) + 200  # a bytes object's header, and the list's slot


@views
def test_event_at_an_applied_offset_is_a_replay(view: FeatureView) -> None:
    events = SEQUENCES[view.name][:3]
    steps, stored = run(view, events, first_offset=10)
    assert stored is not None
    for offset, event in ((12, events[2]), (12, events[0]), (10, events[0])):
        replay = step(view, stored, event, offset, LATENESS)
        assert replay.replayed and replay.entry is None and not replay.late
        assert replay.row == steps[-1].row
    assert Entry.decode(view, stored).offset == 12


@views
def test_redelivering_a_whole_sequence_changes_nothing(view: FeatureView) -> None:
    events = SEQUENCES[view.name]
    _, once = run(view, events)
    again, twice = run(view, events, stored=once)
    assert twice == once
    assert all(result.replayed for result in again)


@views
@pytest.mark.parametrize(("k", "j"), [(0, 0), (2, 0), (2, 2), (3, 1), (4, 4)])
def test_crash_replay_from_the_committed_offset_ends_as_one_pass(
    view: FeatureView, k: int, j: int
) -> None:
    events = SEQUENCES[view.name]
    single, final = run(view, events)
    _, stored_k = run(view, events[: k + 1])  # what the changelog held at the crash
    assert stored_k is not None
    row_k = view.row(Entry.decode(view, stored_k).state, view.key_of(events[k]))
    replayed, final_after_crash = run(view, events[j:], first_offset=j, stored=stored_k)
    assert final_after_crash == final
    assert [r.replayed for r in replayed] == [offset <= k for offset in range(j, len(events))]
    assert [r.row for r in replayed[k + 1 - j :]] == [r.row for r in single[k + 1 :]]
    assert all(r.row == row_k for r in replayed[: k + 1 - j])


@views
def test_event_older_than_the_watermark_is_late(view: FeatureView) -> None:
    event_at = EVENT_AT[view.name]
    latest = LATENESS.total_seconds() + 100
    _, stored = run(view, [event_at(latest)])
    assert stored is not None
    before = Entry.decode(view, stored).state

    on_time = step(view, stored, event_at(100), 1, LATENESS)  # exactly at the watermark
    assert not on_time.late and on_time.row is not None

    late = step(view, stored, event_at(99.999), 1, LATENESS)
    assert late.late and late.row is None and not late.replayed
    assert late.entry is not None and late.entry.offset == 1
    assert late.entry.state.watermark.late_events == 1
    assert late.entry.state == replace(before, watermark=late.entry.state.watermark)


def transition(ping: Event, port: str, action: GeofenceAction) -> GeofenceTransition:
    return GeofenceTransition(
        event_id=transition_id(ping.event_id, port, action.value),
        event_time=ping.event_time,
        customer_id="c1",
        port=port,
        action=action,
        ping_event_id=ping.event_id,
    )


def test_geofence_enter_exit_and_direct_move_between_ports() -> None:
    pings = [
        make_ping(0, *AT_SEA),
        make_ping(60, *IN_LIV),
        make_ping(120, *IN_LIV),
        make_ping(180, *AT_SEA),
        make_ping(240, *IN_LIV),
        make_ping(300, *IN_PIO),
    ]
    steps, _ = run(CUSTOMER_LOCATION, pings)
    enter, exit_ = GeofenceAction.ENTER, GeofenceAction.EXIT
    assert [s.transitions for s in steps] == [
        [],
        [transition(pings[1], "LIV", enter)],
        [],
        [transition(pings[3], "LIV", exit_)],
        [transition(pings[4], "LIV", enter)],
        [transition(pings[5], "LIV", exit_), transition(pings[5], "PIO", enter)],
    ]
    assert steps[1].transitions[0].event_time == at(60)
    assert steps[5].entry is not None
    assert steps[5].entry.transitions == (("LIV", "exit"), ("PIO", "enter"))


def test_transition_ids_are_deterministic_and_distinct() -> None:
    assert transition_id("p60", "LIV", "enter") == transition_id("p60", "LIV", "enter")
    ids = {
        transition_id(ping, port, action)
        for ping in ("p60", "p61")
        for port in ("LIV", "PIO")
        for action in ("enter", "exit")
    }
    assert len(ids) == 8 and all(i.startswith("geo-") for i in ids)


def test_replay_of_the_entering_ping_sends_the_same_transitions_again() -> None:
    pings = [make_ping(0, *AT_SEA), make_ping(60, *IN_LIV)]
    steps, stored = run(CUSTOMER_LOCATION, pings, first_offset=5)
    replay = step(CUSTOMER_LOCATION, stored, pings[1], 6, LATENESS)
    assert replay.replayed
    assert (
        replay.transitions
        == steps[1].transitions
        == [transition(pings[1], "LIV", GeofenceAction.ENTER)]
    )


def test_replay_of_an_older_ping_sends_no_transition_it_did_not_cause() -> None:
    pings = [make_ping(0, *IN_LIV), make_ping(60, *AT_SEA)]  # enter LIV, then exit LIV
    steps, stored = run(CUSTOMER_LOCATION, pings)
    replay = step(CUSTOMER_LOCATION, stored, pings[0], 0, LATENESS)
    assert replay.replayed
    caused = {t.event_id for t in steps[0].transitions}
    assert {t.event_id for t in replay.transitions} <= caused
