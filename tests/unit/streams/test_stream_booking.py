from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from stream_factories import LATENESS, arrival_order, make_booking, rows_match

from features.fields import CUSTOMER_BOOKING
from streams.features import reference
from streams.features.booking import State, apply

DAY = 86_400


def fold(events: list) -> list:
    state, updates = State(), []
    for event in events:
        update = apply(state, event, allowed_lateness=LATENESS)
        state = update.state
        updates.append(update)
    return updates


def test_funnel_counts_routes_and_abandoned_quotes() -> None:
    row = fold(
        [
            make_booking(0, "search", "LIV-OLB"),
            make_booking(10, "search", "GOA-PTO"),
            make_booking(20, "quote", "LIV-OLB"),
            make_booking(30, "quote", "GOA-PTO"),
            make_booking(40, "book", "GOA-PTO", price_eur=250.0),
        ]
    )[-1].row
    assert set(row) == {f.name for f in CUSTOMER_BOOKING} | {"customer_id", "event_timestamp"}
    assert (row["searches_24h"], row["quotes_24h"]) == (2, 2)
    assert row["routes_24h"] == ["GOA-PTO", "LIV-OLB"]
    assert row["route_counts_24h"] == [2, 2]
    assert row["abandoned_quotes_24h"] == 1
    assert row["bookings_total"] == 1 and row["spend_total_eur"] == 250.0
    assert row["last_booking_ts"] > 0


def test_quote_booked_earlier_is_abandoned_and_window_edge_is_open() -> None:
    updates = fold(
        [
            make_booking(0, "book", "LIV-OLB"),
            make_booking(10, "quote", "LIV-OLB"),
            make_booking(10 + DAY, "search", "LIV-OLB"),
        ]
    )
    assert updates[1].row["abandoned_quotes_24h"] == 1
    assert updates[2].row["quotes_24h"] == 0  # exactly 24 h old: out of the window
    assert updates[2].row["searches_24h"] == 1 and updates[2].row["bookings_total"] == 1


def test_cancel_subtracts_the_booked_price_once_and_unknown_refs_nothing() -> None:
    updates = fold(
        [
            make_booking(0, "book", booking_ref="A", price_eur=300.0),
            make_booking(10, "cancel", booking_ref="A"),
            make_booking(20, "cancel", booking_ref="A"),
            make_booking(30, "cancel", booking_ref="UNKNOWN"),
        ]
    )
    assert updates[1].row["spend_total_eur"] == 0.0
    row = updates[-1].row
    assert row["spend_total_eur"] == 0.0 and row["cancellations_total"] == 3


def test_cancel_arriving_before_its_booking_is_netted_out() -> None:
    updates = fold(
        [
            make_booking(100, "cancel", booking_ref="A"),
            make_booking(50, "book", booking_ref="A", price_eur=80.0),
        ]
    )
    assert updates[0].row["spend_total_eur"] == 0.0
    assert updates[1].row["spend_total_eur"] == 0.0 and updates[1].row["bookings_total"] == 1


def test_too_late_booking_is_counted_and_ignored() -> None:
    updates = fold([make_booking(3600, "search"), make_booking(0, "book")])
    assert updates[-1].late and updates[-1].state.watermark.late_events == 1
    assert updates[-1].row["bookings_total"] == 0 and updates[-1].row["last_booking_ts"] == 0


actions = st.sampled_from(["search", "search", "quote", "quote", "book", "cancel"])
routes = st.sampled_from(["LIV-OLB", "GOA-PTO", "CIV-OLB"])
refs = st.sampled_from(["A", "B", "C"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2 * DAY),
            actions,
            routes,
            refs,
            st.integers(0, 900),
            st.floats(10.0, 900.0),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_fold_equals_reference(events: list) -> None:
    order = arrival_order([float(e[0]) for e in events], [float(e[4]) for e in events])
    stream = []
    for i in order:
        t, action, route, ref, _, price = events[i]
        extra = {"booking_ref": ref} if action in ("book", "cancel") else {}
        if action in ("quote", "book"):
            extra["price_eur"] = price
        stream.append(make_booking(t, action, route, **extra))
    updates = fold(stream)
    assert rows_match(updates[-1].row, reference.booking_row(stream, LATENESS))
    assert updates[-1].state.watermark.late_events == reference.late_count(stream, LATENESS)
    assert State.from_dict(updates[-1].state.to_dict()) == updates[-1].state
