"""The stored offer and the redemption limits: valid input kept, bad input refused."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from offers.offer_book import RedemptionLimits, StoredOffer, euros_to_cents

ISSUED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def stored(**overrides: Any) -> dict[str, Any]:
    """A valid stored offer as input; an override of ``...`` removes the field."""
    fields: dict[str, Any] = {
        "decision_id": "dec-1",
        "customer_id": "cust-1",
        "campaign_id": "camp-summer",
        "channel": "sms",
        "language": "it",
        "message": "Ciao! 10% sul tuo traghetto per Capri oggi.",
        "offer": {"kind": "percent_discount", "percent": 10},
        "discount_eur": 12.5,
        "route_id": "NAP-CAP",
        "sailing_id": "S-2025-06-01-1400",
        "issued_at": ISSUED,
        "expires_at": ISSUED + timedelta(hours=2),
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not ...}


def problems(error: ValidationError) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in error.errors()]


def test_a_valid_offer_is_kept_unredeemed() -> None:
    offer = StoredOffer.model_validate(stored())
    assert offer.redeemed_at is None
    assert offer.discount_eur == 12.5
    assert StoredOffer.model_validate_json(offer.model_dump_json()) == offer


def test_route_and_sailing_are_optional() -> None:
    offer = StoredOffer.model_validate(stored(route_id=..., sailing_id=None))
    assert offer.route_id is None and offer.sailing_id is None


def test_times_are_normalised_to_utc() -> None:
    rome = timezone(timedelta(hours=2))
    offer = StoredOffer.model_validate(
        stored(
            issued_at=datetime(2025, 6, 1, 14, 0, tzinfo=rome), expires_at="2025-06-01T16:00+02:00"
        )
    )
    assert offer.issued_at == ISSUED and offer.issued_at.tzinfo is UTC
    assert offer.expires_at == ISSUED + timedelta(hours=2)


@pytest.mark.parametrize("expires_at", [ISSUED, ISSUED - timedelta(seconds=1)])
def test_expiry_must_follow_issue(expires_at: datetime) -> None:
    with pytest.raises(ValidationError) as caught:
        StoredOffer.model_validate(stored(expires_at=expires_at))
    [(field, message)] = problems(caught.value)
    assert field == ""
    assert message == (
        f"Value error, expires_at ({expires_at.isoformat()}) must be later than "
        f"issued_at ({ISSUED.isoformat()})"
    )


@pytest.mark.parametrize("discount", [-0.01, math.inf, math.nan])
def test_discount_is_a_finite_amount_not_below_zero(discount: float) -> None:
    with pytest.raises(ValidationError) as caught:
        StoredOffer.model_validate(stored(discount_eur=discount))
    assert [field for field, _ in problems(caught.value)] == ["discount_eur"]


def test_a_free_offer_has_no_discount() -> None:
    assert StoredOffer.model_validate(stored(discount_eur=0)).discount_eur == 0.0


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        StoredOffer.model_validate(stored(coupon_code="SUMMER10"))
    assert problems(caught.value) == [("coupon_code", "Extra inputs are not permitted")]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("message", ""),
        ("message", "x" * 1_601),
        ("customer_id", "cust 1"),
        ("channel", "carrier_pigeon"),
        ("language", "es"),
        ("issued_at", datetime(2025, 6, 1, 12, 0)),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_bad_fields_are_named(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        StoredOffer.model_validate(stored(**{field: value}))
    assert [name for name, _ in problems(caught.value)] == [field]


def test_a_message_of_1600_characters_is_kept() -> None:
    assert len(StoredOffer.model_validate(stored(message="x" * 1_600)).message) == 1_600


def test_offers_are_frozen() -> None:
    offer = StoredOffer.model_validate(stored())
    with pytest.raises(ValidationError):
        offer.discount_eur = 0.0  # type: ignore[misc]  # assigning is what is tested


def test_limits_refuse_negative_values() -> None:
    assert RedemptionLimits() == RedemptionLimits(None, None)
    with pytest.raises(ValueError, match="max_redemptions is -1, less than 0"):
        RedemptionLimits(max_redemptions=-1)
    with pytest.raises(ValueError, match="max_discount_spend_eur is inf"):
        RedemptionLimits(max_discount_spend_eur=math.inf)


@pytest.mark.parametrize(
    ("euros", "cents"), [(0.0, 0), (12.5, 1250), (0.285, 29), (19.99, 1999), (0.001, 0)]
)
def test_euros_become_whole_cents_as_written(euros: float, cents: int) -> None:
    assert euros_to_cents(euros) == cents
