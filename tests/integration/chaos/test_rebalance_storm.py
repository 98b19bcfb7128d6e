"""The stream processor scaled from one worker to two and back, again and again, while
the world flows: every rebalance moves partitions and their state, and still no offer is
sent twice and nothing is lost."""

from __future__ import annotations

import threading
import time

import pytest

from tests.integration.chaos.conftest import ChaosStack, Record
from tests.integration.chaos.harness import current_scale, run_scenario, world_config
from tests.integration.loop_runs import Rig

pytestmark = pytest.mark.integration

HOLD_S = 5.0
"""How long each size is kept."""


class Storm:
    """``rounds`` times: wait, add a second worker (until it is ready), wait, stop it. All
    its rounds, even when the input has all been produced before (the workers are then
    still deciding the backlog)."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.scaled = 0

    def __call__(self, rig: Rig, done: threading.Event) -> None:
        for _ in range(self.rounds):
            time.sleep(HOLD_S)
            rig.engine.add().wait_ready()
            self.scaled += 1
            time.sleep(HOLD_S)
            rig.engine.stop()
            self.scaled += 1


def test_scaling_one_two_one_repeatedly_sends_nothing_twice(
    chaos_stack: ChaosStack, record: Record
) -> None:
    scale = current_scale()
    storm = Storm(scale.storm_rounds)
    run = run_scenario(
        chaos_stack.settings,
        chaos_stack.root / "logs",
        world_config(43, scale.customers, scale.storm_days),
        speed=scale.speed,
        during=[storm],
    )
    record("Rebalance storm 1 -> 2 -> 1", {**run.tally.figures(), "faults": storm.scaled})
    assert storm.scaled == 2 * scale.storm_rounds
    run.tally.assert_held()
