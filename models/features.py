"""The feature vector of the offer scoring model, defined once.

:data:`FEATURES` lists the model's features in column order, each with its kind and
what it means. :class:`FeatureEncoder` builds the model's matrix (float32, one row per
candidate offer, one column per feature) from the customers' online features
(:class:`models.inputs.CustomerColumns`) and the candidates' request-time inputs
(:class:`models.inputs.Candidates`), with numpy operations over whole columns.

Missing values are NaN, LightGBM's missing value. A categorical feature holds the code of
its value in its ``categories`` (the vocabularies of ``models.vocabulary``), NaN when the
value is missing or unknown; models are trained with these columns declared categorical.

Derived features use the definitions of the on-demand view ``offer_context_odfv``:
great-circle distance on the mean Earth radius, hours from the request to the departure,
discount over the current fare (the discount of ``Offer.discount_eur``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from models.errors import FeatureMismatchError
from models.inputs import CUSTOMER_COLUMN, Candidates, CustomerColumns
from models.vocabulary import (
    CHANNELS,
    LANGUAGES,
    OFFER_KIND_CODES,
    OFFER_KINDS,
    ROUTE_ORIGIN_LAT,
    ROUTE_ORIGIN_LON,
    ROUTES,
    TRIGGERS,
)
from offers.campaigns.offer import OfferKind
from simulators.geo import haversine_km

FeatureKind = Literal["numeric", "categorical"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
FeatureMatrix = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ModelFeature:
    """One column of the model's matrix."""

    name: str
    kind: FeatureKind
    description: str
    categories: tuple[str, ...] = ()
    """Values of a categorical feature in code order (value ``categories[k]`` is ``k``)."""

    def schema(self) -> dict[str, Any]:
        """What the registry records of the feature (and compares when loading a model)."""
        return {"name": self.name, "kind": self.kind, "categories": list(self.categories)}


def _num(name: str, description: str) -> ModelFeature:
    return ModelFeature(name, "numeric", description)


def _cat(name: str, categories: tuple[str, ...], description: str) -> ModelFeature:
    return ModelFeature(name, "categorical", description, categories)


FEATURES: tuple[ModelFeature, ...] = (
    # the customer, from the online store (NaN when the customer has no row in the view)
    _num("last_lat", "latitude of the last location ping (location view)"),
    _num("last_lon", "longitude of the last location ping"),
    _num("nearest_port_km", "distance from the last ping to the nearest port, km"),
    _num("dwell_s", "seconds inside the current port geofence, 0 outside"),
    _num("speed_mps", "speed between the last two pings, m/s"),
    _num("pings_1h", "pings in the hour before the last one"),
    _num("hours_since_last_ping", "request time minus the last ping's time, hours"),
    _num("sentiment_7d", "mean sentiment of the posts of 7 days, -1..1 (social view)"),
    _num("posts_7d", "posts in 7 days"),
    _num("brand_mentions_7d", "brand mentions in 7 days"),
    _cat("language", LANGUAGES, "language of the latest post"),
    _num("searches_24h", "booking searches in 24 hours (booking view)"),
    _num("quotes_24h", "quotes in 24 hours"),
    _num("abandoned_quotes_24h", "quotes of 24 hours not followed by a booking"),
    _num("days_since_last_booking", "request time minus the last booking, days; NaN if none"),
    _num("bookings_total", "bookings to date"),
    _num("spend_total_eur", "spend to date net of cancellations, EUR"),
    _num("cancellations_total", "cancellations to date"),
    # the customer and the candidate together
    _num("route_interest_24h", "searches + quotes of 24 hours on the offered route, either way"),
    _num("distance_to_departure_km", "last ping to the offered departure port, km"),
    # the candidate: its context
    _cat("trigger", TRIGGERS, "the signal that made the engine consider the offer"),
    _cat("channel", CHANNELS, "the channel the offer would be sent over"),
    _num("local_hour", "hour of the day (0-23) where the customer is"),
    _cat("route", ROUTES, "the offered route"),
    _num("hours_to_departure", "request time to the offered departure, hours"),
    _num("departure_month", "month (1-12, UTC) of the offered departure"),
    _num("fare_eur", "current lowest adult fare of the offered sailing, EUR"),
    _num("load_factor_pax", "booked / capacity of the offered sailing, passengers"),
    # the candidate: the campaign's offer
    _cat("offer_kind", OFFER_KINDS, "what is offered"),
    _num("offer_percent", "discount in percent (percent discounts only)"),
    _num("offer_amount_eur", "EUR off the fare or on board (fixed discounts, vouchers)"),
    _num("offer_cost_eur", "cost to the business of one redemption, EUR"),
    _num("discount_ratio", "discount off the current fare / fare (0 for upgrades, vouchers)"),
    _num("offer_value_ratio", "discount, voucher amount or upgrade cost / fare"),
)

FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(
    feature.name for feature in FEATURES if feature.kind == "categorical"
)


class FeatureEncoder:
    """Turns customers' online features and candidates into the model's matrix."""

    features: tuple[ModelFeature, ...] = FEATURES
    names: tuple[str, ...] = FEATURE_NAMES

    @property
    def categorical(self) -> tuple[int, ...]:
        """Column indices of the categorical features."""
        return tuple(j for j, f in enumerate(self.features) if f.kind == "categorical")

    def schema(self) -> list[dict[str, Any]]:
        """Names, kinds and categories of the features, in column order."""
        return [feature.schema() for feature in self.features]

    def encode(self, customers: CustomerColumns, candidates: Candidates) -> FeatureMatrix:
        """One float32 row per candidate, one column per feature of :data:`FEATURES`."""
        if len(candidates) and (
            candidates.customer.min() < 0 or candidates.customer.max() >= len(customers)
        ):
            raise FeatureMismatchError(
                f"candidates point at customer rows outside 0..{len(customers) - 1}"
            )
        columns = _customer_features(customers, candidates)
        columns.update(_candidate_features(candidates))
        matrix = np.empty((len(candidates), len(self.names)), dtype=np.float32)
        for j, name in enumerate(self.names):
            matrix[:, j] = columns[name]
        return matrix


def _customer_features(customers: CustomerColumns, candidates: Candidates) -> dict[str, Any]:
    rows = customers.values[candidates.customer]

    def column(name: str) -> FloatArray:
        return rows[:, CUSTOMER_COLUMN[name]]

    kept = [name for name in CUSTOMER_COLUMN if name in FEATURE_NAMES]
    result: dict[str, Any] = {name: column(name) for name in kept}
    request = candidates.request_ts
    with np.errstate(invalid="ignore"):
        last_ping, last_booking = column("last_ping_ts"), column("last_booking_ts")
        result["hours_since_last_ping"] = np.where(
            last_ping > 0, (request - last_ping) / 3600.0, np.nan
        )
        result["days_since_last_booking"] = np.where(
            last_booking > 0, (request - last_booking) / 86_400.0, np.nan
        )
    route = candidates.route
    known = route >= 0
    safe = np.where(known, route, 0)
    interest = (
        customers.route_counts[candidates.customer, safe]
        + customers.route_counts[candidates.customer, safe ^ 1]
    )
    result["route_interest_24h"] = np.where(known, interest, np.nan)
    port_lat = np.where(known, ROUTE_ORIGIN_LAT[safe], np.nan)
    port_lon = np.where(known, ROUTE_ORIGIN_LON[safe], np.nan)
    result["distance_to_departure_km"] = haversine_km(
        column("last_lat"), column("last_lon"), port_lat, port_lon
    )
    return result


def _category(codes_: IntArray) -> FloatArray:
    return np.where(codes_ >= 0, codes_, np.nan)


_PERCENT = OFFER_KIND_CODES[OfferKind.PERCENT_DISCOUNT]
_FIXED = OFFER_KIND_CODES[OfferKind.FIXED_DISCOUNT]
_UPGRADE = OFFER_KIND_CODES[OfferKind.UPGRADE]
_VOUCHER = OFFER_KIND_CODES[OfferKind.ONBOARD_VOUCHER]


def _candidate_features(c: Candidates) -> dict[str, Any]:
    kind = c.offer_kind
    fare = np.where(c.fare_eur > 0, c.fare_eur, np.nan)
    with np.errstate(invalid="ignore"):
        discount = np.select(
            [kind == _PERCENT, kind == _FIXED, kind >= 0],
            [
                np.round(c.fare_eur * c.offer_percent / 100.0, 2),
                np.fmin(c.offer_amount_eur, c.fare_eur),
                0.0,
            ],
            np.nan,
        )
        value = np.select(
            [kind == _VOUCHER, kind == _UPGRADE],
            [c.offer_amount_eur, c.offer_cost_eur],
            discount,
        )
        months = np.full(len(c), np.nan)
        known = np.isfinite(c.departure_ts)
        seconds = c.departure_ts[known].astype(np.int64).astype("datetime64[s]")
        months[known] = seconds.astype("datetime64[M]").astype(np.int64) % 12 + 1
        return {
            "trigger": _category(c.trigger),
            "channel": _category(c.channel),
            "local_hour": c.local_hour,
            "route": _category(c.route),
            "hours_to_departure": (c.departure_ts - c.request_ts) / 3600.0,
            "departure_month": months,
            "fare_eur": c.fare_eur,
            "load_factor_pax": c.load_factor_pax,
            "offer_kind": _category(kind),
            "offer_percent": c.offer_percent,
            "offer_amount_eur": c.offer_amount_eur,
            "offer_cost_eur": c.offer_cost_eur,
            "discount_ratio": discount / fare,
            "offer_value_ratio": value / fare,
        }
