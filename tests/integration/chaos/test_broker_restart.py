"""The Kafka broker stopped mid-run and started again on its data: every part of the
engine reconnects by itself, nothing is lost or sent twice, and the engine's lag comes
back to where it stood within a time the scenario reports."""

from __future__ import annotations

import time

import pytest

from offers.stack.workers import group_lag
from tests.integration.chaos.conftest import ChaosStack, Record
from tests.integration.chaos.harness import (
    FaultAt,
    LagWatch,
    current_scale,
    run_scenario,
    wall_seconds,
    world_config,
)

pytestmark = pytest.mark.integration

RECOVERY_BOUND_S = 120.0


def test_a_broker_restart_loses_nothing_and_the_lag_recovers(
    chaos_stack: ChaosStack, record: Record
) -> None:
    scale = current_scale()
    config = world_config(37, scale.customers, scale.days)
    started: list[float] = []

    def restart() -> None:
        chaos_stack.stack.stop_service("kafka")
        time.sleep(scale.broker_down_s)
        started.append(chaos_stack.stack.start_service("kafka"))

    fault = FaultAt(wall_seconds(config, scale.speed) * 0.35, restart)
    lag = LagWatch(lambda: group_lag(chaos_stack.settings), fault)
    run = run_scenario(
        chaos_stack.settings, chaos_stack.root / "logs", config,
        speed=scale.speed, during=[fault, lag],
    )  # fmt: skip
    begun, ended = fault.window()
    recovery = lag.recovery_s()
    record(
        "Kafka broker restarted",
        {
            **run.tally.figures(),
            "faults": 1,
            "broker_away_s": ended - begun,
            "broker_start_s": started[0],
            "recovery_s": recovery,
        },
    )
    run.tally.assert_held()
    assert recovery <= RECOVERY_BOUND_S
