"""The ground-truth response model: how likely a customer books, with and without an offer.

The engine never sees this model; the simulator uses it to decide how simulated customers
respond, and evaluations use it as the oracle (true propensity and true uplift).

Probability of booking within 72 hours, as a logistic of a linear combination::

    z0 = -4.2 + 0.6 ln(propensity) + 0.9 favourite + 0.2 family
         + 1.2 searched + 1.0 quoted + season (+0.35 peak, 0 shoulder, -0.35 low)
         + 0.8 exp(-distance_km / 25) - 0.25 ln(1 + hours_to_departure / 24)
    p_without = sigmoid(z0)

    d        = clip(discount_pct + 100 discount_eur / fare_eur, 0, 90)
    strength = 1.1 ln(1 + d / 10) (0.4 + 1.2 price_sensitivity)
    effect   = strength * channel * timing * intent * proximity
        channel   = base[channel] (push 0.9, whatsapp 1.1, sms 1.0, messenger 0.9),
                    times 0.7 when it is not the customer's preferred channel
        timing    = 0.4 at local hours 22:00-06:59 (quiet hours), else 1.0
        intent    = 1 + 0.5 searched + 0.3 quoted
        proximity = 1 + 0.6 exp(-distance_km / 30)
    p_with = sigmoid(z0 + effect)

``effect`` is never negative, so ``p_with >= p_without`` for every customer and context,
and it grows with the discount. True uplift is ``p_with - p_without``.

Offers that are not discounts count as what they are worth to the customer, in EUR
(:func:`offer_worth`): an onboard voucher half its amount, an upgrade its
:data:`UPGRADE_WORTH_EUR`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from offers.campaigns import Offer, OfferKind
from offers.campaigns.offer import Upgrade
from simulators.customers import Customers

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | int | bool | npt.NDArray[np.generic]

VOUCHER_VALUE_SHARE = 0.5
"""A voucher to spend on board is worth half its amount to the customer."""
UPGRADE_WORTH_EUR: dict[Upgrade, float] = {
    Upgrade.RESERVED_SEAT: 8.0,
    Upgrade.PRIORITY_BOARDING: 10.0,
    Upgrade.CABIN: 45.0,
    Upgrade.PREMIUM_CABIN: 80.0,
}
"""What an upgrade is worth to the customer, EUR."""


def offer_worth(offer: Offer) -> tuple[float, float]:
    """The offer's value as the ground truth reads it: (percent off, EUR off)."""
    if offer.kind is OfferKind.PERCENT_DISCOUNT and offer.percent is not None:
        return float(offer.percent), 0.0
    if offer.kind is OfferKind.FIXED_DISCOUNT:
        return 0.0, float(offer.amount_eur or 0.0)
    if offer.kind is OfferKind.ONBOARD_VOUCHER:
        return 0.0, VOUCHER_VALUE_SHARE * float(offer.amount_eur or 0.0)
    if offer.kind is OfferKind.UPGRADE and offer.upgrade is not None:
        return 0.0, UPGRADE_WORTH_EUR[offer.upgrade]
    return 0.0, 0.0


_CHANNEL_BASE = np.array([0.9, 1.1, 1.0, 0.9], dtype=np.float64)
"""Effect multiplier per channel, in the order of :data:`simulators.customers.CHANNELS`."""
_SEASON_TERM_BY_MONTH = np.array(
    [0.0, -0.35, -0.35, -0.35, 0.0, 0.0, 0.0, 0.35, 0.35, 0.0, 0.0, -0.35, -0.35]
)


@dataclass(frozen=True, slots=True)
class ResponseTraits:
    """The traits the response depends on: scalars for one customer, arrays for many."""

    price_sensitivity: ArrayLike
    travel_propensity: ArrayLike
    family: ArrayLike
    favourite_route_a: ArrayLike
    favourite_route_b: ArrayLike
    preferred_channel: ArrayLike

    @classmethod
    def of(cls, customers: Customers, index: int | npt.NDArray[np.int64]) -> ResponseTraits:
        """The traits of customer(s) ``index`` of ``customers``."""
        return cls(
            price_sensitivity=customers.price_sensitivity[index],
            travel_propensity=customers.travel_propensity[index],
            family=customers.family[index],
            favourite_route_a=customers.favourite_routes[index, 0],
            favourite_route_b=customers.favourite_routes[index, 1],
            preferred_channel=customers.preferred_channel[index],
        )


@dataclass(frozen=True, slots=True)
class OfferContext:
    """The situation of an offer: scalars, or arrays of one length (broadcast)."""

    route: ArrayLike
    """Route index (either direction of a customer's favourite counts as favourite)."""
    discount_pct: ArrayLike = 0.0
    discount_eur: ArrayLike = 0.0
    fare_eur: ArrayLike = 50.0
    hours_to_departure: ArrayLike = 14 * 24.0
    distance_km: ArrayLike = 300.0
    """Distance of the customer to the departure port."""
    recently_searched: ArrayLike = False
    recently_quoted: ArrayLike = False
    channel: ArrayLike = 0
    """Index into :data:`simulators.customers.CHANNELS`."""
    local_hour: ArrayLike = 12
    """Hour of the day (0-23) where the customer is when the offer arrives."""
    month: ArrayLike = 7
    """Month of departure (1-12)."""


def _f(value: ArrayLike) -> FloatArray:
    return np.asarray(value, dtype=np.float64)


def _i(value: ArrayLike) -> npt.NDArray[np.int64]:
    return np.asarray(value, dtype=np.int64)


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


def _baseline_logit(traits: ResponseTraits, context: OfferContext) -> FloatArray:
    pair = _i(context.route) // 2 * 2  # outbound index of the route's service
    favourite = (pair == _i(traits.favourite_route_a)) | (pair == _i(traits.favourite_route_b))
    searched, quoted = _f(context.recently_searched), _f(context.recently_quoted)
    return np.asarray(
        -4.2
        + 0.6 * np.log(np.maximum(_f(traits.travel_propensity), 1e-6))
        + 0.9 * favourite
        + 0.2 * _f(traits.family)
        + 1.2 * searched
        + 1.0 * quoted
        + _SEASON_TERM_BY_MONTH[_i(context.month)]
        + 0.8 * np.exp(-_f(context.distance_km) / 25.0)
        - 0.25 * np.log1p(np.maximum(_f(context.hours_to_departure), 0.0) / 24.0),
        dtype=np.float64,
    )


def offer_effect(traits: ResponseTraits, context: OfferContext) -> FloatArray:
    """How much the offer adds to the logit (never negative)."""
    fare = np.maximum(_f(context.fare_eur), 1.0)
    discount = np.clip(_f(context.discount_pct) + 100.0 * _f(context.discount_eur) / fare, 0, 90)
    strength = 1.1 * np.log1p(discount / 10.0) * (0.4 + 1.2 * _f(traits.price_sensitivity))
    channel = _i(context.channel)
    fit = np.where(channel == _i(traits.preferred_channel), 1.0, 0.7) * _CHANNEL_BASE[channel]
    hour = _i(context.local_hour)
    timing = np.where((hour >= 22) | (hour < 7), 0.4, 1.0)
    intent = 1.0 + 0.5 * _f(context.recently_searched) + 0.3 * _f(context.recently_quoted)
    proximity = 1.0 + 0.6 * np.exp(-_f(context.distance_km) / 30.0)
    return np.asarray(strength * fit * timing * intent * proximity, dtype=np.float64)


def baseline_probabilities(traits: ResponseTraits, context: OfferContext) -> FloatArray:
    """Probability of booking without any offer (vectorised)."""
    return _sigmoid(_baseline_logit(traits, context))


def true_conversion_probabilities(traits: ResponseTraits, context: OfferContext) -> FloatArray:
    """Probability of booking when the offer in ``context`` is sent (vectorised)."""
    return _sigmoid(_baseline_logit(traits, context) + offer_effect(traits, context))


def true_uplifts(traits: ResponseTraits, context: OfferContext) -> FloatArray:
    """``p_with - p_without`` (vectorised); never negative."""
    z0 = _baseline_logit(traits, context)
    return _sigmoid(z0 + offer_effect(traits, context)) - _sigmoid(z0)


def _scalar(values: FloatArray) -> float:
    if values.size != 1:
        raise ValueError(f"expected scalar traits and context, got {values.size} values")
    return float(values.reshape(()))


def true_conversion_probability(traits: ResponseTraits, context: OfferContext) -> float:
    """Probability of booking with the offer, for one customer and one context."""
    return _scalar(true_conversion_probabilities(traits, context))


def baseline_probability(traits: ResponseTraits, context: OfferContext) -> float:
    """Probability of booking without an offer, for one customer and one context."""
    return _scalar(baseline_probabilities(traits, context))


def true_uplift(traits: ResponseTraits, context: OfferContext) -> float:
    """True uplift of the offer, for one customer and one context."""
    return _scalar(true_uplifts(traits, context))
