"""Offers: the value that fits each kind, where they apply, what they cost."""

from __future__ import annotations

from typing import Any

import pytest

from offers.campaigns import Offer, OfferKind
from tests.unit.campaigns.factories import assert_rejected


def offer(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": "percent_discount", "percent": 10, "cost_eur": 5.0}
    data.update({"route_ids": ["LIV-OLB"]})
    for name, value in fields.items():
        if value is ...:
            data.pop(name, None)
        else:
            data[name] = value
    return data


GOOD = [
    pytest.param(offer(percent=1), id="percent-lowest"),
    pytest.param(offer(percent=90), id="percent-highest"),
    pytest.param(offer(kind="fixed_discount", percent=..., amount_eur=10), id="fixed"),
    pytest.param(offer(kind="fixed_discount", percent=..., amount_eur=0.01), id="fixed-cent"),
    pytest.param(offer(kind="onboard_voucher", percent=..., amount_eur=1000), id="voucher-max"),
    pytest.param(offer(kind="upgrade", percent=..., upgrade="cabin"), id="upgrade"),
    pytest.param(offer(route_ids=..., all_routes=True), id="all-routes"),
    pytest.param(offer(route_ids=..., sailing_ids=["S-1", "S-2"]), id="sailings-only"),
    pytest.param(offer(sailing_ids=["S-1"]), id="routes-and-sailings"),
    pytest.param(offer(cost_eur=0), id="free-to-the-business"),
]


@pytest.mark.parametrize("data", GOOD)
def test_good_offers_are_accepted(data: dict[str, Any]) -> None:
    parsed = Offer.model_validate(data)
    assert Offer.model_validate(parsed.model_dump(mode="json")) == parsed


BAD = [
    pytest.param(offer(kind="coupon"), "kind", "'percent_discount', 'fixed_discount'", id="kind"),
    pytest.param(
        offer(percent=...), "percent", "is required when kind is percent_discount", id="p"
    ),
    pytest.param(offer(percent=0), "percent", "greater than or equal to 1", id="percent-0"),
    pytest.param(offer(percent=91), "percent", "less than or equal to 90", id="percent-91"),
    pytest.param(offer(percent=12.5), "percent", "valid integer", id="percent-fraction"),
    pytest.param(offer(percent="10"), "percent", "valid integer", id="percent-text"),
    pytest.param(
        offer(amount_eur=5), "amount_eur", "does not apply when kind is percent_discount", id="both"
    ),
    pytest.param(
        offer(upgrade="cabin"), "upgrade", "does not apply when kind is percent_discount", id="upg"
    ),
    pytest.param(
        offer(kind="fixed_discount", percent=...),
        "amount_eur",
        "is required when kind is fixed_discount",
        id="fixed-no-amount",
    ),
    pytest.param(
        offer(kind="fixed_discount"),
        "amount_eur",
        "is required when kind is fixed_discount",
        id="fixed-with-percent",
    ),
    pytest.param(
        offer(kind="fixed_discount", percent=..., amount_eur=0),
        "amount_eur",
        "greater than 0",
        id="fixed-zero",
    ),
    pytest.param(
        offer(kind="onboard_voucher", percent=..., amount_eur=1000.01),
        "amount_eur",
        "less than or equal to 1000",
        id="voucher-too-big",
    ),
    pytest.param(
        offer(kind="onboard_voucher", percent=..., amount_eur="NaN"),
        "amount_eur",
        "valid number",
        id="voucher-nan",
    ),
    pytest.param(
        offer(kind="upgrade", percent=...),
        "upgrade",
        "is required when kind is upgrade",
        id="upgrade-missing",
    ),
    pytest.param(
        offer(kind="upgrade", percent=..., upgrade="yacht"),
        "upgrade",
        "'reserved_seat', 'cabin'",
        id="upgrade-unknown",
    ),
    pytest.param(
        offer(route_ids=[]),
        "route_ids",
        "give at least one route or sailing id, or set all_routes to true",
        id="nowhere",
    ),
    pytest.param(
        offer(all_routes=True), "route_ids", "must be empty when all_routes is true", id="all+r"
    ),
    pytest.param(
        offer(route_ids=..., all_routes=True, sailing_ids=["S-1"]),
        "sailing_ids",
        "must be empty when all_routes is true",
        id="all+sailings",
    ),
    pytest.param(offer(all_routes="yes"), "all_routes", "valid boolean", id="all-routes-text"),
    pytest.param(
        offer(route_ids=["LIV-OLB", "NAP-CAP"]),
        "route_ids.1",
        "unknown route 'NAP-CAP'; known routes: ARB-CIV",
        id="unknown-route",
    ),
    pytest.param(
        offer(route_ids=["LIV-OLB", "LIV-OLB"]),
        "route_ids.1",
        "route 'LIV-OLB' is listed twice",
        id="route-twice",
    ),
    pytest.param(
        offer(sailing_ids=["S-1", "S-1"]),
        "sailing_ids.1",
        "sailing 'S-1' is listed twice",
        id="sailing-twice",
    ),
    pytest.param(offer(sailing_ids=["S 1"]), "sailing_ids.0", "should match pattern", id="s-id"),
    pytest.param(offer(cost_eur=...), "cost_eur", "Field required", id="no-cost"),
    pytest.param(offer(cost_eur=-1), "cost_eur", "greater than or equal to 0", id="neg-cost"),
    pytest.param(offer(cost_eur=True), "cost_eur", "valid number", id="bool-cost"),
    pytest.param(offer(currency="USD"), "currency", "Extra inputs are not permitted", id="extra"),
]


@pytest.mark.parametrize(("data", "field", "fragment"), BAD)
def test_bad_offers_are_rejected(data: dict[str, Any], field: str, fragment: str) -> None:
    assert_rejected(Offer, data, field, fragment)


def test_where_an_offer_applies() -> None:
    by_route = Offer.model_validate(offer(sailing_ids=["S-9"]))
    assert by_route.applies_to("LIV-OLB")
    assert not by_route.applies_to("OLB-LIV")
    assert by_route.applies_to("OLB-LIV", "S-9")
    everywhere = Offer.model_validate(offer(route_ids=..., all_routes=True))
    assert everywhere.applies_to("STE-BON", "S-1")


@pytest.mark.parametrize(
    ("data", "fare", "discount"),
    [
        (offer(percent=15), 40.0, 6.0),
        (offer(percent=33), 10.0, 3.3),
        (offer(kind="fixed_discount", percent=..., amount_eur=10), 49.0, 10.0),
        (offer(kind="fixed_discount", percent=..., amount_eur=60), 49.0, 49.0),
        (offer(kind="upgrade", percent=..., upgrade="cabin"), 49.0, 0.0),
        (offer(kind="onboard_voucher", percent=..., amount_eur=20), 49.0, 0.0),
    ],
)
def test_discount_off_a_fare(data: dict[str, Any], fare: float, discount: float) -> None:
    assert Offer.model_validate(data).discount_eur(fare) == pytest.approx(discount)


def test_every_kind_has_a_value_field() -> None:
    examples: dict[OfferKind, dict[str, Any]] = {
        OfferKind.PERCENT_DISCOUNT: {"percent": 5},
        OfferKind.FIXED_DISCOUNT: {"amount_eur": 5},
        OfferKind.UPGRADE: {"upgrade": "priority_boarding"},
        OfferKind.ONBOARD_VOUCHER: {"amount_eur": 5},
    }
    assert set(examples) == set(OfferKind)
    for kind, value in examples.items():
        Offer.model_validate({"kind": kind.value, "all_routes": True, "cost_eur": 1, **value})
