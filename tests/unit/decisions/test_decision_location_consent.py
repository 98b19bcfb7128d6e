"""Location-derived features only with location consent: which consent counts, which
columns the mask blanks, what the model and eligibility then see, and which triggers
need the consent to be decided at all."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from features.fields import CUSTOMER_LOCATION
from features.online import EVENT_TIME_PREFIX
from models.features import FEATURE_NAMES, FeatureEncoder
from models.inputs import ONLINE_VIEW_FEATURES, CandidateBatch, CustomerColumns
from offers.campaigns import Trigger
from streams.decisions.context import DECISION_FEATURES, LOCATION_VIEW, customer_context
from streams.decisions.location_consent import (
    LOCATION_FEATURES,
    lacks_location_consent,
    location_consented,
    location_consents,
    mask_location,
    needs_location_consent,
)
from tests.unit.decisions.decision_factories import hit
from tests.unit.models.model_factories import ONLINE_ROW, add_candidate

LOCATION_MODEL_FEATURES = {
    "last_lat",
    "last_lon",
    "nearest_port_km",
    "dwell_s",
    "speed_mps",
    "pings_1h",
    "hours_since_last_ping",
    "distance_to_departure_km",
}
"""The model's features computed from pings, found by reading models/features.py."""

ROW: dict[str, Any] = {
    **ONLINE_ROW,
    "nearest_port": "LIV",
    "geofence_port": "LIV",
    "geofence_enter_ts": ONLINE_ROW["last_ping_ts"] - 300,
    EVENT_TIME_PREFIX + LOCATION_VIEW: ONLINE_ROW["last_ping_ts"],
}
"""Every column a decision reads of a customer, location features included."""


def columns_of(*rows: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in rows[0]}


def replica(**held: bool) -> Any:
    """A consent lookup holding ``held`` (consent key with ``__`` for ``|``)."""
    records = {key.replace("__", "|"): value for key, value in held.items()}
    return records.get


def test_only_a_granted_location_consent_counts() -> None:
    consent = replica(a__location=True, b__location=False, c__sms=True)
    assert location_consented(consent, "a")
    assert not location_consented(consent, "b")  # withdrawn
    assert not location_consented(consent, "c")  # another scope only
    assert not location_consented(consent, "d")  # never given
    assert location_consents(["b", "a", "b", "d"], consent) == {"b": False, "a": True, "d": False}


def test_the_mask_covers_every_location_column_a_decision_reads() -> None:
    view_fields = {field.name for field in CUSTOMER_LOCATION}
    assert view_fields <= LOCATION_FEATURES
    assert set(DECISION_FEATURES[LOCATION_VIEW]) <= LOCATION_FEATURES
    assert set(ONLINE_VIEW_FEATURES[LOCATION_VIEW]) <= LOCATION_FEATURES
    # and nothing that comes from other views
    others = {
        n for view, names in ONLINE_VIEW_FEATURES.items() if view != LOCATION_VIEW for n in names
    }
    assert not others & LOCATION_FEATURES


def test_the_mask_blanks_the_location_features_of_rows_without_consent_only() -> None:
    columns = columns_of(ROW, ROW, ROW)
    before = {name: list(values) for name, values in columns.items()}
    masked = mask_location(columns, [True, False, True])
    assert columns == before  # not changed in place
    for name, values in masked.items():
        assert values[0] == values[2] == ROW[name]
        assert values[1] == (None if name in LOCATION_FEATURES else ROW[name])
    assert {name for name in masked if masked[name][1] is None} == LOCATION_FEATURES & set(ROW)
    # with every consent held, nothing is copied
    held = mask_location(columns, [True, True, True])
    assert all(held[name] is columns[name] for name in columns)


def test_the_mask_refuses_consents_that_do_not_match_the_rows() -> None:
    with pytest.raises(ValueError, match="2 rows, but 3 consents"):
        mask_location(columns_of(ROW, ROW), [True, True, False])


def encoded(located: bool) -> dict[str, float]:
    columns = mask_location(columns_of(ROW), [located])
    batch = CandidateBatch()
    add_candidate(batch)
    matrix = FeatureEncoder().encode(CustomerColumns.from_columns(columns), batch.build())
    return dict(zip(FEATURE_NAMES, (float(v) for v in matrix[0]), strict=True))


def test_without_consent_the_model_sees_every_location_derived_feature_as_missing() -> None:
    with_consent, without = encoded(True), encoded(False)
    changed = {
        name
        for name in FEATURE_NAMES
        if not (
            with_consent[name] == without[name]
            or np.isnan([with_consent[name], without[name]]).all()
        )
    }
    assert changed == LOCATION_MODEL_FEATURES
    assert all(math.isnan(without[name]) for name in LOCATION_MODEL_FEATURES)
    assert not any(math.isnan(with_consent[name]) for name in LOCATION_MODEL_FEATURES)


def test_without_consent_the_customer_has_no_position_and_no_zone_from_the_pings() -> None:
    search = hit(Trigger.SEARCH, port=None, route="LIV-OLB")
    names = [name for name in ROW if not name.startswith(EVENT_TIME_PREFIX)]
    for located, position, zone in ((True, (43.60, 10.35), "Europe/Rome"), (False, None, "UTC")):
        columns = mask_location(columns_of(ROW), [located])
        features = {name: columns[name][0] for name in names}
        context = customer_context(search, features, replica(), "UTC")
        assert (context.position, context.zone) == (position, zone)
        assert (context.features["nearest_port_km"] is None) is not located


def test_only_a_geofence_entry_needs_the_location_consent_to_be_decided() -> None:
    located = {"cust-1": False, "cust-2": True}
    for trigger in Trigger:
        needed = trigger is Trigger.GEOFENCE_ENTER
        assert needs_location_consent(hit(trigger)) is needed
        assert lacks_location_consent(hit(trigger), located) is needed
        assert not lacks_location_consent(hit(trigger, customer="cust-2"), located)
