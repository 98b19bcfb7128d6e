"""Every topic that holds positions keeps them only ``location_retention_hours``, and in
segments short enough that Kafka can delete them on time; a compacted one (the location
table's changelog) deletes its latest values too once that old."""

from __future__ import annotations

import pytest

from offers.settings import Settings
from offers.topics import ALL_TOPICS, DEAD_LETTER, GEOFENCE, HOUR_MS, LOCATION, TopicSpec

pytestmark = pytest.mark.usefixtures("clean_env")


def test_the_topics_holding_positions_are_the_pings_transitions_and_dead_letters() -> None:
    holders = {spec.name for spec in ALL_TOPICS if spec.holds_location}
    assert holders == {LOCATION.name, GEOFENCE.name, DEAD_LETTER.name}


@pytest.mark.parametrize("hours", [1, 2, 24, 48])
def test_positions_are_kept_for_the_retention_in_short_segments(hours: int) -> None:
    settings = Settings(location_retention_hours=hours)
    retention = hours * HOUR_MS
    for spec in (LOCATION, GEOFENCE, DEAD_LETTER):
        config = spec.config(settings)
        assert config["retention.ms"] == str(retention)
        assert int(config["segment.ms"]) == min(HOUR_MS, retention // 4)
        assert "cleanup.policy" not in config  # Kafka's default: delete


def test_a_compacted_topic_holding_positions_also_deletes_by_age() -> None:
    changelog = TopicSpec(
        "app-customer_location-changelog",
        key="state key",
        event_types=(),
        compacted=True,
        holds_location=True,
    )
    config = changelog.config(Settings(location_retention_hours=2))
    assert config["cleanup.policy"] == "compact,delete"
    assert config["retention.ms"] == str(2 * HOUR_MS)
    assert config["segment.ms"] == str(HOUR_MS // 2)
    # without positions, a compacted topic keeps every key's latest value however old
    plain = TopicSpec("app-customer_social-changelog", "state key", (), compacted=True)
    assert plain.config(Settings())["cleanup.policy"] == "compact"
    assert "retention.ms" not in plain.config(Settings())
