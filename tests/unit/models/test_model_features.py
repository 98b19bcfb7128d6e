from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from features.fields import CUSTOMER_BOOKING, CUSTOMER_LOCATION, CUSTOMER_SOCIAL
from models.errors import FeatureMismatchError
from models.features import CATEGORICAL_FEATURES, FEATURE_NAMES, FEATURES, FeatureEncoder
from models.inputs import (
    CUSTOMER_INPUTS,
    ONLINE_FEATURES,
    ONLINE_VIEW_FEATURES,
    CandidateBatch,
    CustomerColumns,
)
from models.vocabulary import CHANNELS, LANGUAGES, OFFER_KINDS, ROUTES, TRIGGERS
from offers.campaigns.offer import OfferKind
from offers.campaigns.targeting import Trigger
from offers.contracts.events import Channel
from simulators.geo import haversine_km
from simulators.ports import port_named
from tests.unit.models.model_factories import (
    add_candidate,
    candidates,
    empty_online_row,
    offer,
    online_row,
)

COLUMN = {name: j for j, name in enumerate(FEATURE_NAMES)}
CUSTOMER_FEATURES = FEATURE_NAMES[: COLUMN["distance_to_departure_km"] + 1]


def encode_one(row: dict[str, Any] | None, **candidate: Any) -> dict[str, float]:
    """Feature name -> value of one candidate of one customer."""
    batch = CandidateBatch()
    add_candidate(batch, **candidate)
    matrix = FeatureEncoder().encode(CustomerColumns.from_rows([row]), batch.build())
    assert matrix.shape == (1, len(FEATURES))
    return {name: float(matrix[0, j]) for name, j in COLUMN.items()}


def test_the_feature_list_is_ordered_unique_and_typed() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURES) == 34
    assert FeatureEncoder().names == FEATURE_NAMES
    assert CATEGORICAL_FEATURES == ("language", "trigger", "channel", "route", "offer_kind")
    assert FeatureEncoder().categorical == tuple(COLUMN[name] for name in CATEGORICAL_FEATURES)
    for feature in FEATURES:
        assert feature.description
        assert bool(feature.categories) == (feature.kind == "categorical")


def test_online_features_are_those_of_the_feature_views() -> None:
    views = {
        "customer_location_fv": CUSTOMER_LOCATION,
        "customer_social_fv": CUSTOMER_SOCIAL,
        "customer_booking_fv": CUSTOMER_BOOKING,
    }
    for view, names in ONLINE_VIEW_FEATURES.items():
        declared = {field.name for field in views[view]}
        assert set(names) <= declared, view
    assert set(CUSTOMER_INPUTS) | {"routes_24h", "route_counts_24h"} == set(ONLINE_FEATURES)


def test_each_column_holds_its_feature() -> None:
    values = encode_one(online_row(), offer=offer(OfferKind.PERCENT_DISCOUNT, percent=25))
    row = online_row()
    for name in CUSTOMER_INPUTS:
        if name in COLUMN and name != "language":
            assert values[name] == pytest.approx(float(row[name]), rel=1e-6), name
    assert values["language"] == LANGUAGES.index("de")
    assert values["hours_since_last_ping"] == pytest.approx(2.0)
    assert values["days_since_last_booking"] == pytest.approx(10.0)
    assert values["route_interest_24h"] == 3.0  # LIV-OLB twice and OLB-LIV once
    livorno = port_named("LIV")
    expected_km = float(haversine_km(43.60, 10.35, livorno.lat, livorno.lon))
    assert values["distance_to_departure_km"] == pytest.approx(expected_km, rel=1e-6)
    assert values["trigger"] == TRIGGERS.index("search")
    assert values["channel"] == CHANNELS.index("sms")
    assert values["local_hour"] == 11.0
    assert values["route"] == ROUTES.index("LIV-OLB")
    assert values["hours_to_departure"] == pytest.approx(48.0)
    assert values["departure_month"] == 7.0
    assert values["fare_eur"] == 80.0
    assert values["load_factor_pax"] == pytest.approx(0.55)
    assert values["offer_kind"] == OFFER_KINDS.index("percent_discount")
    assert values["offer_percent"] == 25.0
    assert math.isnan(values["offer_amount_eur"])
    assert values["offer_cost_eur"] == 12.0
    assert values["discount_ratio"] == pytest.approx(0.25)
    assert values["offer_value_ratio"] == pytest.approx(0.25)


def test_missing_values_are_nan() -> None:
    unknown = encode_one(None)
    assert all(math.isnan(unknown[name]) for name in CUSTOMER_FEATURES)
    empty = encode_one(empty_online_row())
    assert all(math.isnan(empty[name]) for name in CUSTOMER_FEATURES)
    no_social = encode_one(
        online_row(sentiment_7d=None, posts_7d=None, brand_mentions_7d=None, language=None)
    )
    for name in ("sentiment_7d", "posts_7d", "brand_mentions_7d", "language"):
        assert math.isnan(no_social[name])
    assert no_social["searches_24h"] == 3.0
    never_booked = encode_one(online_row(last_booking_ts=0, bookings_total=0))
    assert math.isnan(never_booked["days_since_last_booking"])
    assert never_booked["bookings_total"] == 0.0
    unknown_sailing = encode_one(online_row(), route_id=None, departure_ts=None, fare_eur=None)
    for name in ("route", "route_interest_24h", "distance_to_departure_km", "hours_to_departure"):
        assert math.isnan(unknown_sailing[name]), name
    for name in ("departure_month", "fare_eur", "discount_ratio", "offer_value_ratio"):
        assert math.isnan(unknown_sailing[name]), name
    assert unknown_sailing["trigger"] == TRIGGERS.index("search")


def test_categorical_codes_are_stable() -> None:
    # codes are positions in vocabularies that only grow at the end
    assert TRIGGERS[:6] == (
        "geofence_enter",
        "abandoned_quote",
        "search",
        "positive_social_mention",
        "fare_drop",
        "capacity_released",
    )
    assert CHANNELS[:4] == ("sms", "messenger", "whatsapp", "push")
    assert LANGUAGES[:4] == ("it", "en", "de", "fr")
    assert OFFER_KINDS[:4] == ("percent_discount", "fixed_discount", "upgrade", "onboard_voucher")
    assert ROUTES[:4] == ("LIV-OLB", "OLB-LIV", "LIV-BAS", "BAS-LIV")
    values = encode_one(
        online_row(language="fr"),
        trigger=Trigger.CAPACITY_RELEASED,
        channel=Channel.PUSH,
        route_id="BAS-LIV",
        offer=offer(OfferKind.ONBOARD_VOUCHER),
    )
    assert (values["language"], values["trigger"], values["channel"]) == (3.0, 5.0, 3.0)
    assert (values["route"], values["offer_kind"]) == (3.0, 3.0)
    assert math.isnan(encode_one(online_row(language="es"))["language"])
    assert math.isnan(encode_one(online_row(), route_id="NAP-PMO")["route"])


def test_codes_and_values_do_not_depend_on_the_batch() -> None:
    quiet = online_row(language="it", searches_24h=0, routes_24h=[], route_counts_24h=[])
    rows = [online_row(), None, quiet]
    many = candidates(60, customers=3)
    full = FeatureEncoder().encode(CustomerColumns.from_rows(rows), many)
    again = FeatureEncoder().encode(CustomerColumns.from_rows(rows), many)
    assert full.dtype == np.float32 and full.flags.c_contiguous
    assert np.array_equal(full, again, equal_nan=True)
    for k in (0, 7, 31, 59):
        single = FeatureEncoder().encode(CustomerColumns.from_rows(rows), many.take([k]))
        assert np.array_equal(single[0], full[k], equal_nan=True)


def test_rows_and_columns_give_the_same_customers() -> None:
    rows = [online_row(), None, online_row(language=None, routes_24h=None, route_counts_24h=None)]
    from_rows = CustomerColumns.from_rows(rows)
    columns = {name: [None if r is None else r[name] for r in rows] for name in ONLINE_FEATURES}
    from_columns = CustomerColumns.from_columns(columns)
    assert np.array_equal(from_rows.values, from_columns.values, equal_nan=True)
    assert np.array_equal(from_rows.route_counts, from_columns.route_counts, equal_nan=True)
    assert np.isnan(from_rows.route_counts[1:]).all()


def test_discounts_are_those_of_the_offer() -> None:
    for kind in OfferKind:
        the_offer = offer(kind)
        for fare in (9.99, 33.0, 80.0, 151.3):
            values = encode_one(online_row(), offer=the_offer, fare_eur=fare)
            expected = the_offer.discount_eur(fare) / fare
            assert values["discount_ratio"] == pytest.approx(expected, rel=1e-6, abs=1e-7)
            worth = {OfferKind.ONBOARD_VOUCHER: the_offer.amount_eur, OfferKind.UPGRADE: 20.0}
            value = worth.get(kind, the_offer.discount_eur(fare))
            assert values["offer_value_ratio"] == pytest.approx((value or 0.0) / fare, rel=1e-6)


def test_inputs_that_do_not_fit_are_refused_with_the_reason() -> None:
    partial = online_row()
    del partial["language"]
    with pytest.raises(FeatureMismatchError, match="lack language"):
        CustomerColumns.from_rows([partial])
    columns = {name: [online_row()[name]] for name in ONLINE_FEATURES if name != "routes_24h"}
    with pytest.raises(FeatureMismatchError, match="ONLINE_VIEW_FEATURES"):
        CustomerColumns.from_columns(columns)
    with pytest.raises(FeatureMismatchError, match="2 routes_24h but 1 route_counts_24h"):
        CustomerColumns.from_rows(
            [online_row(routes_24h=["LIV-OLB", "OLB-LIV"], route_counts_24h=[1])]
        )
    with pytest.raises(FeatureMismatchError, match="customer rows outside"):
        FeatureEncoder().encode(CustomerColumns.from_rows([online_row()]), candidates(3, 2))
