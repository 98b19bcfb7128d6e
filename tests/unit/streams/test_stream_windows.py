from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.features.windows import (
    Items,
    Watermark,
    evict,
    from_ms,
    lateness_ms,
    merge,
    observe,
    to_ms,
    to_s,
)


def test_time_conversions_round_trip() -> None:
    moment = datetime(2026, 7, 1, 12, 0, 0, 123_000, tzinfo=UTC)
    assert from_ms(to_ms(moment)) == moment
    assert to_s(to_ms(moment)) == int(moment.timestamp())
    assert to_ms(datetime(1970, 1, 1, tzinfo=UTC)) == 0


def test_negative_lateness_is_refused() -> None:
    with pytest.raises(ValueError, match="allowed_lateness"):
        lateness_ms(timedelta(seconds=-1))


def test_watermark_accepts_events_at_the_watermark_and_counts_older_ones() -> None:
    wm, latest, late = observe(Watermark(), 1_000, 100)
    assert (wm.latest_ms, latest, late) == (1_000, 1_000, False)
    wm, latest, late = observe(wm, 900, 100)
    assert (wm.latest_ms, latest, wm.late_events, late) == (1_000, 1_000, 0, False)
    wm, latest, late = observe(wm, 899, 100)
    assert (wm.latest_ms, latest, wm.late_events, late) == (1_000, 1_000, 1, True)
    wm, latest, late = observe(wm, 2_000, 100)
    assert (wm.latest_ms, latest, wm.late_events, late) == (2_000, 2_000, 1, False)


def test_window_edges_are_half_open() -> None:
    items = ((0, "a"), (10, "b"), (20, "c"))
    assert evict(items, as_of=30, length=30) == ((10, "b"), (20, "c"))
    assert evict(items, as_of=29, length=30) == items
    assert merge(items, 25, "d", as_of=40, length=30) == ((20, "c"), (25, "d"))
    assert merge(items, 10, "x", as_of=40, length=30) == ((20, "c"),)


def test_merge_keeps_time_order_and_arrival_order_of_ties() -> None:
    items = merge((), 10, "a", as_of=10, length=100)
    items = merge(items, 5, "b", as_of=10, length=100)
    items = merge(items, 10, "c", as_of=10, length=100)
    assert items == ((5, "b"), (10, "a"), (10, "c"))


def _add(
    window: tuple[Watermark, Items[float]], t: int, value: float
) -> tuple[Watermark, Items[float]]:
    """Fold one event into a 60 s window with 15 s lateness, as the views do."""
    watermark, latest, late = observe(window[0], t, 15_000)
    if late:
        return watermark, window[1]
    return watermark, merge(window[1], t, value, as_of=latest, length=60_000)


def test_observe_and_merge_count_and_sum_with_lateness() -> None:
    window: tuple[Watermark, Items[float]] = (Watermark(), ())
    for t, value in [(0, 1.0), (30_000, 2.0), (20_000, 4.0), (60_000, 8.0)]:
        window = _add(window, t, value)
    # 20_000 arrived after 30_000 but within the lateness; 0 left the window at 60_000.
    assert len(window[1]) == 3
    assert sum(v for _, v in window[1]) == 14.0
    window = _add(window, 40_000, 16.0)
    assert window[0].late_events == 1
    assert len(window[1]) == 3
    window = _add(window, 120_000, 1.0)
    assert (len(window[1]), sum(v for _, v in window[1])) == (1, 1.0)
