"""Delivery workers killed with SIGKILL again and again while a simulated day flows, the
provider answering 429 and slowly now and then: still no offer sent twice and none lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from offers.demo_setup import engine_settings
from offers.settings import Settings
from simulators.world import DEFAULT_START, WorldConfig
from tests.integration.decision_runs import trained_registry
from tests.integration.loop_runs import LoopDay, Rig, assert_sent_exactly_once, run_days

pytestmark = pytest.mark.integration

WORLD = WorldConfig(seed=23, customers=1_000, days=1, start=DEFAULT_START + timedelta(days=10))
"""A day of its own: the customers' caps and the engine's clock carry over between runs."""
SPEED = 1_200.0
"""The day in 72 s."""
KILL_EVERY_S = 6.0
FAULTS = {"rate_limit_rate": 0.1, "latency_s": 0.25, "retry_after_s": 0}
"""One send in ten answered 429, every send a quarter of a second slow: sends are often
under way when a worker is killed."""


class Killer:
    """Kills the oldest delivery worker every ``KILL_EVERY_S`` and starts another."""

    def __init__(self) -> None:
        self.kills = 0

    def __call__(self, rig: Rig, done: threading.Event) -> None:
        while not done.wait(KILL_EVERY_S):
            rig.loop.kill_delivery_worker(0)
            self.kills += 1
            rig.loop.add_delivery_worker()


@pytest.fixture(scope="module")
def killed(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LoopDay, int]]:
    root = tmp_path_factory.mktemp("kills")
    registry = trained_registry(root / "registry")
    settings = engine_settings(stack_settings, registry.directory)
    killer = Killer()
    day = run_days(
        settings, root / "logs", WORLD,
        speed=SPEED, delivery_workers=2, faults=FAULTS, during=[killer],
    )  # fmt: skip
    yield day, killer.kills


def test_workers_were_killed_while_offers_flowed(killed: tuple[LoopDay, int]) -> None:
    day, kills = killed
    assert kills >= 8
    assert len(day.offers) >= 50


def test_no_offer_is_sent_twice_and_none_is_lost(killed: tuple[LoopDay, int]) -> None:
    day, _ = killed
    assert_sent_exactly_once(day)
