"""Every key of a simulated day: folding ``apply`` gives the reference's final row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from stream_factories import LATENESS, rows_match

from offers.contracts import Event
from simulators.world import World, WorldConfig
from streams.features import booking, location, reference, sailing, social

VIEWS: dict[str, tuple[Any, Callable[..., dict[str, Any]], str]] = {
    "location_ping": (location, reference.location_row, "customer_id"),
    "social_post": (social, reference.social_row, "customer_id"),
    "booking": (booking, reference.booking_row, "customer_id"),
    "sailing_update": (sailing, reference.sailing_row, "sailing_id"),
}


@pytest.fixture(scope="module")
def day() -> list[Event]:
    return list(World(WorldConfig(seed=3, customers=1000, days=1)).events())


def by_key(events: list[Event], kind: str) -> dict[str, list[Event]]:
    key = VIEWS[kind][2]
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event.type == kind:  # type: ignore[attr-defined]
            grouped[getattr(event, key)].append(event)
    return grouped


def jittered(events: list[Event], seed: int) -> list[Event]:
    """The events in an arrival order where each is delayed by up to 1.5 x the lateness."""
    delays = np.random.default_rng(seed).uniform(0, 1.5 * LATENESS.total_seconds(), len(events))
    order = sorted(
        range(len(events)),
        key=lambda i: (events[i].event_time + timedelta(seconds=float(delays[i])), i),
    )
    return [events[i] for i in order]


@pytest.mark.parametrize("kind", sorted(VIEWS))
@pytest.mark.parametrize("arrival", ["in_order", "jittered"])
def test_every_key_matches_the_reference(day: list[Event], kind: str, arrival: str) -> None:
    module, expected_row, _ = VIEWS[kind]
    stream = day if arrival == "in_order" else jittered(day, seed=17)
    groups = by_key(stream, kind)
    assert groups
    late = 0
    for key, events in groups.items():
        state = module.State()
        for event in events:
            update = module.apply(state, event, allowed_lateness=LATENESS)
            state = update.state
        assert rows_match(update.row, expected_row(events, LATENESS)), key
        assert module.State.from_dict(state.to_dict()) == state
        late += state.watermark.late_events
    if arrival == "in_order":
        assert late == 0
