from __future__ import annotations

import pytest

from offers.contracts import Event
from simulators.world import ActivityRates, World, WorldConfig


@pytest.fixture(scope="session")
def small_world() -> World:
    return World(WorldConfig(seed=11, customers=1_000, days=2))


@pytest.fixture(scope="session")
def small_events(small_world: World) -> list[Event]:
    return list(small_world.events())


@pytest.fixture(scope="session")
def busy_events() -> list[Event]:
    """A short, busy stream: many posts, searches and trips for 1,000 customers."""
    rates = ActivityRates(
        search_sessions_per_day=1.0, social_scale=20.0, trips_per_day=0.3, cancel_probability=0.3
    )
    return list(World(WorldConfig(seed=5, customers=1_000, days=1, rates=rates)).events())
