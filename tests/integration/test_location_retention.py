"""Where a customer was is kept only for the retention, on the real broker and Redis:
every topic that holds positions (the pings, the geofence transitions, the dead letters,
the location table's changelog) is configured so by the broker, and the online store's
location rows older than the cutoff are deleted (the customer's other views stay), as
are those of a customer who withdraws the consent."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from redis import Redis

from features.online import OnlineReader
from features.retention import OnlineLocations
from features.store import feature_store, push_rows
from offers.settings import Settings
from offers.stack.workers import WorkerProcess
from offers.topics import ALL_TOPICS, DEAD_LETTER, GEOFENCE, HOUR_MS, LOCATION, SOCIAL
from tests.integration.groups import worker_settings

RETENTION_HOURS = 2


def broker_configs(settings: Settings, names: list[str]) -> dict[str, dict[str, str]]:
    """Each topic's own configuration as the broker describes it (a setting left to the
    broker's default is absent)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
    finally:
        admin.close()
    topics: dict[str, Any] = described["topic"]
    return {
        name: {key: str(entry.get("value")) for key, entry in topics[name].items()}
        for name in names
    }


def test_every_topic_holding_positions_keeps_them_only_for_the_retention(
    stack_settings: Settings, tmp_path: Path
) -> None:
    retention = stack_settings.location_retention_hours * HOUR_MS
    holders = [spec.name for spec in ALL_TOPICS if spec.holds_location]
    assert set(holders) == {LOCATION.name, GEOFENCE.name, DEAD_LETTER.name}
    configs = broker_configs(stack_settings, [*holders, SOCIAL.name])
    for name in holders:
        assert configs[name]["retention.ms"] == str(retention), name
        assert configs[name].get("cleanup.policy", "delete") == "delete", name
        assert int(configs[name]["segment.ms"]) <= min(HOUR_MS, retention // 4), name
    assert configs[SOCIAL.name]["retention.ms"] == str(SOCIAL.retention_ms)

    # the location table's changelog, created by a worker with a retention of its own
    base = worker_settings(stack_settings, tmp_path, "location-changelog", redis_db=9)
    settings = Settings(**{**base.model_dump(), "location_retention_hours": RETENTION_HOURS})
    with WorkerProcess(settings, "worker", tmp_path) as worker:
        worker.wait_ready()
        prefix = settings.stream_app_id
        location, social = (
            f"{prefix}-customer_location-changelog",
            f"{prefix}-customer_social-changelog",
        )
        changelogs = broker_configs(settings, [location, social])
    assert changelogs[location]["cleanup.policy"] == "compact,delete"
    assert changelogs[location]["retention.ms"] == str(RETENTION_HOURS * HOUR_MS)
    assert changelogs[location]["segment.ms"] == str(RETENTION_HOURS * HOUR_MS // 4)
    # a changelog without positions keeps every key's latest value
    assert changelogs[social]["cleanup.policy"] == "compact"


@pytest.fixture
def online(stack_settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, OnlineLocations]]:
    settings = worker_settings(stack_settings, tmp_path, "location-online", redis_db=9)
    locations = OnlineLocations(feature_store(settings), Redis.from_url(settings.redis_url))
    try:
        yield settings, locations
    finally:
        locations.close()


def location_row(customer: str, at: datetime) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "event_timestamp": at,
        "last_lat": 43.55,
        "last_lon": 10.31,
        "last_ping_ts": int(at.timestamp()),
        "nearest_port": "LIV",
        "nearest_port_km": 1.2,
        "geofence_port": "LIV",
        "geofence_enter_ts": int(at.timestamp()) - 60,
        "dwell_s": 60,
        "speed_mps": 0.5,
        "pings_1h": 6,
    }


def booking_row(customer: str, at: datetime) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "event_timestamp": at,
        "searches_24h": 2,
        "quotes_24h": 1,
        "routes_24h": ["LIV-OLB"],
        "route_counts_24h": [3],
        "abandoned_quotes_24h": 0,
        "last_booking_ts": 0,
        "bookings_total": 1,
        "spend_total_eur": 120.0,
        "cancellations_total": 0,
    }


def read(settings: Settings, customers: list[str]) -> dict[str, list[Any]]:
    features = {"customer_location_fv": ("last_lat",), "customer_booking_fv": ("bookings_total",)}
    with OnlineReader.from_settings(settings, features) as reader:
        return reader.read(customers, [""] * len(customers))


def test_online_location_rows_older_than_the_cutoff_are_deleted_and_the_rest_stays(
    online: tuple[Settings, OnlineLocations],
) -> None:
    settings, locations = online
    now = datetime.now(UTC)
    token = uuid.uuid4().hex[:8]
    old, fresh, other = (f"{name}-{token}" for name in ("old", "fresh", "other"))
    store = feature_store(settings)
    push_rows(
        store,
        "customer_location_push",
        [location_row(old, now - timedelta(hours=30)), location_row(fresh, now)],
        to_offline=False,
    )
    push_rows(
        store,
        "customer_booking_push",
        [booking_row(old, now - timedelta(hours=30)), booking_row(other, now)],
        to_offline=False,
    )
    assert read(settings, [old, fresh, other])["last_lat"] == [43.55, 43.55, None]

    assert locations.prune(now - timedelta(hours=24)) == 1
    after = read(settings, [old, fresh, other])
    assert after["last_lat"] == [None, 43.55, None]
    # the old customer's booking features are not location: they stay
    assert after["bookings_total"] == [1, None, 1]
    assert locations.prune(now - timedelta(hours=24)) == 0

    # a withdrawal deletes a customer's row whatever its age
    assert locations.delete([fresh, f"nobody-{token}"]) == 1
    assert read(settings, [fresh])["last_lat"] == [None]
