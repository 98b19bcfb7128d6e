"""Redis stopped for a while mid-run (30 s in the full run), then started again on its
append-only file: no decision is made while it is away (so none on missing features or
unknown caps), no worker crashes, and the backlog clears within a time the scenario
reports."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from offers.stack.workers import group_lag
from offers.topics import DECISIONS
from tests.integration.chaos.conftest import ChaosStack, Record
from tests.integration.chaos.harness import (
    FaultAt,
    LagWatch,
    current_scale,
    run_scenario,
    wall_seconds,
    world_config,
)
from tests.integration.kafka_io import read_records

pytestmark = pytest.mark.integration

GRACE_S = 1.0
"""A decision whose Redis work ended just before the stop may still be written this late."""
RECOVERY_BOUND_S = 120.0


def test_a_redis_outage_decides_nothing_meanwhile_and_the_backlog_clears(
    chaos_stack: ChaosStack, record: Record
) -> None:
    scale = current_scale()
    config = world_config(41, scale.customers, scale.days)
    away: list[tuple[float, float]] = []

    def outage() -> None:
        stopped_at = time.time()
        chaos_stack.stack.stop_service("redis")
        time.sleep(scale.redis_outage_s)
        back_at = time.time()
        chaos_stack.stack.start_service("redis")
        away.append((stopped_at, back_at))

    fault = FaultAt(wall_seconds(config, scale.speed) * 0.35, outage)
    lag = LagWatch(lambda: group_lag(chaos_stack.settings), fault)
    run = run_scenario(
        chaos_stack.settings, chaos_stack.root / "logs", config,
        speed=scale.speed, during=[fault, lag],
    )  # fmt: skip
    begun, ended = fault.window()
    stopped_at, back_at = away[0]
    written_meanwhile = [
        r
        for r in read_records(
            chaos_stack.settings.kafka_bootstrap,
            DECISIONS.name,
            run.day.started[DECISIONS.name],
        )
        if stopped_at + GRACE_S < r.timestamp / 1000 < back_at
    ]
    recovery = lag.recovery_s()
    record(
        "Redis stopped",
        {
            **run.tally.figures(),
            "faults": 1,
            "redis_away_s": back_at - stopped_at,
            "decided_while_away": len(written_meanwhile),
            "recovery_s": recovery,
        },
    )
    assert written_meanwhile == [], datetime.fromtimestamp(stopped_at, UTC)
    run.tally.assert_held()
    assert recovery <= RECOVERY_BOUND_S
