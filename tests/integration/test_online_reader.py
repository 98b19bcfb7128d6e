"""The direct Redis reader against the Feast SDK on the real local Redis: the same columns
and values for the same entities, the same on-demand features, and no stale reads."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from feast import FeatureStore
from geopy.distance import geodesic

from features.errors import FeatureRepoError
from features.fields import REQUEST_TIME
from features.online import OnlineReader, request_time_features, service_view_features
from features.sources import (
    CUSTOMER_BOOKING_VIEW,
    CUSTOMER_LOCATION_VIEW,
    CUSTOMER_SOCIAL_VIEW,
    SAILING_STATE_VIEW,
    VIEW_SPECS,
    ViewSpec,
)
from features.store import feature_store, online_features, push_rows
from features.views import feature_view_name
from offers.settings import Settings

LIVORNO = (43.5580, 10.2990)
DEFAULTS: dict[str, Any] = {"float": 0.0, "int": 0, "str": "", "str_list": [], "int_list": []}
AT = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
DEPARTURE = int((AT + timedelta(hours=7, minutes=30)).timestamp())

# Pairs read in every comparison: repeated entities, never-written ones, partial ones.
CUSTOMERS = ["olr-c1", "olr-c2", "olr-c3", "olr-c4", "olr-nobody", "olr-c1", "olr-nobody"]
SAILINGS = ["olr-s1", "olr-s2", "olr-s1", "olr-nothing", "olr-s1", "olr-s2", "olr-nothing"]


def row(spec: ViewSpec, key: str, at: datetime, **values: Any) -> dict[str, Any]:
    """A complete row of a view: defaults for every field, ``values`` on top."""
    full: dict[str, Any] = {f.name: DEFAULTS[f.type] for f in spec.fields}
    full.update(values)
    full[spec.join_key] = key
    full["event_timestamp"] = at
    return full


def request(i: int) -> dict[str, Any]:
    """The request data of the i-th pair: a different port, discount and time each."""
    return {
        "offer_port_lat": LIVORNO[0] - 0.7 * i,
        "offer_port_lon": LIVORNO[1] + 0.3 * i,
        "offer_departure_ts": DEPARTURE,
        "offer_discount_eur": 7.5 * (i + 1),
        "request_ts": int(AT.timestamp()) + 600 * i,
    }


def assert_same_column(name: str, ours: list[Any], theirs: list[Any]) -> None:
    """Equal value by value and of the same Python type; floats within 1e-9."""
    assert len(ours) == len(theirs), name
    for i, (mine, sdk) in enumerate(zip(ours, theirs, strict=True)):
        assert type(mine) is type(sdk), f"{name}[{i}]: {mine!r} vs {sdk!r}"
        if isinstance(sdk, float):
            assert math.isclose(mine, sdk, rel_tol=0.0, abs_tol=1e-9), f"{name}[{i}]"
        else:
            assert mine == sdk, f"{name}[{i}]: {mine!r} vs {sdk!r}"


@pytest.fixture(scope="module")
def store(stack_settings: Settings) -> FeatureStore:
    return feature_store(stack_settings)


@pytest.fixture(scope="module")
def reader(stack_settings: Settings) -> Iterator[OnlineReader]:
    with OnlineReader.from_settings(stack_settings) as online_reader:
        yield online_reader


@pytest.fixture(scope="module")
def pushed(store: FeatureStore) -> None:
    """Rows of four customers and two sailings, with lists, awkward floats and gaps."""
    push_rows(
        store,
        "customer_location_push",
        [
            row(CUSTOMER_LOCATION_VIEW, "olr-c1", AT, last_lat=43.70123456789012,
                last_lon=10.400000000000006, last_ping_ts=int(AT.timestamp()),
                nearest_port="LIV", nearest_port_km=0.1 + 0.2, geofence_port="LIV",
                geofence_enter_ts=int(AT.timestamp()) - 900, dwell_s=900,
                speed_mps=1e-7, pings_1h=12),
            row(CUSTOMER_LOCATION_VIEW, "olr-c2", AT, last_lat=-33.865143,
                last_lon=151.2099, speed_mps=-0.0, pings_1h=1),
        ],
    )  # fmt: skip
    push_rows(
        store,
        "customer_social_push",
        [
            row(CUSTOMER_SOCIAL_VIEW, "olr-c1", AT, sentiment_7d=1 / 3, posts_7d=3,
                brand_mentions_7d=2, interest_tags=["cars", "family", "sardinia"],
                language="it"),
            row(CUSTOMER_SOCIAL_VIEW, "olr-c4", AT, sentiment_7d=-0.999999999999, posts_7d=1,
                interest_tags=["pets"], language="de"),
        ],
    )  # fmt: skip
    push_rows(
        store,
        "customer_booking_push",
        [
            row(CUSTOMER_BOOKING_VIEW, "olr-c1", AT, searches_24h=4, quotes_24h=2,
                routes_24h=["GOA-BIA", "LIV-OLB"], route_counts_24h=[2, 4],
                abandoned_quotes_24h=1, last_booking_ts=int(AT.timestamp()) - 86_400,
                bookings_total=5, spend_total_eur=1234.56, cancellations_total=1),
            row(CUSTOMER_BOOKING_VIEW, "olr-c3", AT, bookings_total=2**40,
                spend_total_eur=1e15 + 0.5),
        ],
    )  # fmt: skip
    push_rows(
        store,
        "sailing_state_push",
        [
            row(SAILING_STATE_VIEW, "olr-s1", AT, route_id="LIV-OLB", origin_port="LIV",
                departure_ts=DEPARTURE, load_factor_pax=0.8125, load_factor_cars=2 / 3,
                seats_left=150, car_slots_left=40, fare_eur=79.99, fare_change_eur=-5.01),
            row(SAILING_STATE_VIEW, "olr-s2", AT, route_id="GOA-BIA", origin_port="GOA",
                departure_ts=DEPARTURE + 3_600, fare_eur=0.0),
        ],
    )  # fmt: skip


@pytest.mark.usefixtures("pushed")
def test_read_returns_what_the_sdk_returns_for_every_view_feature(
    store: FeatureStore, reader: OnlineReader
) -> None:
    refs = [f"{feature_view_name(spec)}:{f.name}" for spec in VIEW_SPECS for f in spec.fields]
    entity_rows = [
        {"customer_id": c, "sailing_id": s} for c, s in zip(CUSTOMERS, SAILINGS, strict=True)
    ]

    ours = reader.read(CUSTOMERS, SAILINGS)
    sdk = store.get_online_features(features=refs, entity_rows=entity_rows).to_dict()

    assert list(ours) == list(reader.columns)
    assert sorted(ours) == sorted(sdk)
    for name in sdk:
        assert_same_column(name, ours[name], sdk[name])
    # the comparison is not vacuous: values, lists, an empty list and gaps are all there
    assert ours["interest_tags"][0] == ours["interest_tags"][5] == ["cars", "family", "sardinia"]
    assert ours["route_counts_24h"][0] == [2, 4]
    assert ours["routes_24h"][2] == []
    assert ours["bookings_total"][2] == 2**40
    assert ours["last_lat"][1] == -33.865143
    assert ours["posts_7d"][1] is None  # olr-c2 has no social row
    assert ours["fare_eur"][0] == 79.99
    for spec in (CUSTOMER_LOCATION_VIEW, CUSTOMER_SOCIAL_VIEW, CUSTOMER_BOOKING_VIEW):
        assert all(ours[f.name][4] is None for f in spec.fields)  # olr-nobody
    assert all(ours[f.name][3] is None for f in SAILING_STATE_VIEW.fields)  # olr-nothing


@pytest.mark.usefixtures("pushed")
def test_service_and_on_demand_features_match_online_features(
    store: FeatureStore, stack_settings: Settings
) -> None:
    requests = [request(i) for i in range(len(CUSTOMERS))]

    with OnlineReader.from_settings(stack_settings, service_view_features(store)) as reader:
        ours = reader.read(CUSTOMERS, SAILINGS)
    on_demand = request_time_features(ours, requests)
    sdk = online_features(store, CUSTOMERS, SAILINGS, requests)

    assert "interest_tags" not in ours  # the service reads no strings or lists
    assert sorted([*ours, *on_demand]) == sorted(sdk)
    for name in ours:
        assert_same_column(name, ours[name], sdk[name])
    for field in REQUEST_TIME:
        assert_same_column(field.name, on_demand[field.name], sdk[field.name])
    assert on_demand["hours_to_departure"][0] == pytest.approx(7.5)
    assert on_demand["discount_ratio"][0] == pytest.approx(7.5 / 79.99)
    assert on_demand["discount_ratio"][1] is None  # olr-s2 has a zero fare
    assert on_demand["discount_ratio"][3] is None  # olr-nothing was never written
    c1_to_livorno = geodesic((ours["last_lat"][0], ours["last_lon"][0]), LIVORNO).km
    assert on_demand["distance_to_departure_km"][0] == pytest.approx(c1_to_livorno, rel=0.005)
    assert on_demand["distance_to_departure_km"][4] is None  # olr-nobody has no position


def test_an_entity_written_after_a_read_is_seen_on_the_next_read(
    store: FeatureStore, reader: OnlineReader
) -> None:
    before = reader.read(["olr-late"], ["olr-late-s"])
    assert before["last_lat"] == [None]
    assert before["fare_eur"] == [None]

    position = row(CUSTOMER_LOCATION_VIEW, "olr-late", AT, last_lat=41.0)
    sailing = row(SAILING_STATE_VIEW, "olr-late-s", AT, fare_eur=55.0)
    push_rows(store, "customer_location_push", [position])
    push_rows(store, "sailing_state_push", [sailing])
    after = reader.read(["olr-late"], ["olr-late-s"])
    assert after["last_lat"] == [41.0]
    assert after["fare_eur"] == [55.0]

    moved = row(CUSTOMER_LOCATION_VIEW, "olr-late", AT + timedelta(minutes=1), last_lat=41.5)
    push_rows(store, "customer_location_push", [moved])
    assert reader.read(["olr-late"], ["olr-late-s"])["last_lat"] == [41.5]


def test_an_empty_batch_reads_nothing_and_unequal_lengths_are_refused(
    reader: OnlineReader,
) -> None:
    empty = reader.read([], [])
    assert list(empty) == list(reader.columns)
    assert all(values == [] for values in empty.values())
    with pytest.raises(FeatureRepoError):
        reader.read(["olr-c1"], [])
