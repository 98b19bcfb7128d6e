"""Topics: every event type has one, keyed by the right field, configured as intended."""

from __future__ import annotations

import re
from typing import Any

import pytest

from offers.contracts import EVENT_TYPES, DeadLetter
from offers.settings import Settings
from offers.topics import (
    ALL_TOPICS,
    CAMPAIGNS,
    CONSENT,
    DAY_MS,
    ERASURES,
    GEOFENCE,
    HOUR_MS,
    INPUT_TOPICS,
    LOCATION,
    SOCIAL,
    TopicSpec,
    topic_for,
    topic_named,
)

pytestmark = pytest.mark.usefixtures("clean_env")

ALL_TYPE_NAMES = [*sorted(EVENT_TYPES), DeadLetter.TYPE]
KAFKA_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


@pytest.mark.parametrize("type_name", ALL_TYPE_NAMES)
def test_every_event_type_maps_to_a_topic(type_name: str) -> None:
    spec = topic_for(type_name)
    assert type_name in spec.event_types
    assert spec in ALL_TOPICS
    assert topic_named(spec.name) is spec
    assert [t.name for t in ALL_TOPICS if type_name in t.event_types] == [spec.name]


def test_every_topic_carries_known_event_types() -> None:
    carried = [t for spec in ALL_TOPICS for t in spec.event_types]
    assert sorted(carried) == sorted(ALL_TYPE_NAMES)


def test_topic_names_are_unique_and_valid() -> None:
    names = [spec.name for spec in ALL_TOPICS]
    assert len(set(names)) == len(names)
    for name in names:
        assert KAFKA_TOPIC_NAME.match(name), name


def test_unknown_type_or_name_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no topic carries events of type 'teleport'"):
        topic_for("teleport")
    with pytest.raises(KeyError, match="unknown topic 'events.nowhere'"):
        topic_named("events.nowhere")


def test_input_topics() -> None:
    assert [spec.name for spec in INPUT_TOPICS] == [
        "events.location",
        "events.social",
        "events.booking",
        "events.sailing",
    ]


@pytest.mark.parametrize(
    ("type_name", "overrides", "expected"),
    [
        ("location_ping", {"customer_id": "cust-42"}, "cust-42"),
        ("social_post", {"customer_id": "cust-42"}, "cust-42"),
        ("booking", {"customer_id": "cust-42"}, "cust-42"),
        ("sailing_update", {"sailing_id": "S-9"}, "S-9"),
        ("consent_change", {"customer_id": "cust-42", "scope": "location"}, "cust-42|location"),
        ("consent_change", {"customer_id": "cust-42", "scope": "sms"}, "cust-42|sms"),
        ("campaign_change", {"event_id": "chg-9"}, "chg-9"),
        ("offer_decision", {"customer_id": "cust-42"}, "cust-42"),
        ("delivery_status", {"customer_id": "cust-42"}, "cust-42"),
        ("customer_response", {"customer_id": "cust-42"}, "cust-42"),
        ("customer_erased", {"customer_id": "cust-42"}, "cust-42"),
        ("dead_letter", {"source_key": "cust-42"}, "cust-42"),
    ],
)
def test_partition_key(
    type_name: str, overrides: dict[str, Any], expected: str, make_event: Any
) -> None:
    event = make_event(type_name, **overrides)
    assert event.partition_key() == expected
    # the unchanged example is keyed by its own value, not by a constant
    assert make_event(type_name).partition_key() != expected


def test_consent_key_combines_customer_and_scope(make_event: Any) -> None:
    event = make_event("consent_change", customer_id="cust-7", scope="push")
    assert event.consent_key == "cust-7|push"
    assert event.partition_key() == event.consent_key


def test_compacted_topics() -> None:
    settings = Settings()
    compacted = {spec.name for spec in ALL_TOPICS if spec.compacted}
    assert compacted == {CONSENT.name, CAMPAIGNS.name, ERASURES.name}
    for spec in ALL_TOPICS:
        config = spec.config(settings)
        if spec.compacted:
            assert config["cleanup.policy"] == "compact"
            assert "retention.ms" not in config
        else:
            assert "cleanup.policy" not in config
            assert int(config["retention.ms"]) > 0


def test_location_retention_follows_the_settings() -> None:
    assert LOCATION.config(Settings())["retention.ms"] == str(DAY_MS)
    assert LOCATION.config(Settings(location_retention_hours=48))["retention.ms"] == str(
        48 * HOUR_MS
    )
    assert LOCATION.config(Settings(location_retention_hours=1))["retention.ms"] == str(HOUR_MS)
    assert GEOFENCE.config(Settings(location_retention_hours=2))["retention.ms"] == str(2 * HOUR_MS)
    # other topics keep their own retention
    assert SOCIAL.config(Settings(location_retention_hours=48))["retention.ms"] == str(7 * DAY_MS)


def test_location_retention_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OFFERS_LOCATION_RETENTION_HOURS", "6")
    assert LOCATION.config(Settings())["retention.ms"] == str(6 * HOUR_MS)


def test_partitions() -> None:
    settings = Settings(topic_partitions=12)
    assert CAMPAIGNS.partitions(settings) == 1
    for spec in ALL_TOPICS:
        if spec is not CAMPAIGNS:
            assert spec.partitions(settings) == 12


def test_extra_config_is_applied_last() -> None:
    spec = TopicSpec(
        "events.test",
        key="customer_id",
        event_types=(),
        retention_ms=DAY_MS,
        extra_config={"retention.ms": "1000", "max.message.bytes": "65536"},
    )
    assert spec.config(Settings()) == {"retention.ms": "1000", "max.message.bytes": "65536"}
