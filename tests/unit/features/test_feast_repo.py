"""The Feast objects match ``features.fields`` exactly; no services needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from feast.types import Array, Float64, Int64, String

from features import fields
from features.repo import FeatureRepo, feature_repo
from features.services import OFFER_SCORING_V1, OFFER_SCORING_V2, scoring_feature_refs
from features.sources import PUSH_SOURCE_NAMES
from models.inputs import ONLINE_VIEW_FEATURES

EXPECTED_TYPES = {
    "float": Float64,
    "int": Int64,
    "str": String,
    "str_list": Array(String),
    "int_list": Array(Int64),
}
VIEW_FIELDS = {
    "customer_location_fv": fields.CUSTOMER_LOCATION,
    "customer_social_fv": fields.CUSTOMER_SOCIAL,
    "customer_booking_fv": fields.CUSTOMER_BOOKING,
    "sailing_state_fv": fields.SAILING_STATE,
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> FeatureRepo:
    return feature_repo(tmp_path_factory.mktemp("feast"))


@pytest.mark.parametrize("view_name", sorted(VIEW_FIELDS))
def test_view_fields_equal_the_field_catalogue(repo: FeatureRepo, view_name: str) -> None:
    view = getattr(repo.views, view_name)
    declared = [(f.name, EXPECTED_TYPES[f.type]) for f in VIEW_FIELDS[view_name]]

    assert view.name == view_name
    assert [(f.name, f.dtype) for f in view.features] == declared
    assert view.online is True
    assert view.ttl is not None and view.ttl.total_seconds() > 0


def test_views_are_keyed_and_fed_by_their_push_sources(repo: FeatureRepo) -> None:
    views = repo.views
    assert [v.entities for v in views.all()] == [["customer"]] * 3 + [["sailing"]]
    assert [v.stream_source.name for v in views.all()] == list(PUSH_SOURCE_NAMES)
    assert list(PUSH_SOURCE_NAMES) == [
        "customer_location_push",
        "customer_social_push",
        "customer_booking_push",
        "sailing_state_push",
    ]


def test_on_demand_view_outputs_the_request_time_fields(repo: FeatureRepo) -> None:
    odfv = repo.offer_context_odfv
    assert odfv.name == "offer_context_odfv"
    assert [(f.name, f.dtype) for f in odfv.features] == [
        (f.name, EXPECTED_TYPES[f.type]) for f in fields.REQUEST_TIME
    ]
    request = odfv.source_request_sources["offer_request"]
    assert [f.name for f in request.schema] == [f.name for f in fields.OFFER_REQUEST]


def test_scoring_service_names_exactly_the_documented_features(repo: FeatureRepo) -> None:
    service = repo.offer_scoring_v1
    served = [
        f"{projection.name}:{feature.name}"
        for projection in service.feature_view_projections
        for feature in projection.features
    ]

    assert service.name == "offer_scoring_v1"
    assert served == scoring_feature_refs()
    assert served == [
        "customer_location_fv:last_lat",
        "customer_location_fv:last_lon",
        "customer_location_fv:last_ping_ts",
        "customer_location_fv:nearest_port_km",
        "customer_location_fv:geofence_enter_ts",
        "customer_location_fv:dwell_s",
        "customer_location_fv:speed_mps",
        "customer_location_fv:pings_1h",
        "customer_social_fv:sentiment_7d",
        "customer_social_fv:posts_7d",
        "customer_social_fv:brand_mentions_7d",
        "customer_booking_fv:searches_24h",
        "customer_booking_fv:quotes_24h",
        "customer_booking_fv:abandoned_quotes_24h",
        "customer_booking_fv:last_booking_ts",
        "customer_booking_fv:bookings_total",
        "customer_booking_fv:spend_total_eur",
        "customer_booking_fv:cancellations_total",
        "sailing_state_fv:departure_ts",
        "sailing_state_fv:load_factor_pax",
        "sailing_state_fv:load_factor_cars",
        "sailing_state_fv:seats_left",
        "sailing_state_fv:car_slots_left",
        "sailing_state_fv:fare_eur",
        "sailing_state_fv:fare_change_eur",
        "offer_context_odfv:distance_to_departure_km",
        "offer_context_odfv:hours_to_departure",
        "offer_context_odfv:discount_ratio",
    ]


def test_scoring_service_takes_every_numeric_feature_and_nothing_else() -> None:
    for view_name, catalogue in VIEW_FIELDS.items():
        numeric = tuple(f.name for f in catalogue if f.type in ("float", "int"))
        assert OFFER_SCORING_V1[view_name] == numeric
    assert OFFER_SCORING_V1["offer_context_odfv"] == tuple(f.name for f in fields.REQUEST_TIME)


def test_the_encoders_service_reads_exactly_the_encoders_online_inputs() -> None:
    customer_views = {v: f for v, f in OFFER_SCORING_V2.items() if v != "sailing_state_fv"}
    assert customer_views == ONLINE_VIEW_FEATURES
    assert set(OFFER_SCORING_V2["sailing_state_fv"]) == {
        "route_id",
        "departure_ts",
        "fare_eur",
        "load_factor_pax",
    }


def test_repo_objects_are_all_uniquely_named(repo: FeatureRepo, tmp_path: Path) -> None:
    names = [(type(o).__name__, o.name) for o in repo.objects()]
    assert len(names) == len(set(names)) == 3 + 4 + 1 + 4 + 1 + 2
