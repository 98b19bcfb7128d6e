"""What a campaign offers: the kind of offer, its value, where it applies, what it costs."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    field_validator,
    model_validator,
)

from offers.campaigns import network
from offers.campaigns.errors import field_problem
from offers.campaigns.primitives import Euros
from offers.contracts.base import Identifier

MAX_FIXED_EUR = 1_000.0
"""The largest fixed discount or onboard voucher, in EUR."""


class OfferKind(StrEnum):
    PERCENT_DISCOUNT = "percent_discount"
    """``percent`` off the fare."""
    FIXED_DISCOUNT = "fixed_discount"
    """``amount_eur`` off the fare."""
    UPGRADE = "upgrade"
    """A free ``upgrade`` (seat, cabin, priority boarding)."""
    ONBOARD_VOUCHER = "onboard_voucher"
    """A voucher of ``amount_eur`` to spend on board."""


class Upgrade(StrEnum):
    RESERVED_SEAT = "reserved_seat"
    CABIN = "cabin"
    PREMIUM_CABIN = "premium_cabin"
    PRIORITY_BOARDING = "priority_boarding"


_VALUE_FIELD: dict[OfferKind, str] = {
    OfferKind.PERCENT_DISCOUNT: "percent",
    OfferKind.FIXED_DISCOUNT: "amount_eur",
    OfferKind.UPGRADE: "upgrade",
    OfferKind.ONBOARD_VOUCHER: "amount_eur",
}
_VALUE_FIELDS = ("percent", "amount_eur", "upgrade")


class Offer(BaseModel):
    """One offer: its kind with the value that fits it, where it applies, its cost.

    Exactly the value field of the kind is set: ``percent`` for a percentage discount,
    ``amount_eur`` for a fixed discount or an onboard voucher, ``upgrade`` for an upgrade.
    It applies to ``all_routes``, or to the routes and sailings listed (at least one).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: OfferKind = Field(description="What is offered.")
    percent: Annotated[int, Strict(), Field(ge=1, le=90)] | None = Field(
        None, description="Discount in percent of the fare, 1 to 90 (percent_discount only)."
    )
    amount_eur: (
        Annotated[float, Strict(), Field(gt=0.0, le=MAX_FIXED_EUR, allow_inf_nan=False)] | None
    ) = Field(
        None,
        description="EUR off the fare or on board, above 0 (fixed_discount, onboard_voucher).",
    )
    upgrade: Upgrade | None = Field(None, description="The upgrade given (upgrade only).")
    all_routes: StrictBool = Field(False, description="Applies to every route and sailing.")
    route_ids: tuple[Identifier, ...] = Field(
        (), max_length=50, description="Routes it applies to (e.g. LIV-OLB), each existing."
    )
    sailing_ids: tuple[Identifier, ...] = Field(
        (), max_length=200, description="Sailings it applies to."
    )
    cost_eur: Euros = Field(
        description="Cost to the business of one redemption, in EUR (0 or more)."
    )

    @field_validator("route_ids")
    @classmethod
    def _known_routes(cls, routes: tuple[str, ...]) -> tuple[str, ...]:
        known = network.route_ids()
        for i, route in enumerate(routes):
            if route not in known:
                raise field_problem(
                    str(i), f"unknown route {route!r}; known routes: {', '.join(sorted(known))}"
                )
            if route in routes[:i]:
                raise field_problem(str(i), f"route {route!r} is listed twice")
        return routes

    @field_validator("sailing_ids")
    @classmethod
    def _distinct_sailings(cls, sailings: tuple[str, ...]) -> tuple[str, ...]:
        for i, sailing in enumerate(sailings):
            if sailing in sailings[:i]:
                raise field_problem(str(i), f"sailing {sailing!r} is listed twice")
        return sailings

    @model_validator(mode="after")
    def _value_fits_kind(self) -> Offer:
        needed = _VALUE_FIELD[self.kind]
        if getattr(self, needed) is None:
            raise field_problem(needed, f"is required when kind is {self.kind.value}")
        for name in _VALUE_FIELDS:
            if name != needed and getattr(self, name) is not None:
                raise field_problem(name, f"does not apply when kind is {self.kind.value}")
        return self

    @model_validator(mode="after")
    def _applies_somewhere(self) -> Offer:
        if self.all_routes:
            for name in ("route_ids", "sailing_ids"):
                if getattr(self, name):
                    raise field_problem(name, "must be empty when all_routes is true")
        elif not self.route_ids and not self.sailing_ids:
            raise field_problem(
                "route_ids", "give at least one route or sailing id, or set all_routes to true"
            )
        return self

    def applies_to(self, route_id: str, sailing_id: str | None = None) -> bool:
        """Whether the offer can be redeemed on ``route_id`` (and ``sailing_id``, if any)."""
        if self.all_routes or route_id in self.route_ids:
            return True
        return sailing_id is not None and sailing_id in self.sailing_ids

    def discount_eur(self, fare_eur: float) -> float:
        """The discount off a fare of ``fare_eur``: 0 for upgrades and onboard vouchers."""
        if self.kind is OfferKind.PERCENT_DISCOUNT and self.percent is not None:
            return round(fare_eur * self.percent / 100.0, 2)
        if self.kind is OfferKind.FIXED_DISCOUNT and self.amount_eur is not None:
            return min(self.amount_eur, fare_eur)
        return 0.0
