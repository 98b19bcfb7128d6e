"""Targeting: triggers, port and polygon geofences, typed segment rules, languages."""

from __future__ import annotations

from typing import Any

import pytest

from offers.campaigns import (
    FEATURE_TYPES,
    PolygonGeofence,
    PortGeofence,
    SegmentRule,
    Targeting,
    Trigger,
)
from offers.campaigns.segments import OPERATORS_BY_TYPE
from offers.contracts import Language
from simulators.ports import port_named
from tests.unit.campaigns.factories import assert_rejected, errors_of

SQUARE = [[43.70, 10.38], [43.70, 10.42], [43.73, 10.42], [43.73, 10.38]]
BOW_TIE = [[43.70, 10.38], [43.73, 10.42], [43.70, 10.42], [43.73, 10.38]]


def polygon(points: Any, **fields: Any) -> dict[str, Any]:
    return {"kind": "polygon", "points": points, **fields}


def targeting(**fields: Any) -> dict[str, Any]:
    return {"triggers": ["search"], **fields}


# --- triggers and languages ----------------------------------------------------------------


def test_the_triggers() -> None:
    assert {t.value for t in Trigger} == {
        "geofence_enter",
        "abandoned_quote",
        "search",
        "positive_social_mention",
        "fare_drop",
        "capacity_released",
    }


def test_triggers_and_languages_are_sets_in_canonical_order() -> None:
    parsed = Targeting.model_validate(
        targeting(triggers=["fare_drop", "search", "fare_drop"], languages=["fr", "it", "fr"])
    )
    assert parsed.triggers == (Trigger.SEARCH, Trigger.FARE_DROP)
    assert parsed.languages == (Language.IT, Language.FR)
    assert parsed.targeted_languages == (Language.IT, Language.FR)


def test_no_language_means_every_language() -> None:
    parsed = Targeting.model_validate(targeting())
    assert parsed.languages == ()
    assert parsed.targeted_languages == tuple(Language)
    assert parsed.max_position_age_s == 900


BAD_TARGETING = [
    pytest.param({"triggers": []}, "triggers", "at least 1 item", id="no-trigger"),
    pytest.param({"triggers": ["tweet"]}, "triggers.0", "'geofence_enter'", id="bad-trigger"),
    pytest.param({"triggers": "search"}, "triggers", "valid tuple", id="trigger-not-list"),
    pytest.param({"languages": ["es"]}, "languages.0", "'it', 'en', 'de' or 'fr'", id="lang"),
    pytest.param(
        {"triggers": ["geofence_enter"]},
        "geofences",
        "at least one geofence is required with the geofence_enter trigger",
        id="geofence-trigger-alone",
    ),
    pytest.param(
        {"geofences": [{"kind": "port", "port": "LIV"}]},
        "geofences",
        "are only used by the geofence_enter trigger",
        id="geofence-without-trigger",
    ),
    pytest.param(
        {"max_position_age_s": 86_401},
        "max_position_age_s",
        "less than or equal to 86400",
        id="position-age-long",
    ),
    pytest.param(
        {"max_position_age_s": "60"}, "max_position_age_s", "valid integer", id="age-text"
    ),
    pytest.param(
        {"triggers": ["geofence_enter"], "geofences": [{"kind": "circle"}]},
        "geofences.0",
        "Input tag 'circle' found using 'kind' does not match any of the expected tags",
        id="geofence-kind",
    ),
    pytest.param(
        {"triggers": ["geofence_enter"], "geofences": [{"port": "LIV"}]},
        "geofences.0",
        "Unable to extract tag using discriminator 'kind'",
        id="geofence-no-kind",
    ),
    pytest.param(
        {"triggers": ["geofence_enter"], "geofences": [{"kind": "port", "port": "LIV"}] * 21},
        "geofences",
        "at most 20 items",
        id="too-many-geofences",
    ),
    pytest.param({"audience": "all"}, "audience", "Extra inputs", id="extra"),
]


@pytest.mark.parametrize(("overrides", "field", "fragment"), BAD_TARGETING)
def test_bad_targeting_is_rejected(overrides: dict[str, Any], field: str, fragment: str) -> None:
    assert_rejected(Targeting, targeting(**overrides), field, fragment)


# --- port geofences ------------------------------------------------------------------------


def test_a_port_geofence_defaults_to_the_ports_radius() -> None:
    fence = PortGeofence.model_validate({"kind": "port", "port": "LIV"})
    assert fence.radius_km is None
    assert fence.effective_radius_km == port_named("LIV").geofence_km
    wider = PortGeofence.model_validate({"kind": "port", "port": "LIV", "radius_km": 10})
    assert wider.effective_radius_km == 10.0


def test_a_port_geofence_contains_points_within_its_radius() -> None:
    fence = PortGeofence(port="LIV", radius_km=5.0)
    livorno = port_named("LIV")
    assert fence.contains(livorno.lat, livorno.lon)
    assert fence.contains(livorno.lat + 0.04, livorno.lon)  # about 4.4 km north
    assert not fence.contains(livorno.lat + 0.05, livorno.lon)  # about 5.6 km north


BAD_PORT_FENCES = [
    pytest.param({"port": "NAP"}, "port", "unknown port 'NAP'; known ports: ARB, BAS", id="port"),
    pytest.param({"port": "liv"}, "port", "unknown port 'liv'", id="lowercase-port"),
    pytest.param(
        {"port": "LIV", "radius_km": 0.09}, "radius_km", "greater than or equal to 0.1", id="r"
    ),
    pytest.param(
        {"port": "LIV", "radius_km": 50.5}, "radius_km", "less than or equal to 50", id="R"
    ),
    pytest.param({"port": "LIV", "radius_km": "5"}, "radius_km", "valid number", id="r-text"),
    pytest.param({"port": "LIV", "points": SQUARE}, "points", "Extra inputs", id="points"),
]


@pytest.mark.parametrize(("data", "field", "fragment"), BAD_PORT_FENCES)
def test_bad_port_geofences_are_rejected(data: dict[str, Any], field: str, fragment: str) -> None:
    assert_rejected(PortGeofence, {"kind": "port", **data}, field, fragment)


# --- polygon geofences ---------------------------------------------------------------------


def test_a_polygon_may_be_given_open_or_closed() -> None:
    open_ring = PolygonGeofence.model_validate(polygon(SQUARE, name="Pisa"))
    closed_ring = PolygonGeofence.model_validate(polygon([*SQUARE, SQUARE[0]], name="Pisa"))
    assert open_ring == closed_ring
    assert len(open_ring.points) == 4


def test_a_polygon_contains_points_inside_and_on_its_border() -> None:
    fence = PolygonGeofence.model_validate(polygon(SQUARE))
    assert fence.contains(43.715, 10.40)
    assert fence.contains(43.70, 10.40)  # on the southern edge
    assert not fence.contains(43.74, 10.40)
    assert not fence.contains(43.715, 10.43)
    assert fence == PolygonGeofence.model_validate(polygon(SQUARE))  # cached shape ignored


def test_a_concave_polygon_is_fine() -> None:
    arrow = [[0.0, 0.0], [0.0, 2.0], [1.0, 1.0], [2.0, 2.0], [2.0, 0.0]]
    fence = PolygonGeofence.model_validate(polygon(arrow))
    assert fence.contains(1.0, 0.5)
    assert not fence.contains(1.0, 1.8)  # in the notch


BAD_POLYGONS = [
    pytest.param(
        BOW_TIE,
        "points",
        "is not a simple ring: self-intersection near lat 43.715, lon 10.4",
        id="bow-tie",
    ),
    pytest.param(
        [[0, 0], [0, 2], [2, 2], [2, 0], [1, 3]],
        "points",
        "is not a simple ring: self-intersection",
        id="crossing-edge",
    ),
    pytest.param(
        [[0, 0], [1, 1], [2, 2]],
        "points",
        "encloses no area: the corners lie on one line",
        id="line",
    ),
    pytest.param(
        [[0, 0], [0, 0], [0, 0]], "points", "needs at least 3 distinct corners", id="one-point"
    ),
    pytest.param(
        [[0, 0], [1, 1], [0, 0]], "points", "needs at least 3 distinct corners", id="closed-2"
    ),
    pytest.param([[0, 0], [1, 1]], "points", "at least 3 items", id="two-points"),
    pytest.param([], "points", "at least 3 items", id="no-points"),
    pytest.param([[91, 0], [0, 1], [1, 1]], "points.0.0", "less than or equal to 90", id="lat"),
    pytest.param(
        [[0, 0], [0, -181], [1, 1]], "points.1.1", "greater than or equal to -180", id="lon"
    ),
    pytest.param([[0, 0], [0, 1], [1, "1"]], "points.2.1", "valid number", id="text-coordinate"),
    pytest.param([[0, 0], [0, 1], [1, 1, 1]], "points.2", "at most 2 items", id="3d-point"),
    pytest.param([[0, 0], [0, 1], [1, "NaN"]], "points.2.1", "valid number", id="nan"),
    pytest.param(
        [[0.0, i / 1000] for i in range(502)], "points", "at most 501 items", id="too-many"
    ),
]


@pytest.mark.parametrize(("points", "field", "fragment"), BAD_POLYGONS)
def test_bad_polygons_are_rejected(points: Any, field: str, fragment: str) -> None:
    assert_rejected(PolygonGeofence, polygon(points), field, fragment)


def test_the_polygon_problem_is_reported_under_the_campaign_path() -> None:
    data = targeting(
        triggers=["geofence_enter"], geofences=[{"kind": "port", "port": "LIV"}, polygon(BOW_TIE)]
    )
    [error] = errors_of(Targeting, data)
    assert error.field == "geofences.1.points"
    assert error.reason.startswith("is not a simple ring: self-intersection")


# --- segment rules -------------------------------------------------------------------------


def rule(feature: str, op: str, value: Any) -> dict[str, Any]:
    return {"feature": feature, "op": op, "value": value}


def test_rules_may_name_customer_sailing_and_request_features() -> None:
    for name in (
        "bookings_total",
        "sentiment_7d",
        "nearest_port",
        "fare_eur",
        "hours_to_departure",
    ):
        assert name in FEATURE_TYPES
    assert "request_ts" not in FEATURE_TYPES  # request data, not a feature


GOOD_RULES = [
    pytest.param(rule("bookings_total", "ge", 2), id="int-ge"),
    pytest.param(rule("bookings_total", "in", [0, 1]), id="int-in"),
    pytest.param(rule("sentiment_7d", "gt", 0.5), id="float-gt"),
    pytest.param(rule("sentiment_7d", "lt", 0), id="float-with-int"),
    pytest.param(rule("nearest_port", "eq", "LIV"), id="str-eq"),
    pytest.param(rule("language", "ne", "de"), id="str-ne"),
    pytest.param(rule("language", "in", ["it", "en"]), id="str-in"),
    pytest.param(rule("interest_tags", "contains", "beach"), id="str-list-contains"),
    pytest.param(rule("route_counts_24h", "contains", 3), id="int-list-contains"),
]


@pytest.mark.parametrize("data", GOOD_RULES)
def test_good_rules_are_accepted(data: dict[str, Any]) -> None:
    parsed = SegmentRule.model_validate(data)
    assert SegmentRule.model_validate(parsed.model_dump(mode="json")) == parsed


BAD_RULES = [
    pytest.param(rule("shoe_size", "eq", 42), "feature", "unknown feature 'shoe_size'", id="feat"),
    pytest.param(rule("bookings_total", "like", 1), "op", "'eq', 'ne', 'lt'", id="op"),
    pytest.param(
        rule("language", "lt", "it"),
        "op",
        "'lt' does not apply to the str feature 'language'; use eq, ne, in",
        id="str-lt",
    ),
    pytest.param(
        rule("language", "contains", "i"),
        "op",
        "'contains' does not apply to the str feature 'language'",
        id="str-contains",
    ),
    pytest.param(
        rule("sentiment_7d", "in", [0.5]),
        "op",
        "'in' does not apply to the float feature 'sentiment_7d'; use eq, ne, lt, le, gt, ge",
        id="float-in",
    ),
    pytest.param(
        rule("interest_tags", "eq", "beach"),
        "op",
        "'eq' does not apply to the str_list feature 'interest_tags'; use contains",
        id="list-eq",
    ),
    pytest.param(
        rule("bookings_total", "ge", 1.5),
        "value",
        "must be an int for the int feature 'bookings_total' with 'ge'",
        id="int-float",
    ),
    pytest.param(
        rule("bookings_total", "ge", "2"),
        "value",
        "must be an int for the int feature 'bookings_total'",
        id="int-text",
    ),
    pytest.param(
        rule("sentiment_7d", "gt", "high"),
        "value",
        "must be a number for the float feature 'sentiment_7d'",
        id="float-text",
    ),
    pytest.param(
        rule("nearest_port", "eq", 7),
        "value",
        "must be a string for the str feature 'nearest_port'",
        id="str-number",
    ),
    pytest.param(
        rule("nearest_port", "eq", ["LIV"]),
        "value",
        "must be a string for the str feature 'nearest_port'",
        id="str-list-value",
    ),
    pytest.param(
        rule("interest_tags", "contains", 3),
        "value",
        "must be a string for the str_list feature 'interest_tags' with 'contains'",
        id="contains-type",
    ),
    pytest.param(
        rule("route_counts_24h", "contains", "3"),
        "value",
        "must be an int for the int_list feature 'route_counts_24h'",
        id="int-list-text",
    ),
    pytest.param(
        rule("language", "in", "it"), "value", "must be a list of values for 'in'", id="in-scalar"
    ),
    pytest.param(rule("language", "in", []), "value", "at least one value", id="in-empty"),
    pytest.param(
        rule("bookings_total", "in", [1, "2"]),
        "value.1",
        "must be an int for the feature 'bookings_total'",
        id="in-mixed",
    ),
    pytest.param(
        rule("language", "in", ["it", "it"]), "value.1", "'it' is listed twice", id="in-repeat"
    ),
    pytest.param(
        rule("bookings_total", "in", list(range(101))),
        "value",
        "at most 100 values",
        id="in-too-many",
    ),
    pytest.param(
        rule("bookings_total", "eq", True),
        "value",
        "must be a number, a string or a list of them (got True)",
        id="bool",
    ),
    pytest.param(
        rule("bookings_total", "eq", None), "value", "must be a number, a string", id="null"
    ),
    pytest.param(rule("sentiment_7d", "eq", float("nan")), "value", "(got nan)", id="nan"),
    pytest.param(
        rule("language", "in", ["it", None]),
        "value.1",
        "must be a number or a string (got None)",
        id="in-null",
    ),
    pytest.param({"feature": "language", "op": "eq"}, "value", "Field required", id="no-value"),
]


@pytest.mark.parametrize(("data", "field", "fragment"), BAD_RULES)
def test_bad_rules_are_rejected(data: dict[str, Any], field: str, fragment: str) -> None:
    assert_rejected(SegmentRule, data, field, fragment)


def test_every_feature_type_has_operators() -> None:
    assert set(FEATURE_TYPES.values()) <= set(OPERATORS_BY_TYPE)


CUSTOMER = {
    "bookings_total": 2,
    "sentiment_7d": 0.4,
    "language": "it",
    "interest_tags": ["beach", "family"],
    "route_counts_24h": [3, 1],
    "nearest_port": None,
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (rule("bookings_total", "eq", 2), True),
        (rule("bookings_total", "ne", 2), False),
        (rule("bookings_total", "lt", 2), False),
        (rule("bookings_total", "le", 2), True),
        (rule("bookings_total", "gt", 1), True),
        (rule("bookings_total", "ge", 3), False),
        (rule("bookings_total", "in", [1, 2]), True),
        (rule("sentiment_7d", "gt", 0.25), True),
        (rule("sentiment_7d", "le", 0), False),
        (rule("language", "in", ["de", "fr"]), False),
        (rule("language", "eq", "it"), True),
        (rule("interest_tags", "contains", "beach"), True),
        (rule("interest_tags", "contains", "ski"), False),
        (rule("route_counts_24h", "contains", 3), True),
        (rule("nearest_port", "eq", "LIV"), False),  # None never matches
        (rule("nearest_port", "ne", "LIV"), False),
        (rule("dwell_s", "ge", 0), False),  # missing never matches
    ],
)
def test_rules_match_feature_values(data: dict[str, Any], expected: bool) -> None:
    assert SegmentRule.model_validate(data).matches(CUSTOMER) is expected
