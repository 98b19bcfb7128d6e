"""Kafka topic names, their partition keys and their configuration.

Every producer and consumer of the engine names topics through this module. Keyed event
topics are partitioned by customer id (sailings by sailing id) so that all events of one
customer reach the same worker in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from offers.settings import Settings

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic: its name, what its records are keyed by, and how it is configured."""

    name: str
    key: str
    """The event field whose value is the record key (the partition key)."""
    event_types: tuple[str, ...]
    """The ``type`` values of the events that travel on this topic."""
    compacted: bool = False
    single_partition: bool = False
    retention_ms: int | None = None
    holds_location: bool = False
    """Records reveal where a customer was: kept only ``location_retention_hours`` (a
    compacted topic too: its latest values are deleted as well once that old)."""
    extra_config: dict[str, str] = field(default_factory=dict)

    def partitions(self, settings: Settings) -> int:
        return 1 if self.single_partition else settings.topic_partitions

    def config(self, settings: Settings) -> dict[str, str]:
        cfg: dict[str, str] = {}
        if self.compacted:
            cfg["cleanup.policy"] = "compact"
            cfg["min.cleanable.dirty.ratio"] = "0.1"
            cfg["segment.ms"] = str(HOUR_MS)
        retention = self.retention_ms
        if self.holds_location:
            retention = settings.location_retention_hours * HOUR_MS
            # Kafka deletes a whole segment once its newest record is past the retention:
            # short segments keep a record at most a quarter of it longer (an hour at most)
            cfg["segment.ms"] = str(min(HOUR_MS, retention // 4))
            if self.compacted:
                cfg["cleanup.policy"] = "compact,delete"
        if retention is not None:
            cfg["retention.ms"] = str(retention)
        cfg.update(self.extra_config)
        return cfg


LOCATION = TopicSpec(
    "events.location",
    key="customer_id",
    event_types=("location_ping",),
    holds_location=True,
)
SOCIAL = TopicSpec(
    "events.social", key="customer_id", event_types=("social_post",), retention_ms=7 * DAY_MS
)
BOOKING = TopicSpec(
    "events.booking", key="customer_id", event_types=("booking",), retention_ms=30 * DAY_MS
)
SAILING = TopicSpec(
    "events.sailing", key="sailing_id", event_types=("sailing_update",), retention_ms=30 * DAY_MS
)
CONSENT = TopicSpec(
    "state.consent", key="consent_key", event_types=("consent_change",), compacted=True
)
ERASURES = TopicSpec(
    "state.erasures", key="customer_id", event_types=("customer_erased",), compacted=True
)
"""The latest erasure of every erased customer (:mod:`offers.erasure`)."""
CAMPAIGNS = TopicSpec(
    "state.campaigns",
    key="event_id",
    event_types=("campaign_change",),
    compacted=True,
    single_partition=True,
)
GEOFENCE = TopicSpec(
    "features.geofence",
    key="customer_id",
    event_types=("geofence_transition",),
    holds_location=True,
)
TRIGGERS = TopicSpec(
    "offers.triggers",
    key="customer_id",
    event_types=("trigger_signal",),
    retention_ms=7 * DAY_MS,
)
DECISIONS = TopicSpec(
    "offers.decisions", key="customer_id", event_types=("offer_decision",), retention_ms=30 * DAY_MS
)
DELIVERY_STATUS = TopicSpec(
    "offers.delivery-status",
    key="customer_id",
    event_types=("delivery_status",),
    retention_ms=30 * DAY_MS,
)
RESPONSES = TopicSpec(
    "offers.responses",
    key="customer_id",
    event_types=("customer_response",),
    retention_ms=30 * DAY_MS,
)
SOCIAL_MENTIONS = TopicSpec(
    "social.mentions", key="subject", event_types=("social_mention",), retention_ms=7 * DAY_MS
)
"""Social posts split into the subjects they mention, re-keyed by subject for counting
(:mod:`streams.listening`); no customer id or text."""
SOCIAL_AGGREGATES = TopicSpec(
    "social.aggregates",
    key="aggregate_key",
    event_types=("social_aggregate",),
    compacted=True,
)
"""The latest counts of every subject's windows, keyed ``<subject>|<window>|<start ISO>``."""
SOCIAL_ALERTS = TopicSpec(
    "social.alerts", key="subject", event_types=("social_alert",), compacted=True
)
"""The latest alert of every port and route with one (open or closed)."""
DEAD_LETTER = TopicSpec(
    "events.dead-letter",
    key="source_key",
    event_types=("dead_letter",),
    # a dead letter keeps its record whole, and a record of events.location holds a
    # position (even one too broken to be told apart from other records)
    holds_location=True,
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    LOCATION,
    SOCIAL,
    BOOKING,
    SAILING,
    CONSENT,
    ERASURES,
    CAMPAIGNS,
    GEOFENCE,
    TRIGGERS,
    DECISIONS,
    DELIVERY_STATUS,
    RESPONSES,
    DEAD_LETTER,
)

LISTENING_TOPICS: tuple[TopicSpec, ...] = (SOCIAL_MENTIONS, SOCIAL_AGGREGATES, SOCIAL_ALERTS)
"""The topics of social listening, created by the stream-processor workers that write
them (:mod:`streams.listening.agents`)."""

INPUT_TOPICS: tuple[TopicSpec, ...] = (LOCATION, SOCIAL, BOOKING, SAILING)
WORKER_TOPICS: tuple[TopicSpec, ...] = (
    *INPUT_TOPICS,
    GEOFENCE,
    TRIGGERS,
    ERASURES,
    SOCIAL_MENTIONS,
)
"""Every topic the stream-processor workers consume as a group: the inputs, the
geofence transitions and trigger signals they produce for their own decision agent, the
social mentions they re-key by subject, and the erasures, after which they forget a
customer's state."""

_KNOWN = (*ALL_TOPICS, *LISTENING_TOPICS)
_BY_EVENT_TYPE: dict[str, TopicSpec] = {t: spec for spec in _KNOWN for t in spec.event_types}
_BY_NAME: dict[str, TopicSpec] = {spec.name: spec for spec in _KNOWN}


def topic_for(event_type: str) -> TopicSpec:
    """The topic that carries events of ``event_type``."""
    try:
        return _BY_EVENT_TYPE[event_type]
    except KeyError:
        raise KeyError(f"no topic carries events of type {event_type!r}") from None


def topic_named(name: str) -> TopicSpec:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown topic {name!r}") from None
