"""Complaints: which posts are complaints, and the window in which one suppresses offers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from streams.decisions.complaints import is_complaint, latest_before, recently_complained
from tests.unit.decisions.decision_factories import at, post

WINDOW = timedelta(hours=72)


@pytest.mark.parametrize(
    ("text", "brands", "complaint"),
    [
        ("Late again, awful and dirty", ("moby",), True),
        ("Livorno-Olbia ferry cancelled, terrible delay, awful", (), True),
        ("Olbia port was a horrible mess, awful", (), True),
        ("Awful day, horrible weather, terrible", (), False),
        ("Lovely crossing from Livorno to Olbia, great crew!", (), False),
        ("Lovely crossing, great crew", ("moby",), False),
        ("Nothing to say about it", ("moby",), False),
    ],
    ids=[
        "brand",
        "route",
        "port",
        "about-nothing-of-ours",
        "positive",
        "positive-brand",
        "neutral",
    ],
)
def test_a_complaint_is_negative_and_names_the_brand_a_port_or_a_route(
    text: str, brands: tuple[str, ...], complaint: bool
) -> None:
    assert is_complaint(post(text, brands=brands)) is complaint


def test_the_window_starts_at_the_complaint_and_ends_before_its_end() -> None:
    complained = at(0)
    assert recently_complained(complained, at(0), WINDOW)
    assert recently_complained(complained, at(1), WINDOW)
    assert recently_complained(complained, complained + WINDOW - timedelta(microseconds=1), WINDOW)
    assert not recently_complained(complained, complained + WINDOW, WINDOW)
    assert not recently_complained(complained, at(-1), WINDOW)  # decided before it (replay)


def test_without_a_complaint_or_a_window_nothing_is_suppressed() -> None:
    assert not recently_complained(None, at(0), WINDOW)
    assert not recently_complained(at(0), at(0), timedelta(0))


def test_times_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        recently_complained(at(0).replace(tzinfo=None), at(0), WINDOW)


def test_a_decision_is_checked_against_the_latest_complaint_at_or_before_it() -> None:
    complaints = (at(-7200), at(0), at(3600))
    assert latest_before(complaints, at(60)) == at(0)
    assert latest_before(complaints, at(0)) == at(0)
    assert latest_before(complaints, at(-1)) == at(-7200)
    assert latest_before(complaints, at(-7201)) is None
    assert latest_before((), at(0)) is None
