from __future__ import annotations

from datetime import timedelta

from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st
from stream_factories import LATENESS, arrival_order, make_ping, rows_match

from simulators.ports import port_named
from streams.features import location, reference
from streams.features.location import State, apply

LIV = port_named("LIV")
INSIDE = (LIV.lat, LIV.lon + 0.01)  # about 0.8 km east of the terminal
OUTSIDE = (LIV.lat, LIV.lon + 0.2)  # about 16 km


def fold(pings: list, lateness: timedelta = LATENESS) -> list:
    state, updates = State(), []
    for ping in pings:
        update = apply(state, ping, allowed_lateness=lateness)
        state = update.state
        updates.append(update)
    return updates


def test_row_has_exactly_the_view_fields() -> None:
    from features.fields import CUSTOMER_LOCATION

    row = fold([make_ping(0)])[-1].row
    assert set(row) == {f.name for f in CUSTOMER_LOCATION} | {"customer_id", "event_timestamp"}
    assert row["pings_1h"] == 1 and row["speed_mps"] == 0.0


def test_late_arriving_older_ping_does_not_overwrite_last_position() -> None:
    updates = fold([make_ping(100, 43.0, 10.0), make_ping(50, 42.0, 10.0)])
    assert updates[-1].row["last_lat"] == 43.0
    assert updates[-1].row["last_ping_ts"] == updates[0].row["last_ping_ts"]
    assert updates[-1].late is False and updates[-1].row["pings_1h"] == 2


def test_too_late_ping_is_counted_and_ignored() -> None:
    updates = fold([make_ping(3600, 43.0, 10.0), make_ping(0, 42.0, 10.0)])
    assert updates[-1].late is True
    assert updates[-1].state.watermark.late_events == 1
    assert updates[-1].row == updates[0].row


def test_speed_from_the_last_two_pings_in_event_time_order() -> None:
    a, b = (43.0, 10.0), (43.0, 10.01)
    updates = fold([make_ping(0, *a), make_ping(100, *b), make_ping(50, *a)])
    metres = geodesic(a, b).m
    assert abs(updates[1].row["speed_mps"] - metres / 100) < 1e-9
    assert abs(updates[2].row["speed_mps"] - metres / 50) < 1e-9


def test_zero_time_difference_gives_zero_speed() -> None:
    updates = fold([make_ping(10, 43.0, 10.0), make_ping(10, 43.1, 10.0)])
    assert updates[-1].row["speed_mps"] == 0.0
    assert updates[-1].row["last_lat"] == 43.1


def test_geofence_enter_dwell_and_trigger_flags() -> None:
    updates = fold(
        [
            make_ping(0, *OUTSIDE),
            make_ping(60, *INSIDE),
            make_ping(300, *INSIDE),
            make_ping(600, *OUTSIDE),
        ]
    )
    assert updates[1].entered == "LIV" and updates[1].exited is None
    assert updates[2].entered is None and updates[2].row["dwell_s"] == 240
    assert updates[2].row["geofence_enter_ts"] == updates[1].row["last_ping_ts"]
    assert updates[3].exited == "LIV" and updates[3].row["geofence_port"] == ""
    assert updates[3].row["dwell_s"] == 0 and updates[3].row["geofence_enter_ts"] == 0


def test_out_of_order_ping_extends_or_splits_the_geofence_run() -> None:
    extended = fold([make_ping(0, *OUTSIDE), make_ping(300, *INSIDE), make_ping(100, *INSIDE)])
    assert extended[-1].row["dwell_s"] == 200
    split = fold([make_ping(0, *INSIDE), make_ping(300, *INSIDE), make_ping(100, *OUTSIDE)])
    assert split[-1].row["dwell_s"] == 0 and split[-1].row["geofence_port"] == "LIV"
    assert split[-1].entered is None  # the current geofence did not change


def test_pings_1h_window_edge() -> None:
    updates = fold([make_ping(0), make_ping(1), make_ping(3600)])
    assert updates[-1].row["pings_1h"] == 2  # the ping exactly one hour before has left


def test_state_round_trips_through_json_dict() -> None:
    import orjson

    state = fold([make_ping(0, *OUTSIDE), make_ping(60, *INSIDE)])[-1].state
    assert State.from_dict(orjson.loads(orjson.dumps(state.to_dict()))) == state


places = st.sampled_from([INSIDE, OUTSIDE, (LIV.lat + 0.02, LIV.lon), (42.9262, 10.5483)])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 7200), places, st.integers(0, 900)), min_size=1, max_size=25)
)
def test_fold_equals_reference(events: list[tuple[int, tuple[float, float], int]]) -> None:
    times = [float(t) for t, _, _ in events]
    order = arrival_order(times, [float(d) for _, _, d in events])
    pings = [make_ping(events[i][0], *events[i][1]) for i in order]
    updates = fold(pings)
    assert rows_match(updates[-1].row, reference.location_row(pings, LATENESS))
    assert updates[-1].state.watermark.late_events == reference.late_count(pings, LATENESS)
    assert location.State.from_dict(updates[-1].state.to_dict()) == updates[-1].state
