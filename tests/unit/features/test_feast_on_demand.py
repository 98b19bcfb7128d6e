"""The on-demand offer features, computed on plain pandas frames."""

from __future__ import annotations

import math
from itertools import combinations

import pandas as pd
import pytest
from geopy.distance import geodesic

from features.on_demand import offer_context
from simulators.ports import PORTS

LIVORNO = (43.5580, 10.2990)
OLBIA = (40.9213, 9.5176)


def inputs(**columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "last_lat": [LIVORNO[0]],
        "last_lon": [LIVORNO[1]],
        "offer_port_lat": [OLBIA[0]],
        "offer_port_lon": [OLBIA[1]],
        "offer_departure_ts": [1_750_000_000 + 7_200],
        "request_ts": [1_750_000_000],
        "offer_discount_eur": [15.0],
        "fare_eur": [60.0],
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_livorno_to_olbia_matches_the_geodesic_distance() -> None:
    out = offer_context(inputs())

    expected = geodesic(LIVORNO, OLBIA).km  # about 299 km
    assert out.loc[0, "distance_to_departure_km"] == pytest.approx(expected, rel=0.005)
    assert 290 < expected < 310


def test_hours_and_discount_ratio() -> None:
    out = offer_context(inputs())

    assert out.loc[0, "hours_to_departure"] == pytest.approx(2.0)
    assert out.loc[0, "discount_ratio"] == pytest.approx(0.25)
    assert list(out.columns) == ["distance_to_departure_km", "hours_to_departure", "discount_ratio"]


def test_missing_inputs_give_nan_not_errors() -> None:
    out = offer_context(inputs(last_lat=[None], fare_eur=[0.0]))

    assert math.isnan(out.loc[0, "distance_to_departure_km"])
    assert math.isnan(out.loc[0, "discount_ratio"])
    assert out.loc[0, "hours_to_departure"] == pytest.approx(2.0)


def test_haversine_agrees_with_geopy_within_half_a_percent_for_every_port_pair() -> None:
    pairs = list(combinations(PORTS, 2))
    frame = inputs(
        last_lat=[a.lat for a, _ in pairs],
        last_lon=[a.lon for a, _ in pairs],
        offer_port_lat=[b.lat for _, b in pairs],
        offer_port_lon=[b.lon for _, b in pairs],
        offer_departure_ts=[0] * len(pairs),
        request_ts=[0] * len(pairs),
        offer_discount_eur=[0.0] * len(pairs),
        fare_eur=[1.0] * len(pairs),
    )

    out = offer_context(frame)

    expected = [geodesic((a.lat, a.lon), (b.lat, b.lon)).km for a, b in pairs]
    assert list(out["distance_to_departure_km"]) == pytest.approx(expected, rel=0.005)
