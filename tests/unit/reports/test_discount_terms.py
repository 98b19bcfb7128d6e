"""What each kind of offer costs the business on a booking made with it."""

from __future__ import annotations

from typing import Any

import pytest

from offers.campaigns import Campaign
from offers.reports import NO_DISCOUNT, DiscountTerms
from offers.reports.source import discount_terms
from tests.unit.campaigns.factories import nested, valid_campaign


def campaign_offering(**offer: Any) -> Campaign:
    """The example campaign with its offer changed by ``offer`` (``...`` removes a field)."""
    return valid_campaign(offer=nested("offer", **offer))


def test_a_percentage_discount_takes_its_percent_of_each_fare() -> None:
    campaign = campaign_offering(percent=15, cost_eur=9.5)
    terms = discount_terms(campaign)
    assert terms == DiscountTerms(percent=15.0)
    assert terms.cost_of(200.0) == pytest.approx(30.0)
    assert terms.cost_of(80.0) == pytest.approx(campaign.offer.discount_eur(80.0))


def test_a_fixed_discount_takes_its_amount_never_more_than_the_fare() -> None:
    campaign = campaign_offering(kind="fixed_discount", percent=..., amount_eur=20.0)
    terms = discount_terms(campaign)
    assert terms == DiscountTerms(fixed_eur=20.0)
    assert terms.cost_of(120.0) == 20.0
    assert terms.cost_of(12.0) == 12.0 == campaign.offer.discount_eur(12.0)


def test_an_upgrade_costs_the_offers_cost_per_redemption() -> None:
    campaign = campaign_offering(kind="upgrade", percent=..., upgrade="cabin", cost_eur=35.0)
    terms = discount_terms(campaign)
    assert terms == DiscountTerms(fixed_eur=35.0)
    assert terms.cost_of(150.0) == 35.0
    assert campaign.offer.discount_eur(150.0) == 0.0  # nothing comes off the fare


def test_an_onboard_voucher_costs_what_it_costs_the_business_not_its_face_value() -> None:
    campaign = campaign_offering(
        kind="onboard_voucher", percent=..., amount_eur=25.0, cost_eur=12.0
    )
    terms = discount_terms(campaign)
    assert terms == DiscountTerms(fixed_eur=12.0)
    assert terms.cost_of(90.0) == 12.0
    assert terms.cost_of(8.0) == 8.0  # never more than the booking's price


def test_an_offer_that_costs_the_business_nothing_gives_no_discount() -> None:
    campaign = campaign_offering(
        kind="upgrade", percent=..., upgrade="priority_boarding", cost_eur=0.0
    )
    assert discount_terms(campaign) == NO_DISCOUNT


def test_a_discounts_cost_per_redemption_is_not_added_to_the_discount() -> None:
    cheap = discount_terms(campaign_offering(percent=10, cost_eur=0.0))
    costly = discount_terms(campaign_offering(percent=10, cost_eur=50.0))
    assert cheap == costly == DiscountTerms(percent=10.0)
