"""The event contracts: good input round-trips, bad input is rejected field by field."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from offers.contracts import (
    EVENT_TYPES,
    BookingEvent,
    DeadLetter,
    Event,
    LocationPing,
    SocialPost,
    ValidationClock,
    decode,
    encode,
    to_dead_letter,
)
from offers.contracts.codec import MAX_RECORD_BYTES
from offers.contracts.dead_letter import RejectedField
from offers.errors import ContractError, FieldError
from tests.factories import ALL_TYPES as ALL_CLASSES
from tests.factories import NOW

EVENT_TYPE_NAMES = sorted(EVENT_TYPES)
ALL_TYPE_NAMES = [*EVENT_TYPE_NAMES, DeadLetter.TYPE]
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")


def at(delta: timedelta) -> str:
    """NOW shifted by ``delta``, as RFC 3339 text."""
    return (NOW + delta).isoformat()


def test_the_twelve_event_types_are_registered() -> None:
    assert set(EVENT_TYPES) == {
        "location_ping",
        "social_post",
        "booking",
        "sailing_update",
        "consent_change",
        "campaign_change",
        "offer_decision",
        "delivery_status",
        "customer_response",
        "geofence_transition",
        "trigger_signal",
        "customer_erased",
    }
    for name, cls in EVENT_TYPES.items():
        assert cls.TYPE == name
        assert cls.model_fields["type"].default == name


# --- good input --------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", ALL_TYPE_NAMES)
def test_valid_event_round_trips(type_name: str, make_event: Any, clock: ValidationClock) -> None:
    event = make_event(type_name)
    assert type(event) is ALL_CLASSES[type_name]
    decoded = decode(encode(event), clock=clock)
    assert type(decoded) is type(event)
    assert decoded == event


@pytest.mark.parametrize("type_name", ALL_TYPE_NAMES)
def test_encoded_event_is_plain_json(type_name: str, make_event: Any, make_wire: Any) -> None:
    raw = encode(make_event(type_name))
    assert isinstance(raw, bytes)
    data = orjson.loads(raw)
    assert isinstance(data, dict)
    assert data["type"] == type_name
    assert data["schema_version"] == 1
    assert json.loads(raw.decode("utf-8")) == data
    # every field of the input comes back unchanged on the wire, and nothing is null
    wire = make_wire(type_name)
    assert {name: data.get(name) for name in wire} == wire
    assert None not in data.values()


@pytest.mark.parametrize("type_name", ALL_TYPE_NAMES)
def test_decode_accepts_text_as_well_as_bytes(
    type_name: str, make_raw: Any, clock: ValidationClock
) -> None:
    raw = make_raw(type_name)
    assert decode(raw.decode("utf-8"), clock=clock) == decode(raw, clock=clock)


GOOD_VARIANTS = [
    pytest.param("location_ping", {"lat": 90, "lon": -180}, id="location-north-pole-dateline"),
    pytest.param("location_ping", {"lat": -90, "lon": 180}, id="location-south-pole-dateline"),
    pytest.param("location_ping", {"speed_mps": ..., "source": ...}, id="location-defaults"),
    pytest.param("location_ping", {"source": "wifi", "accuracy_m": 0}, id="location-wifi"),
    pytest.param("social_post", {"text": "a" * 2000}, id="social-longest-text"),
    pytest.param("social_post", {"hashtags": ["h"] * 30}, id="social-most-hashtags"),
    pytest.param(
        "social_post", {"brand_mentions": ..., "hashtags": ...}, id="social-no-tags-or-mentions"
    ),
    pytest.param(
        "booking",
        {"action": "search", "sailing_id": ..., "price_eur": ..., "booking_ref": ...},
        id="booking-search-needs-no-sailing-price-or-ref",
    ),
    pytest.param("booking", {"action": "quote", "booking_ref": ...}, id="booking-quote-no-ref"),
    pytest.param("booking", {"action": "cancel", "price_eur": ...}, id="booking-cancel-no-price"),
    pytest.param("booking", {"price_eur": 0}, id="booking-free"),
    pytest.param(
        "sailing_update",
        {"booked_passengers": 500, "booked_cars": 80},
        id="sailing-full",
    ),
    pytest.param(
        "sailing_update",
        {"departure_time": "2025-07-01T10:00:00+02:00", "arrival_time": "2025-07-01T08:01:00Z"},
        id="sailing-arrival-after-departure-across-offsets",
    ),
    pytest.param("consent_change", {"granted": False, "scope": "location"}, id="consent-revoke"),
    pytest.param("campaign_change", {"campaign": {}}, id="campaign-empty-document"),
    pytest.param(
        "offer_decision", {"outcome": "holdout", "channel": ...}, id="decision-holdout-no-channel"
    ),
    pytest.param(
        "offer_decision",
        {"outcome": "no_offer", "campaign_id": ..., "channel": ..., "candidates": []},
        id="decision-no-offer",
    ),
    pytest.param(
        "offer_decision", {"outcome": "suppressed", "campaign_id": ...}, id="decision-suppressed"
    ),
    pytest.param("offer_decision", {"outcome": "control"}, id="decision-control"),
    pytest.param(
        "delivery_status",
        {"status": "failed", "error_code": "30003", "provider_message_id": ...},
        id="delivery-failed",
    ),
    pytest.param(
        "customer_response",
        {"action": "reply", "text": "STOP", "decision_id": ...},
        id="response-reply-without-decision",
    ),
    pytest.param("customer_response", {"action": "redeem"}, id="response-redeem"),
    pytest.param(
        "dead_letter",
        {"payload": "/w==", "payload_encoding": "base64", "source_partition": ...},
        id="dead-letter-base64",
    ),
    pytest.param(
        "dead_letter",
        {"errors": [], "source_offset": ..., "source_key": ...},
        id="dead-letter-bare",
    ),
]


@pytest.mark.parametrize(("type_name", "overrides"), GOOD_VARIANTS)
def test_good_variants_are_accepted(
    type_name: str, overrides: dict[str, Any], make_raw: Any, clock: ValidationClock
) -> None:
    event = decode(make_raw(type_name, **overrides), clock=clock)
    assert type(event) is ALL_CLASSES[type_name]
    assert decode(encode(event), clock=clock) == event


def test_defaults_of_optional_fields(make_raw: Any, clock: ValidationClock) -> None:
    ping = decode(make_raw("location_ping", speed_mps=..., source=...), clock=clock)
    assert isinstance(ping, LocationPing)
    assert ping.speed_mps is None
    assert ping.source == "gps"
    booking = decode(make_raw("booking", passengers=..., cars=..., sales_channel=...), clock=clock)
    assert isinstance(booking, BookingEvent)
    assert (booking.passengers, booking.cars, booking.sales_channel) == (1, 0, "web")


# --- bad input, common to every contract --------------------------------------------------

COMMON_BAD = [
    pytest.param({"event_id": ...}, "event_id", "Field required", id="missing-event-id"),
    pytest.param({"event_id": ""}, "event_id", "at least 1 character", id="empty-event-id"),
    pytest.param({"event_id": "has space"}, "event_id", "should match pattern", id="id-space"),
    pytest.param({"event_id": "e" * 65}, "event_id", "at most 64 characters", id="long-id"),
    pytest.param({"event_id": 17}, "event_id", "valid string", id="numeric-event-id"),
    pytest.param({"event_time": ...}, "event_time", "Field required", id="missing-event-time"),
    pytest.param(
        {"event_time": "2025-06-01T11:00:00"}, "event_time", "timezone info", id="naive-time"
    ),
    pytest.param(
        {"event_time": "yesterday"}, "event_time", "valid datetime", id="unparseable-time"
    ),
    pytest.param(
        {"event_time": at(timedelta(minutes=10))},
        "event_time",
        "later than now plus the allowed skew",
        id="future-time",
    ),
    pytest.param({"colour": "red"}, "colour", "Extra inputs are not permitted", id="unknown"),
    pytest.param(
        {"schema_version": 2}, "schema_version", "unsupported schema version 2", id="schema-v2"
    ),
    pytest.param(
        {"schema_version": 0}, "schema_version", "unsupported schema version 0", id="schema-v0"
    ),
    pytest.param(
        {"schema_version": "1"},
        "schema_version",
        "unsupported schema version '1'",
        id="schema-text",
    ),
    pytest.param({"schema_version": ...}, "schema_version", "is missing", id="no-schema"),
    pytest.param({"type": ...}, "type", "is missing", id="missing-type"),
    pytest.param({"type": "teleport"}, "type", "unknown event type 'teleport'", id="bad-type"),
    pytest.param({"type": 7}, "type", "unknown event type 7", id="numeric-type"),
]


@pytest.mark.parametrize("type_name", ALL_TYPE_NAMES)
@pytest.mark.parametrize(("overrides", "field", "fragment"), COMMON_BAD)
def test_common_bad_input_is_rejected(
    type_name: str,
    overrides: dict[str, Any],
    field: str,
    fragment: str,
    make_wire: Any,
    reject: Any,
) -> None:
    reject(make_wire(type_name, **overrides), field, fragment)


# --- bad input, per contract --------------------------------------------------------------

TOO_MANY_CANDIDATES = [
    {"campaign_id": f"c{i}", "propensity": 0.1, "priority": 1} for i in range(101)
]

BAD_INPUT = [
    # LocationPing
    pytest.param("location_ping", {"lat": 90.5}, "lat", "less than or equal to 90", id="lat-high"),
    pytest.param("location_ping", {"lat": -91}, "lat", "greater than or equal to -90", id="lat-lo"),
    pytest.param("location_ping", {"lon": 180.1}, "lon", "less than or equal to 180", id="lon-hi"),
    pytest.param(
        "location_ping", {"lon": -180.5}, "lon", "greater than or equal to -180", id="lon-lo"
    ),
    pytest.param("location_ping", {"lat": "NaN"}, "lat", "valid number", id="lat-nan"),
    pytest.param("location_ping", {"lon": "-Infinity"}, "lon", "valid number", id="lon-inf"),
    pytest.param("location_ping", {"lat": "north"}, "lat", "valid number", id="lat-text"),
    pytest.param("location_ping", {"lat": None}, "lat", "valid number", id="lat-null"),
    pytest.param("location_ping", {"lon": ...}, "lon", "Field required", id="lon-missing"),
    pytest.param(
        "location_ping", {"accuracy_m": -1}, "accuracy_m", "greater than or equal to 0", id="acc"
    ),
    pytest.param(
        "location_ping",
        {"accuracy_m": 10_001},
        "accuracy_m",
        "less than or equal to 10000",
        id="accuracy-high",
    ),
    pytest.param(
        "location_ping", {"speed_mps": 101}, "speed_mps", "less than or equal to 100", id="speed"
    ),
    pytest.param(
        "location_ping",
        {"source": "satellite"},
        "source",
        "Input should be 'gps', 'network' or 'wifi'",
        id="source-unknown",
    ),
    pytest.param(
        "location_ping", {"customer_id": ...}, "customer_id", "Field required", id="no-customer"
    ),
    pytest.param(
        "location_ping",
        {"customer_id": "abc\n"},
        "customer_id",
        "should match pattern",
        id="customer-trailing-newline",
    ),
    pytest.param(
        "location_ping",
        {"customer_id": "-abc"},
        "customer_id",
        "should match pattern",
        id="customer-leading-dash",
    ),
    pytest.param(
        "location_ping", {"customer_id": None}, "customer_id", "valid string", id="customer-null"
    ),
    # SocialPost
    pytest.param(
        "social_post", {"platform": "myspace"}, "platform", "Input should be", id="platform"
    ),
    pytest.param(
        "social_post",
        {"language": "es"},
        "language",
        "Input should be 'it', 'en', 'de' or 'fr'",
        id="language-unknown",
    ),
    pytest.param(
        "social_post", {"text": "a" * 2001}, "text", "at most 2000 characters", id="text-long"
    ),
    pytest.param("social_post", {"text": ""}, "text", "at least 1 character", id="text-empty"),
    pytest.param("social_post", {"text": ...}, "text", "Field required", id="text-missing"),
    pytest.param(
        "social_post", {"hashtags": ["h"] * 31}, "hashtags", "at most 30 items", id="hashtags-31"
    ),
    pytest.param(
        "social_post",
        {"brand_mentions": ["m"] * 21},
        "brand_mentions",
        "at most 20 items",
        id="mentions-21",
    ),
    pytest.param(
        "social_post",
        {"hashtags": ["capri", "h" * 201]},
        "hashtags.1",
        "at most 200 characters",
        id="hashtag-long",
    ),
    pytest.param(
        "social_post", {"hashtags": "capri"}, "hashtags", "valid array", id="hashtags-not-list"
    ),
    # BookingEvent
    pytest.param(
        "booking",
        {"action": "reserve"},
        "action",
        "Input should be 'search', 'quote', 'book' or 'cancel'",
        id="booking-action",
    ),
    pytest.param("booking", {"route_id": ...}, "route_id", "Field required", id="no-route"),
    pytest.param(
        "booking", {"passengers": 0}, "passengers", "greater than or equal to 1", id="pax-0"
    ),
    pytest.param(
        "booking", {"passengers": 21}, "passengers", "less than or equal to 20", id="pax-21"
    ),
    pytest.param("booking", {"passengers": 2.5}, "passengers", "valid integer", id="pax-fraction"),
    pytest.param("booking", {"cars": 6}, "cars", "less than or equal to 5", id="cars-6"),
    pytest.param(
        "booking", {"price_eur": -1}, "price_eur", "greater than or equal to 0", id="price-neg"
    ),
    pytest.param(
        "booking",
        {"price_eur": 1_000_001},
        "price_eur",
        "less than or equal to 1000000",
        id="price-huge",
    ),
    pytest.param(
        "booking", {"sales_channel": "fax"}, "sales_channel", "Input should be", id="sales-chan"
    ),
    pytest.param(
        "booking",
        {"departure_date": "2025-07-01T08:00:00"},
        "departure_date",
        "timezone info",
        id="departure-naive",
    ),
    pytest.param(
        "booking",
        {"action": "quote", "sailing_id": ...},
        "sailing_id",
        "is required for a quote",
        id="quote-needs-sailing",
    ),
    pytest.param(
        "booking",
        {"action": "book", "sailing_id": None},
        "sailing_id",
        "is required for a book",
        id="book-needs-sailing",
    ),
    pytest.param(
        "booking",
        {"action": "cancel", "sailing_id": ...},
        "sailing_id",
        "is required for a cancel",
        id="cancel-needs-sailing",
    ),
    pytest.param(
        "booking",
        {"action": "quote", "price_eur": ...},
        "price_eur",
        "is required for a quote",
        id="quote-needs-price",
    ),
    pytest.param(
        "booking",
        {"action": "book", "price_eur": ...},
        "price_eur",
        "is required for a book",
        id="book-needs-price",
    ),
    pytest.param(
        "booking",
        {"action": "book", "booking_ref": ...},
        "booking_ref",
        "is required for a book",
        id="book-needs-ref",
    ),
    pytest.param(
        "booking",
        {"action": "cancel", "booking_ref": ...},
        "booking_ref",
        "is required for a cancel",
        id="cancel-needs-ref",
    ),
    # SailingUpdate
    pytest.param(
        "sailing_update",
        {"arrival_time": "2025-07-01T08:00:00+00:00"},
        "arrival_time",
        "must be after departure_time",
        id="arrival-equals-departure",
    ),
    pytest.param(
        "sailing_update",
        {"arrival_time": "2025-07-01T09:00:00+02:00"},
        "arrival_time",
        "must be after departure_time",
        id="arrival-before-departure-in-utc",
    ),
    pytest.param(
        "sailing_update",
        {"booked_passengers": 501},
        "booked_passengers",
        "exceeds capacity_passengers",
        id="overbooked-passengers",
    ),
    pytest.param(
        "sailing_update",
        {"booked_cars": 81},
        "booked_cars",
        "exceeds capacity_cars",
        id="overbooked-cars",
    ),
    pytest.param(
        "sailing_update",
        {"destination_port": "NAP"},
        "destination_port",
        "must differ from origin_port",
        id="round-trip-to-same-port",
    ),
    pytest.param(
        "sailing_update",
        {"capacity_passengers": 10_001},
        "capacity_passengers",
        "less than or equal to 10000",
        id="capacity-huge",
    ),
    pytest.param(
        "sailing_update",
        {"capacity_cars": -1},
        "capacity_cars",
        "greater than or equal to 0",
        id="capacity-negative",
    ),
    pytest.param(
        "sailing_update",
        {"fare_eur": -0.01},
        "fare_eur",
        "greater than or equal to 0",
        id="fare-negative",
    ),
    pytest.param("sailing_update", {"status": "sunk"}, "status", "Input should be", id="status"),
    pytest.param(
        "sailing_update",
        {"departure_time": "2025-07-01T08:00:00"},
        "departure_time",
        "timezone info",
        id="departure-time-naive",
    ),
    pytest.param(
        "sailing_update",
        {"arrival_time": ...},
        "arrival_time",
        "Field required",
        id="arrival-missing",
    ),
    # ConsentChange
    pytest.param(
        "consent_change",
        {"scope": "email"},
        "scope",
        "Input should be 'sms', 'messenger', 'whatsapp', 'push' or 'location'",
        id="scope-unknown",
    ),
    pytest.param(
        "consent_change", {"granted": "maybe"}, "granted", "valid boolean", id="granted-text"
    ),
    pytest.param(
        "consent_change", {"granted": ...}, "granted", "Field required", id="granted-missing"
    ),
    pytest.param(
        "consent_change", {"source": "carrier-pigeon"}, "source", "Input should be", id="src"
    ),
    # CampaignChange
    pytest.param(
        "campaign_change", {"action": "deleted"}, "action", "Input should be", id="camp-action"
    ),
    pytest.param(
        "campaign_change",
        {"revision": 0},
        "revision",
        "greater than or equal to 1",
        id="revision-0",
    ),
    pytest.param(
        "campaign_change", {"actor": ""}, "actor", "at least 1 character", id="actor-empty"
    ),
    pytest.param(
        "campaign_change",
        {"actor": "a" * 65},
        "actor",
        "at most 64 characters",
        id="actor-long",
    ),
    pytest.param("campaign_change", {"campaign": [1, 2]}, "campaign", "an object", id="doc-list"),
    pytest.param(
        "campaign_change", {"campaign": ...}, "campaign", "Field required", id="doc-missing"
    ),
    pytest.param(
        "campaign_change",
        {"campaign_id": "camp summer"},
        "campaign_id",
        "should match pattern",
        id="campaign-id-space",
    ),
    # OfferDecision
    pytest.param(
        "offer_decision", {"outcome": "maybe"}, "outcome", "Input should be", id="outcome"
    ),
    pytest.param(
        "offer_decision",
        {"outcome": "send", "campaign_id": ...},
        "campaign_id",
        "is required when the outcome is send",
        id="send-needs-campaign",
    ),
    pytest.param(
        "offer_decision",
        {"outcome": "holdout", "campaign_id": ...},
        "campaign_id",
        "is required when the outcome is holdout",
        id="holdout-needs-campaign",
    ),
    pytest.param(
        "offer_decision",
        {"outcome": "send", "channel": ...},
        "channel",
        "is required when the outcome is send",
        id="send-needs-channel",
    ),
    pytest.param(
        "offer_decision",
        {"channel": "email"},
        "channel",
        "Input should be 'sms', 'messenger', 'whatsapp' or 'push'",
        id="channel-unknown",
    ),
    pytest.param(
        "offer_decision",
        {"propensity": 1.5},
        "propensity",
        "less than or equal to 1",
        id="propensity-high",
    ),
    pytest.param(
        "offer_decision",
        {"candidates": [{"campaign_id": "c1", "propensity": -0.1, "priority": 1}]},
        "candidates.0.propensity",
        "greater than or equal to 0",
        id="candidate-propensity",
    ),
    pytest.param(
        "offer_decision",
        {"candidates": [{"campaign_id": "c1", "propensity": 0.1}]},
        "candidates.0.priority",
        "Field required",
        id="candidate-no-priority",
    ),
    pytest.param(
        "offer_decision",
        {"candidates": [{"campaign_id": "c1", "propensity": 0.1, "priority": 1, "score": 3}]},
        "candidates.0.score",
        "Extra inputs are not permitted",
        id="candidate-unknown-field",
    ),
    pytest.param(
        "offer_decision",
        {"candidates": TOO_MANY_CANDIDATES},
        "candidates",
        "at most 100 items",
        id="candidates-101",
    ),
    pytest.param(
        "offer_decision",
        {"expires_at": "2025-06-01T18:00:00"},
        "expires_at",
        "timezone info",
        id="expires-naive",
    ),
    pytest.param("offer_decision", {"reason": ""}, "reason", "at least 1 character", id="reason"),
    pytest.param(
        "offer_decision",
        {"trigger_event_id": ...},
        "trigger_event_id",
        "Field required",
        id="trigger-missing",
    ),
    # DeliveryStatus
    pytest.param(
        "delivery_status", {"status": "bounced"}, "status", "Input should be", id="delivery-st"
    ),
    pytest.param(
        "delivery_status", {"channel": "email"}, "channel", "Input should be", id="delivery-ch"
    ),
    pytest.param(
        "delivery_status",
        {"decision_id": ...},
        "decision_id",
        "Field required",
        id="delivery-no-decision",
    ),
    pytest.param(
        "delivery_status",
        {"provider_message_id": "m" * 201},
        "provider_message_id",
        "at most 200 characters",
        id="provider-id-long",
    ),
    pytest.param(
        "delivery_status",
        {"error_code": ""},
        "error_code",
        "at least 1 character",
        id="error-code-empty",
    ),
    # CustomerResponse
    pytest.param(
        "customer_response",
        {"action": "reply", "text": ...},
        "text",
        "is required for a reply",
        id="reply-needs-text",
    ),
    pytest.param(
        "customer_response",
        {"action": "click", "decision_id": ...},
        "decision_id",
        "is required for a click",
        id="click-needs-decision",
    ),
    pytest.param(
        "customer_response",
        {"action": "redeem", "decision_id": ...},
        "decision_id",
        "is required for a redeem",
        id="redeem-needs-decision",
    ),
    pytest.param(
        "customer_response", {"action": "like"}, "action", "Input should be", id="response-act"
    ),
    pytest.param(
        "customer_response",
        {"action": "reply", "text": "t" * 2001},
        "text",
        "at most 2000 characters",
        id="reply-too-long",
    ),
    pytest.param(
        "customer_response", {"channel": ...}, "channel", "Field required", id="no-channel"
    ),
    # GeofenceTransition
    pytest.param(
        "geofence_transition", {"action": "dwell"}, "action", "Input should be", id="geo-action"
    ),
    pytest.param("geofence_transition", {"port": ""}, "port", "at least 1", id="geo-no-port"),
    pytest.param(
        "geofence_transition",
        {"ping_event_id": ...},
        "ping_event_id",
        "Field required",
        id="geo-no-ping",
    ),
    # TriggerSignal
    pytest.param(
        "trigger_signal", {"trigger": "birthday"}, "trigger", "Input should be", id="sig-trigger"
    ),
    pytest.param(
        "trigger_signal",
        {"source_event_id": ...},
        "source_event_id",
        "Field required",
        id="sig-no-source",
    ),
    pytest.param("trigger_signal", {"route_id": "a b"}, "route_id", "pattern", id="sig-route"),
    # CustomerErased
    pytest.param(
        "customer_erased",
        {"requested_by": "robot"},
        "requested_by",
        "Input should be",
        id="er-role",
    ),
    pytest.param(
        "customer_erased", {"customer_id": ...}, "customer_id", "Field required", id="er-customer"
    ),
    # DeadLetter
    pytest.param(
        "dead_letter",
        {"payload_encoding": "latin-1"},
        "payload_encoding",
        "Input should be 'utf-8' or 'base64'",
        id="dl-encoding",
    ),
    pytest.param(
        "dead_letter", {"source_topic": ""}, "source_topic", "at least 1 character", id="dl-topic"
    ),
    pytest.param(
        "dead_letter",
        {"source_topic": "t" * 250},
        "source_topic",
        "at most 249 characters",
        id="dl-topic-long",
    ),
    pytest.param(
        "dead_letter",
        {"source_partition": -1},
        "source_partition",
        "greater than or equal to 0",
        id="dl-partition",
    ),
    pytest.param(
        "dead_letter",
        {"source_offset": -1},
        "source_offset",
        "greater than or equal to 0",
        id="dl-offset",
    ),
    pytest.param(
        "dead_letter", {"stage": "s" * 101}, "stage", "at most 100 characters", id="dl-stage"
    ),
    pytest.param(
        "dead_letter", {"reason": "r" * 4001}, "reason", "at most 4000 characters", id="dl-reason"
    ),
    pytest.param("dead_letter", {"payload": ...}, "payload", "Field required", id="dl-payload"),
    pytest.param(
        "dead_letter",
        {"errors": [{"field": "lat"}]},
        "errors.0.reason",
        "Field required",
        id="dl-error-no-reason",
    ),
    pytest.param(
        "dead_letter",
        {"errors": [{"field": "f" * 201, "reason": "r"}]},
        "errors.0.field",
        "at most 200 characters",
        id="dl-error-field-long",
    ),
]


@pytest.mark.parametrize(("type_name", "overrides", "field", "fragment"), BAD_INPUT)
def test_bad_input_is_rejected(
    type_name: str,
    overrides: dict[str, Any],
    field: str,
    fragment: str,
    make_wire: Any,
    reject: Any,
) -> None:
    reject(make_wire(type_name, **overrides), field, fragment)


def test_every_event_type_has_bad_input_cases() -> None:
    covered = {param.values[0] for param in BAD_INPUT}
    assert covered == set(ALL_TYPE_NAMES)


def test_rejection_reason_shows_the_offending_value(make_wire: Any, reject: Any) -> None:
    error = reject(make_wire("location_ping", lat=91), "lat", "less than")
    assert error.errors == (FieldError("lat", "Input should be less than or equal to 90 (got 91)"),)
    assert str(error) == "lat: Input should be less than or equal to 90 (got 91)"


def test_long_offending_values_are_shortened_in_the_reason(make_wire: Any, reject: Any) -> None:
    error = reject(make_wire("social_post", text="x" * 2001), "text", "at most 2000")
    (item,) = error.errors
    assert item.reason.endswith("...)")
    assert len(item.reason) < 200


def test_cross_field_rule_names_only_the_field(make_wire: Any, reject: Any) -> None:
    error = reject(make_wire("booking", action="quote", price_eur=...), "price_eur", "quote")
    assert error.errors == (FieldError("price_eur", "is required for a quote"),)


def test_every_bad_field_is_reported(make_wire: Any, reject: Any) -> None:
    wire = make_wire("location_ping", lat=100, lon=-200, source="satellite", extra=1)
    error = reject(wire, "lat", "less than or equal to 90")
    assert {e.field for e in error.errors} == {"lat", "lon", "source", "extra"}


# --- the record as a whole ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        pytest.param(b"{not json", "not valid JSON", id="garbage"),
        pytest.param(b"", "not valid JSON", id="empty"),
        pytest.param(b'{"type": "booking",', "not valid JSON", id="truncated"),
        pytest.param(b"\xff\xfe{}", "not valid JSON", id="invalid-utf8"),
        pytest.param(b'{"lat": NaN}', "not valid JSON", id="nan-literal"),
        pytest.param(b"[1, 2]", "must be a JSON object, got list", id="array"),
        pytest.param(b'"location_ping"', "must be a JSON object, got str", id="string"),
        pytest.param(b"42", "must be a JSON object, got int", id="number"),
        pytest.param(b"null", "must be a JSON object, got null", id="null"),
        pytest.param(b"true", "must be a JSON object, got bool", id="bool"),
    ],
)
def test_records_that_are_not_json_objects_are_rejected(
    raw: bytes, fragment: str, reject: Any
) -> None:
    reject(raw, "$", fragment)


def test_record_over_the_byte_limit_is_rejected(make_wire: Any, reject: Any) -> None:
    raw = orjson.dumps(make_wire("social_post")) + b" " * MAX_RECORD_BYTES
    reject(raw, "$", f"over the limit of {MAX_RECORD_BYTES}")
    reject(raw.decode("utf-8"), "$", f"record is {len(raw)} bytes")


def test_record_of_exactly_the_byte_limit_is_accepted(
    make_wire: Any, clock: ValidationClock
) -> None:
    raw = orjson.dumps(make_wire("social_post"))
    padded = raw + b" " * (MAX_RECORD_BYTES - len(raw))
    assert len(padded) == MAX_RECORD_BYTES
    assert isinstance(decode(padded, clock=clock), SocialPost)


def test_unknown_type_lists_the_known_types(make_wire: Any, reject: Any) -> None:
    error = reject(make_wire("booking", type="teleport"), "type", "unknown event type")
    for name in ALL_TYPE_NAMES:
        assert name in error.errors[0].reason


# --- timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ahead",
    [
        timedelta(minutes=-60),
        timedelta(0),
        timedelta(minutes=4),
        timedelta(minutes=5),
    ],
    ids=["past", "now", "4-min-ahead", "exactly-the-skew"],
)
def test_event_time_within_the_skew_is_accepted(
    ahead: timedelta, make_raw: Any, clock: ValidationClock
) -> None:
    event = decode(make_raw("location_ping", event_time=at(ahead)), clock=clock)
    assert event.event_time == NOW + ahead


@pytest.mark.parametrize(
    "ahead",
    [timedelta(minutes=5, microseconds=1), timedelta(minutes=10), timedelta(days=365)],
    ids=["just-past-the-skew", "10-min-ahead", "a-year-ahead"],
)
def test_event_time_beyond_the_skew_is_rejected(
    ahead: timedelta, make_wire: Any, reject: Any
) -> None:
    error = reject(
        make_wire("location_ping", event_time=at(ahead)),
        "event_time",
        "later than now plus the allowed skew",
    )
    (item,) = error.errors
    assert (NOW + timedelta(minutes=5)).isoformat() in item.reason


def test_the_skew_comes_from_the_clock(make_wire: Any, reject: Any) -> None:
    strict = ValidationClock(now=NOW, max_future_skew=timedelta(0))
    wire = make_wire("location_ping", event_time=at(timedelta(seconds=1)))
    reject(wire, "event_time", "later than now", clock=strict)
    lenient = ValidationClock(now=NOW, max_future_skew=timedelta(hours=1))
    wire = make_wire("location_ping", event_time=at(timedelta(minutes=59)))
    assert decode(orjson.dumps(wire), clock=lenient).event_time == NOW + timedelta(minutes=59)


def test_without_a_clock_now_is_the_current_time(make_raw: Any) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=1)
    later = datetime.now(UTC) + timedelta(minutes=30)
    assert decode(make_raw("location_ping", event_time=soon.isoformat())).event_time == soon
    with pytest.raises(ContractError) as info:
        decode(make_raw("location_ping", event_time=later.isoformat()))
    assert info.value.errors[0].field == "event_time"


def test_model_validate_takes_the_clock_as_context(make_wire: Any) -> None:
    wire = make_wire("location_ping", event_time=at(timedelta(minutes=10)))
    past_clock = ValidationClock(now=NOW + timedelta(minutes=8))
    assert LocationPing.model_validate(wire, context=past_clock).event_time > NOW
    assert LocationPing.model_validate(wire, context={"clock": past_clock}).event_time > NOW
    with pytest.raises(ValidationError, match="later than now"):
        LocationPing.model_validate(wire, context=ValidationClock(now=NOW))


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2025-06-01T13:30:00+02:00", datetime(2025, 6, 1, 11, 30, tzinfo=UTC)),
        ("2025-06-01T06:30:00-05:00", datetime(2025, 6, 1, 11, 30, tzinfo=UTC)),
        ("2025-06-01T11:30:00Z", datetime(2025, 6, 1, 11, 30, tzinfo=UTC)),
        ("2025-06-01T17:15:00.250+05:45", datetime(2025, 6, 1, 11, 30, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_offsets_are_normalised_to_utc(
    text: str, utc: datetime, make_raw: Any, clock: ValidationClock
) -> None:
    event = decode(make_raw("location_ping", event_time=text), clock=clock)
    assert event.event_time == utc
    assert event.event_time.tzinfo is UTC
    assert orjson.loads(encode(event))["event_time"] == utc.isoformat()


def test_future_check_compares_instants_not_wall_clock_digits(
    make_wire: Any, make_raw: Any, reject: Any, clock: ValidationClock
) -> None:
    # 13:50 at +02:00 is 11:50 UTC: in the past although its digits are ahead of 12:00
    assert decode(make_raw("location_ping", event_time="2025-06-01T13:50:00+02:00"), clock=clock)
    # 08:10 at -04:00 is 12:10 UTC: ten minutes ahead although its digits are behind
    reject(
        make_wire("location_ping", event_time="2025-06-01T08:10:00-04:00"),
        "event_time",
        "later than now",
    )


def test_every_timestamp_field_is_normalised(make_raw: Any, clock: ValidationClock) -> None:
    update = decode(
        make_raw(
            "sailing_update",
            departure_time="2025-07-01T10:00:00+02:00",
            arrival_time="2025-07-01T11:30:00+02:00",
        ),
        clock=clock,
    )
    wire = orjson.loads(encode(update))
    assert wire["departure_time"] == "2025-07-01T08:00:00+00:00"
    assert wire["arrival_time"] == "2025-07-01T09:30:00+00:00"


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+05:00"], ids=["max", "min"]
)
def test_timestamp_out_of_range_in_utc_is_rejected(text: str, make_wire: Any, reject: Any) -> None:
    reject(make_wire("location_ping", event_time=text), "event_time", "out of range")


def test_naive_datetime_is_refused_when_building_in_python() -> None:
    with pytest.raises(ValidationError, match="timezone info"):
        LocationPing(
            event_id="e1",
            event_time=datetime(2025, 6, 1, 11, 0),  # noqa: DTZ001 - naive on purpose
            customer_id="c1",
            lat=0,
            lon=0,
            accuracy_m=1,
        )


def test_built_event_time_in_another_zone_is_stored_in_utc() -> None:
    rome = timezone(timedelta(hours=2))
    ping = LocationPing(
        event_id="e1",
        event_time=datetime(2020, 6, 1, 14, 0, tzinfo=rome),
        customer_id="c1",
        lat=0,
        lon=0,
        accuracy_m=1,
    )
    assert ping.event_time == datetime(2020, 6, 1, 12, 0, tzinfo=UTC)
    assert ping.event_time.utcoffset() == timedelta(0)


# --- expected types -------------------------------------------------------------------------


def test_expected_type_refuses_another_type(make_raw: Any, reject: Any) -> None:
    raw = make_raw("location_ping")
    reject(
        raw, "type", "'location_ping' does not belong here; expected booking", expected=BookingEvent
    )
    reject(raw, "type", "expected booking, social_post", expected=(BookingEvent, SocialPost))
    reject(raw, "type", "does not belong here", expected=DeadLetter)


def test_expected_type_accepts_its_own_type(make_raw: Any, clock: ValidationClock) -> None:
    raw = make_raw("location_ping")
    assert isinstance(decode(raw, expected=LocationPing, clock=clock), LocationPing)
    assert isinstance(decode(raw, expected=(BookingEvent, LocationPing), clock=clock), LocationPing)


def test_event_classes_are_frozen(make_event: Any) -> None:
    ping = make_event("location_ping")
    with pytest.raises(ValidationError):
        ping.lat = 0.0


# --- dead letters ---------------------------------------------------------------------------


def _failure(raw: bytes, clock: ValidationClock) -> ContractError:
    with pytest.raises(ContractError) as info:
        decode(raw, clock=clock)
    return info.value


def test_dead_letter_keeps_a_text_payload_whole(make_wire: Any, clock: ValidationClock) -> None:
    raw = orjson.dumps(make_wire("location_ping", lat=95, text="città"))
    error = _failure(raw, clock)
    letter = to_dead_letter(
        raw,
        error,
        source_topic="events.location",
        source_partition=3,
        source_offset=1_234,
        source_key=b"cust-1",
        now=NOW,
    )
    assert letter.payload == raw.decode("utf-8")
    assert letter.payload.encode("utf-8") == raw
    assert letter.payload_encoding == "utf-8"
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == (
        "events.location",
        3,
        1_234,
    )
    assert letter.source_key == "cust-1"
    assert letter.stage == "decode"
    assert letter.event_time == NOW
    assert letter.reason == str(error)
    assert "lat: Input should be less than or equal to 90" in letter.reason
    assert letter.errors == tuple(
        RejectedField(field=e.field, reason=e.reason) for e in error.errors
    )
    assert {e.field for e in letter.errors} == {"lat", "text"}


def test_dead_letter_keeps_invalid_utf8_as_base64(clock: ValidationClock) -> None:
    raw = b'{"type": "social_post", "text": "\xff\xfe\x00broken"}'
    error = _failure(raw, clock)
    letter = to_dead_letter(raw, error, source_topic="events.social", now=NOW)
    assert letter.payload_encoding == "base64"
    assert base64.b64decode(letter.payload, validate=True) == raw
    assert letter.errors == (RejectedField(field="$", reason=error.errors[0].reason),)
    assert letter.errors[0].reason.startswith("not valid JSON")


def test_dead_letter_of_a_processing_failure() -> None:
    letter = to_dead_letter(
        b'{"ok": true}', RuntimeError("feature store down"), source_topic="t", stage="enrich"
    )
    assert letter.reason == "feature store down"
    assert letter.errors == ()
    assert letter.stage == "enrich"
    assert letter.event_time <= datetime.now(UTC)
    assert to_dead_letter(None, ValueError(), source_topic="t").reason == "ValueError"
    assert to_dead_letter(None, ValueError(), source_topic="t").payload == ""


def test_dead_letter_key_that_is_not_utf8_is_replaced() -> None:
    letter = to_dead_letter(b"x", ValueError("bad"), source_topic="t", source_key=b"c\xff1")
    assert letter.source_key == "c\ufffd1"


def test_dead_letter_truncates_what_would_not_fit(make_wire: Any, clock: ValidationClock) -> None:
    wire = make_wire("location_ping", **{"k" * 300: 1, "lat": 95})
    error = _failure(orjson.dumps(wire), clock)
    letter = to_dead_letter(orjson.dumps(wire), error, source_topic="events.location", now=NOW)
    fields = {e.field for e in letter.errors}
    assert fields == {"k" * 200, "lat"}
    huge = to_dead_letter(b"x", ValueError("r" * 10_000), source_topic="t", now=NOW)
    assert huge.reason == "r" * 4_000


def test_dead_letter_event_id_is_deterministic() -> None:
    def letter(
        raw: bytes = b"{bad", topic: str = "events.location", partition: int = 1, offset: int = 9
    ) -> DeadLetter:
        return to_dead_letter(
            raw,
            ValueError("whatever"),
            source_topic=topic,
            source_partition=partition,
            source_offset=offset,
            now=NOW,
        )

    first = letter()
    assert IDENTIFIER.match(first.event_id)
    assert first.event_id.startswith("dl-")
    again = to_dead_letter(
        b"{bad",
        RuntimeError("another reason"),
        source_topic="events.location",
        source_partition=1,
        source_offset=9,
        now=NOW + timedelta(hours=1),
    )
    assert again.event_id == first.event_id
    others = {
        letter(raw=b"{bad!").event_id,
        letter(topic="events.social").event_id,
        letter(partition=2).event_id,
        letter(offset=10).event_id,
    }
    assert first.event_id not in others
    assert len(others) == 4


@pytest.mark.parametrize(
    "raw",
    [b'{"type": "booking", "lat": 200}', b"\x80\x81 not utf-8", b""],
    ids=["utf-8", "base64", "empty"],
)
def test_dead_letter_round_trips(raw: bytes, clock: ValidationClock) -> None:
    try:
        decode(raw, clock=clock)
    except ContractError as error:
        letter = to_dead_letter(
            raw, error, source_topic="events.booking", source_offset=7, source_key="k", now=NOW
        )
    else:  # pragma: no cover - every raw above is invalid
        pytest.fail("expected a ContractError")
    data = orjson.loads(encode(letter))
    assert data["type"] == "dead_letter"
    assert data["schema_version"] == 1
    assert decode(encode(letter), expected=DeadLetter, clock=clock) == letter


# --- properties -----------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(
    [
        "type",
        "schema_version",
        "event_id",
        "event_time",
        "customer_id",
        "lat",
        "lon",
        "action",
        "sailing_id",
        "price_eur",
        "booking_ref",
        "outcome",
        "campaign_id",
        "channel",
        "decision_id",
        "text",
        "candidates",
        "departure_time",
        "arrival_time",
        "payload",
        "errors",
    ]
) | st.text(max_size=12)
OFFSETS = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23))
TIMESTAMPS = st.builds(
    lambda moment, offset: moment.replace(tzinfo=UTC).astimezone(timezone(offset)).isoformat(),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)),  # noqa: DTZ001
    OFFSETS,
) | st.sampled_from(["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00", "2025-06-01"])


def _check_outcome(raw: bytes | str, clock: ValidationClock) -> Event | None:
    """Decode ``raw``: either an event that round-trips, or a well-formed ContractError."""
    try:
        event = decode(raw, clock=clock)
    except ContractError as error:
        assert error.errors
        for item in error.errors:
            assert isinstance(item, FieldError)
            assert isinstance(item.field, str) and item.field
            assert isinstance(item.reason, str) and item.reason
        return None
    assert isinstance(event, Event)
    assert decode(encode(event), clock=clock) == event
    return event


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=256))
def test_arbitrary_bytes_decode_or_raise_contract_error(raw: bytes) -> None:
    _check_outcome(raw, ValidationClock(now=NOW))


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES)
def test_arbitrary_json_decodes_or_raises_contract_error(value: Any) -> None:
    _check_outcome(orjson.dumps(value), ValidationClock(now=NOW))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=8), st.sampled_from(ALL_TYPE_NAMES))
def test_arbitrary_objects_decode_or_raise_contract_error(
    fields: dict[str, Any], type_name: str
) -> None:
    clock = ValidationClock(now=NOW)
    _check_outcome(orjson.dumps(fields), clock)
    _check_outcome(orjson.dumps({**fields, "type": type_name, "schema_version": 1}), clock)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_valid_records_decode_or_raise_contract_error(
    data: st.DataObject, make_wire: Any, clock: ValidationClock
) -> None:
    wire = make_wire(data.draw(st.sampled_from(ALL_TYPE_NAMES)))
    for name in data.draw(st.lists(st.sampled_from(sorted(wire)), max_size=3, unique=True)):
        action = data.draw(st.sampled_from(["drop", "replace", "time"]))
        if action == "drop":
            del wire[name]
        elif action == "time":
            wire[name] = data.draw(TIMESTAMPS)
        else:
            wire[name] = data.draw(JSON_VALUES)
    wire.update(data.draw(st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=2)))
    _check_outcome(orjson.dumps(wire), clock)


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(exclude_categories=()), max_size=200))
def test_arbitrary_text_decodes_or_raises_contract_error(text: str) -> None:
    _check_outcome(text, ValidationClock(now=NOW))
