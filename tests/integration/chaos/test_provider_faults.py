"""The providers misbehave: 429s (some in bursts), 500s and 503s, slow answers, answers
later than the client waits (the message is created all the same), numbers that opted
out at the provider (Twilio refuses them for good: 21610) and WhatsApp refusing
recipients outside its allowed list. Sends are retried within their limit and never
duplicated; the permanent failures reach the dead-letter topic with their reason."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from offers.contracts import DeadLetter, decode
from offers.topics import DEAD_LETTER
from simulators.phones import phone_number
from tests.integration.chaos.conftest import ChaosStack, Record
from tests.integration.chaos.harness import (
    ScenarioRun,
    current_scale,
    run_scenario,
    world_config,
)
from tests.integration.kafka_io import read_records
from tests.integration.loop_runs import NOT_SENT_REASONS, Rig, assert_sent_exactly_once

pytestmark = pytest.mark.integration

SEND_TIMEOUT_S = 1.0
NOT_ALLOWED = "131030"
"""WhatsApp's code for a recipient outside a development app's allowed list."""
OPTED_OUT = "21610"
"""Twilio's code for a number that replied STOP to the provider itself."""
BURST_EVERY_S = 10.0
BURST = 8


def faults(customers: int) -> dict[str, object]:
    return {
        "rate_limit_rate": 0.08,
        "server_error_rate": 0.08,
        "retry_after_s": 0,
        "latency_s": 0.05,
        "slow_rate": 0.03,
        "slow_s": SEND_TIMEOUT_S + 0.5,  # the answer lost: the message exists
        # one WhatsApp recipient in two may be messaged; the others fail for good
        "whatsapp_allowed_recipients": frozenset(
            phone_number(i).lstrip("+") for i in range(0, customers, 2)
        ),
    }


class OptedOutAtTheProvider:
    """Every fifth customer's number on the sandbox's STOP list from the start, unknown to
    the engine until Twilio refuses a send to it."""

    def __init__(self, customers: int) -> None:
        self.numbers = [phone_number(i) for i in range(0, customers, 5)]

    def __call__(self, rig: Rig, done: threading.Event) -> None:
        for number in self.numbers:
            rig.loop.sandbox.opt_out(number)


class Bursts:
    """429 to every send for a while (``BURST`` requests), every ``BURST_EVERY_S``."""

    def __init__(self) -> None:
        self.bursts = 0

    def __call__(self, rig: Rig, done: threading.Event) -> None:
        while not done.wait(BURST_EVERY_S):
            rig.loop.sandbox.burst(BURST)
            self.bursts += 1


@pytest.fixture(scope="module")
def faulty(chaos_stack: ChaosStack) -> tuple[ScenarioRun, Bursts]:
    scale = current_scale()
    settings = chaos_stack.settings.model_copy(update={"send_timeout_seconds": SEND_TIMEOUT_S})
    bursts = Bursts()
    run = run_scenario(
        settings, chaos_stack.root / "logs", world_config(47, scale.customers, scale.days),
        speed=scale.speed, during=[OptedOutAtTheProvider(scale.customers), bursts],
        faults=faults(scale.customers),
    )  # fmt: skip
    return run, bursts


def test_provider_faults_are_retried_within_limits_and_never_duplicate_a_send(
    faulty: tuple[ScenarioRun, Bursts], chaos_stack: ChaosStack, record: Record
) -> None:
    run, bursts = faulty
    failed = run.day.ledger_states("failed")
    codes = Counter(reason.split("|", 1)[0] for reason in failed.values())
    attempts = [int(entry.get("attempts", 0)) for entry in run.day.ledger.values()]
    letters = [
        decode(r.value, expected=DeadLetter)
        for r in read_records(
            chaos_stack.settings.kafka_bootstrap,
            DEAD_LETTER.name,
            run.day.started[DEAD_LETTER.name],
        )
    ]
    lettered = {
        decision_id
        for decision_id in failed
        for letter in letters
        if isinstance(letter, DeadLetter) and decision_id in letter.payload and letter.reason
    }
    record(
        "Provider faults",
        {
            **run.tally.figures(),
            "faults": bursts.bursts,
            "permanent_failures": len(failed),
            "dead_lettered": len(lettered),
            "most_attempts": max(attempts),
            "failure_codes": dict(codes),
        },
    )
    run.tally.assert_held()
    assert_sent_exactly_once(
        run.day, NOT_SENT_REASONS | {OPTED_OUT, NOT_ALLOWED, "attempts_exhausted"}
    )
    assert codes[OPTED_OUT] > 0
    assert lettered == set(failed)
    assert max(attempts) <= chaos_stack.settings.send_max_attempts
