"""A simulated day through the whole engine and the loop around it: the real broker and
Redis, a stream-processor worker, a delivery worker, the API, the provider sandbox and
the simulated customers. Every offer to send is sent exactly once, and the funnel the
reports count agrees with what the sandbox and the customers saw."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from offers.demo_setup import engine_settings
from offers.settings import Settings
from simulators.world import DEFAULT_START, WorldConfig
from tests.integration.decision_runs import trained_registry
from tests.integration.loop_runs import LoopDay, assert_sent_exactly_once, decision_of, run_days

pytestmark = pytest.mark.integration

WORLD = WorldConfig(seed=11, customers=1_000, days=1, start=DEFAULT_START + timedelta(days=20))
"""A day of its own: the customers' caps and the engine's clock carry over between runs."""
SPEED = 2_400.0
"""Simulated seconds per second: the day in 36 s, the loop's answers within the hour."""


@pytest.fixture(scope="module")
def day(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopDay]:
    root = tmp_path_factory.mktemp("loop")
    registry = trained_registry(root / "registry")
    settings = engine_settings(stack_settings, registry.directory)
    yield run_days(settings, root / "logs", WORLD, speed=SPEED)


def test_every_offer_to_send_is_sent_exactly_once(day: LoopDay) -> None:
    assert_sent_exactly_once(day)


def test_the_funnel_agrees_with_the_sandbox_and_the_customers(day: LoopDay) -> None:
    campaign_of = {d.decision_id: d.campaign_id for d in day.sends.values()}
    for result in day.results:
        campaign = result.campaign.id
        funnel = result.report.funnel
        mine = [m for m in day.offers if campaign_of.get(decision_of(m)) == campaign]
        answered = [r for r in day.responses if r.campaign_id == campaign]
        assert funnel.sent == sum(1 for c in campaign_of.values() if c == campaign)
        assert funnel.delivered == sum(1 for m in mine if m.reached("delivered")), campaign
        # an offer may expire before its customer gets to it (410): not a click
        assert funnel.clicked == sum(1 for r in answered if r.clicked and not r.click_error)
        assert funnel.redeemed == sum(1 for r in answered if r.redeemed)
        assert funnel.converted == sum(1 for r in answered if r.redeemed and r.booking_ref)


def test_the_customers_answer_by_the_ground_truth(day: LoopDay) -> None:
    caused = [r for r in day.responses if r.caused]
    expected = sum(r.u for r in day.responses)
    assert day.responses, "no customer answered"
    assert abs(len(caused) - expected) <= 4 * max(expected, 1) ** 0.5 + 2
    refused = Counter((r.redemption_error or "")[:8] for r in caused if not r.redeemed)
    assert set(refused) <= {"HTTP 410"}, refused  # only offers expired before redemption


def test_the_decisions_happened_on_the_simulated_day(day: LoopDay) -> None:
    for decision in day.sends.values():
        assert WORLD.start <= decision.event_time <= WORLD.end
