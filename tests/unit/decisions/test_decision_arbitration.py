"""Arbitration: the greedy choice by priority, exploration drawn from the trigger,
logged propensities that are the policy's true choice probabilities, net values."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offers.campaigns import OfferKind
from streams.decisions.arbitration import Candidate, arbitrate, net_value, ranked
from streams.decisions.policy import draw
from tests.unit.campaigns.factories import nested, valid_campaign

A = Candidate("cmp-a", propensity=0.10, value_eur=50.0)  # priority 5
B = Candidate("cmp-b", propensity=0.30, value_eur=20.0)  # priority 6
C = Candidate("cmp-c", propensity=0.20, value_eur=30.0, lever=0.5)  # priority 3


def test_priority_is_propensity_times_value_times_weight_times_lever() -> None:
    assert Candidate("x", 0.2, 40.0, context_weight=1.5, lever=0.5).priority == pytest.approx(6.0)
    assert Candidate("x", 0.9, -10.0).priority == 0.0


def test_without_exploration_the_highest_priority_wins() -> None:
    choice = arbitrate([A, B, C], exploration_share=0.0, draw_key="trg-1|c-1")
    assert choice is not None
    assert choice.chosen == B and not choice.exploration and choice.propensity == 1.0
    assert choice.ranked == (B, A, C)


def test_ties_are_broken_by_campaign_id_whatever_the_order() -> None:
    one, two = Candidate("cmp-2", 0.5, 10.0), Candidate("cmp-1", 0.5, 10.0)
    assert ranked([one, two]) == ranked([two, one]) == (two, one)


def test_no_candidate_worth_anything_means_no_offer() -> None:
    worthless = [Candidate("cmp-a", 0.4, 0.0), Candidate("cmp-b", 0.0, 30.0)]
    assert arbitrate(worthless, exploration_share=0.1, draw_key="k") is None
    assert arbitrate([], exploration_share=0.1, draw_key="k") is None


def test_the_same_trigger_always_draws_the_same_choice() -> None:
    choices = {arbitrate([A, B, C], exploration_share=0.5, draw_key="trg-9|c-3") for _ in range(20)}
    assert len(choices) == 1


def test_exploration_happens_at_its_share_and_logs_true_probabilities() -> None:
    share, n = 0.2, 20_000
    chosen: Counter[str] = Counter()
    logged: dict[str, float] = {}
    explored = 0
    for i in range(n):
        choice = arbitrate([A, B, C], exploration_share=share, draw_key=f"trg-{i}|c-{i % 97}")
        assert choice is not None
        chosen[choice.chosen.campaign_id] += 1
        explored += choice.exploration
        logged[choice.chosen.campaign_id] = choice.propensity
    assert explored / n == pytest.approx(share, abs=0.01)
    assert logged == pytest.approx({"cmp-b": 0.8 + 0.2 / 3, "cmp-a": 0.2 / 3, "cmp-c": 0.2 / 3})
    for campaign, probability in logged.items():
        assert chosen[campaign] / n == pytest.approx(probability, abs=0.01)


def test_a_single_candidate_is_never_explored() -> None:
    choice = arbitrate([A], exploration_share=0.9, draw_key="k")
    assert choice is not None and not choice.exploration and choice.propensity == 1.0


def test_an_exploration_share_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="exploration_share"):
        arbitrate([A], exploration_share=1.0, draw_key="k")


@given(st.binary(), st.text())
def test_draws_are_in_the_unit_interval(key: bytes, message: str) -> None:
    assert 0.0 <= draw(key, message) < 1.0


def test_net_value_takes_the_offers_cost_off_the_campaigns_value() -> None:
    percent = valid_campaign(priority_eur=30.0, offer=nested("offer", percent=10, cost_eur=4.0))
    assert net_value(percent, fare_eur=120.0) == pytest.approx(30.0 - 12.0)
    assert net_value(percent, fare_eur=None) == pytest.approx(30.0 - 4.0)
    voucher = valid_campaign(
        priority_eur=30.0,
        offer={
            "kind": OfferKind.ONBOARD_VOUCHER.value,
            "amount_eur": 15.0,
            "all_routes": True,
            "cost_eur": 6.0,
        },
    )
    assert net_value(voucher, fare_eur=120.0) == pytest.approx(24.0)
