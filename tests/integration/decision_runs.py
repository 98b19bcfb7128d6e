"""Building blocks of the decision-agent integration tests: a registry with a trained
model, a campaign that takes every trigger, consent for simulated customers, and the
decision records read back from Kafka."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from models.bootstrap import bootstrap, register
from models.features import FeatureEncoder
from models.registry import ModelRegistry
from offers.campaigns import Campaign, CampaignCreate, network
from offers.campaigns.audit import Actor
from offers.contracts import (
    Channel,
    ConsentChange,
    ConsentScope,
    ConsentSource,
    OfferDecision,
    decode,
    encode,
)
from offers.roles import Role
from offers.settings import Settings
from offers.stack.kafka import end_offsets
from offers.state.campaigns import launch
from offers.state.compacted import TopicWriter
from offers.topics import CONSENT, DECISIONS
from tests.integration.kafka_io import read_records
from tests.unit.campaigns.factories import runnable_wire

ACTOR = Actor(user_id="decision-tests", role=Role.ADMIN)
LANGUAGES = ("it", "en", "de", "fr")


def trained_registry(directory: Path, rows: int = 20_000) -> ModelRegistry:
    """A registry whose champion is the bootstrap model trained on ``rows`` rows."""
    registry = ModelRegistry(directory)
    register(registry, bootstrap(rows, seed=7), promote=True)
    return registry


def reregistered(registry: ModelRegistry) -> str:
    """The champion's model registered again, as a new version (not promoted)."""
    champion = registry.champion()
    assert champion is not None
    model = registry.load(champion)
    return registry.register(
        model.booster,
        features=FeatureEncoder().schema(),
        metrics=model.meta.metrics,
        data=model.meta.data,
        training=model.meta.training,
    )


def every_trigger_wire(start: datetime, days: int) -> dict[str, Any]:
    """A campaign on every trigger, every route and every port, over SMS and WhatsApp in
    every language, from ``start`` for ``days`` days (and 30 more) at any hour."""
    wire = runnable_wire()
    wire["name"] = "Every trigger"
    wire["offer"] = {
        "kind": "percent_discount",
        "percent": 10,
        "all_routes": True,
        "cost_eur": 2.0,
    }
    wire["templates"] = [
        {"channel": channel, "language": language, "text": "{discount} off {sailing} {expiry}"}
        for channel in ("sms", "whatsapp")
        for language in LANGUAGES
    ]
    wire["targeting"] = {
        "triggers": [
            "geofence_enter",
            "abandoned_quote",
            "search",
            "positive_social_mention",
            "fare_drop",
            "capacity_released",
        ],
        "geofences": [{"kind": "port", "port": code} for code in sorted(network.port_codes())],
        "max_position_age_s": 600,
    }
    wire["schedule"] = {
        "start": start.isoformat(),
        "end": (start + timedelta(days=days + 30)).isoformat(),
    }
    wire["budget"] = {"max_sends": 100_000}
    wire["frequency_cap"] = {"per_day": 1, "per_week": 2}
    return wire


def active_campaign(settings: Settings, wire: dict[str, Any]) -> Campaign:
    return launch(settings.kafka_bootstrap, CampaignCreate(**wire), ACTOR)


def grant(settings: Settings, grants: Iterable[tuple[str, Channel]]) -> int:
    """Record each (customer, channel) consent; how many were written."""
    writer = TopicWriter(settings.kafka_bootstrap)
    count = 0
    try:
        for customer, channel in grants:
            change = ConsentChange(
                event_id=f"con-{uuid.uuid4().hex[:16]}",
                event_time=datetime.now(UTC),
                customer_id=customer,
                scope=ConsentScope(channel.value),
                granted=True,
                source=ConsentSource.APP,
            )
            writer.put(CONSENT.name, change.consent_key, encode(change))
            count += 1
    finally:
        writer.close()
    return count


def read_decisions(settings: Settings) -> list[OfferDecision]:
    """Every record of offers.decisions, in each partition's order (duplicates kept)."""
    records = read_records(settings.kafka_bootstrap, DECISIONS.name)
    return [cast(OfferDecision, decode(r.value, expected=OfferDecision)) for r in records]


def settled_decisions(settings: Settings, quiet_s: float = 6.0, limit_s: float = 300.0) -> int:
    """Wait until offers.decisions stops growing for ``quiet_s``; its record count."""
    deadline = time.monotonic() + limit_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = sum(end_offsets(settings.kafka_bootstrap, [DECISIONS.name]).values())
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return count
        time.sleep(0.5)
    raise AssertionError(f"offers.decisions still growing after {limit_s} s ({last} records)")
