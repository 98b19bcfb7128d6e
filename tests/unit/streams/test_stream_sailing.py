from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from stream_factories import LATENESS, arrival_order, make_sailing, rows_match

from features.fields import SAILING_STATE
from streams.features import reference
from streams.features.sailing import State, apply


def fold(updates: list) -> list:
    state, results = State(), []
    for update in updates:
        result = apply(state, update, allowed_lateness=LATENESS)
        state = result.state
        results.append(result)
    return results


def test_first_update_has_no_fare_change_and_derived_fields() -> None:
    row = fold([make_sailing(0, fare=50.0, booked=250)])[-1].row
    assert set(row) == {f.name for f in SAILING_STATE} | {"sailing_id", "event_timestamp"}
    assert row["fare_change_eur"] == 0.0
    assert row["load_factor_pax"] == 0.25 and row["load_factor_cars"] == 0.125
    assert row["seats_left"] == 750 and row["car_slots_left"] == 175
    assert row["origin_port"] == "LIV" and row["departure_ts"] > 0


def test_older_update_does_not_overwrite_but_sets_the_fare_change() -> None:
    results = fold(
        [
            make_sailing(0, fare=50.0),
            make_sailing(200, fare=60.0),
            make_sailing(100, fare=55.0, booked=900),
        ]
    )
    assert results[1].row["fare_change_eur"] == 10.0
    assert results[2].row["fare_eur"] == 60.0 and results[2].row["seats_left"] == 900
    assert results[2].row["fare_change_eur"] == 5.0


def test_too_late_update_and_zero_capacity() -> None:
    results = fold([make_sailing(3600, fare=40.0), make_sailing(0, fare=99.0)])
    assert results[-1].late and results[-1].row == results[0].row
    empty = fold([make_sailing(0, booked=0, capacity_cars=0)])[-1].row
    assert empty["load_factor_cars"] == 0.0


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3600), st.floats(10.0, 500.0), st.integers(0, 1000), st.integers(0, 900)
        ),
        min_size=1,
        max_size=20,
    )
)
def test_fold_equals_reference(events: list) -> None:
    order = arrival_order([float(e[0]) for e in events], [float(e[3]) for e in events])
    stream = [make_sailing(events[i][0], fare=events[i][1], booked=events[i][2]) for i in order]
    results = fold(stream)
    assert rows_match(results[-1].row, reference.sailing_row(stream, LATENESS))
    assert results[-1].state.watermark.late_events == reference.late_count(stream, LATENESS)
    assert State.from_dict(results[-1].state.to_dict()) == results[-1].state
