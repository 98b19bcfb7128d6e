"""Workers killed with SIGKILL every few seconds, in turn the stream processor's and the
delivery's, each started again at once, while the world (1 % of it poison) flows: no
event lost, no offer sent twice, no cap or budget exceeded, no agent stopped."""

from __future__ import annotations

import threading
import time

import pytest

from tests.integration.chaos.conftest import ChaosStack, Record
from tests.integration.chaos.harness import (
    ScenarioRun,
    current_scale,
    run_scenario,
    world_config,
)
from tests.integration.loop_runs import Rig

pytestmark = pytest.mark.integration

KILL_EVERY_S = 5.0
"""How long each new worker runs, once ready, before the next kill."""


KILLS_EACH = 2
"""Kills of each kind of worker at least, however slowly the machine starts workers: the
kills that the run's production left no time for come while the engine drains it."""


class Killer:
    """Kills a stream-processor worker and a delivery worker in turn, each after it has
    worked ``KILL_EVERY_S`` since it was ready, and starts another in its place; once
    the run's events are all produced, goes on until each kind was killed
    :data:`KILLS_EACH` times."""

    def __init__(self) -> None:
        self.engine_kills = 0
        self.delivery_kills = 0
        self.while_producing = 0

    def __call__(self, rig: Rig, done: threading.Event) -> None:
        while not done.wait(KILL_EVERY_S):
            self._kill(rig)
            self.while_producing += 1
        while min(self.engine_kills, self.delivery_kills) < KILLS_EACH:
            time.sleep(KILL_EVERY_S)
            self._kill(rig)

    def _kill(self, rig: Rig) -> None:
        if self.engine_kills <= self.delivery_kills:
            rig.engine.kill(0)
            self.engine_kills += 1
            rig.engine.add().wait_ready()
        else:
            rig.loop.kill_delivery_worker(0)
            self.delivery_kills += 1
            rig.loop.add_delivery_worker().wait_ready()


@pytest.fixture(scope="module")
def killed(chaos_stack: ChaosStack) -> tuple[ScenarioRun, Killer]:
    scale = current_scale()
    killer = Killer()
    run = run_scenario(
        chaos_stack.settings,
        chaos_stack.root / "logs",
        world_config(31, scale.kill_customers, scale.kill_days),
        speed=scale.speed,
        during=[killer],
    )
    return run, killer


def test_killed_workers_lose_nothing_and_send_nothing_twice(
    killed: tuple[ScenarioRun, Killer], record: Record
) -> None:
    run, killer = killed
    record(
        "SIGKILL a worker every 5 s",
        {
            **run.tally.figures(),
            "faults": killer.engine_kills + killer.delivery_kills,
            "engine_kills": killer.engine_kills,
            "delivery_kills": killer.delivery_kills,
            "kills_while_producing": killer.while_producing,
        },
    )
    assert killer.while_producing >= 1, "the run ended before the first kill"
    run.tally.assert_held()
