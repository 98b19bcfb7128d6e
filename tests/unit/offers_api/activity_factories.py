"""Decisions, delivery statuses and the consumer records that carry them, for the tests of
the live activity; and a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka.consumer.fetcher import ConsumerRecord

from offers.contracts import DeliveryStatus, Event, OfferDecision, encode
from offers.topics import DECISIONS, DELIVERY_STATUS

EVENT_TIME = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
"""When the events say they happened; their records are written later, at ``START`` on."""
START = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def decision(
    n: int,
    outcome: str = "send",
    *,
    campaign: str | None = "camp-elba",
    port: str | None = "LIV",
    route: str | None = None,
) -> OfferDecision:
    return OfferDecision(
        event_id=f"od-{n}",
        event_time=EVENT_TIME,
        decision_id=f"dec-{n}",
        customer_id=f"cust-{n}",
        trigger_event_id=f"trg-{n}",
        trigger="near_port",
        outcome=outcome,
        reason="frequency cap" if outcome == "suppressed" else "highest expected value",
        campaign_id=campaign,
        channel="sms" if outcome == "send" else None,
        port=port,
        route_id=route,
    )


def status(decision_id: str, state: str, n: int = 0) -> DeliveryStatus:
    return DeliveryStatus(
        event_id=f"ds-{decision_id}-{state}-{n}",
        event_time=EVENT_TIME,
        decision_id=decision_id,
        customer_id="cust-1",
        channel="sms",
        status=state,
    )


def record(
    value: Event | bytes | None, at: datetime | None = None, *, topic: str | None = None
) -> ConsumerRecord:
    """A consumer record as kafka-python hands it over: an event on its topic (or on
    ``topic``), written at ``at`` (None: without a timestamp)."""
    if isinstance(value, Event):
        own = DECISIONS if isinstance(value, OfferDecision) else DELIVERY_STATUS
        topic = topic or own.name
        value = encode(value)
    fields: dict[str, Any] = {
        "topic": topic or DECISIONS.name,
        "partition": 0,
        "leader_epoch": None,
        "offset": 0,
        "timestamp": -1 if at is None else int(at.timestamp() * 1000),
        "timestamp_type": 0,
        "key": b"cust-1",
        "value": value,
        "headers": [],
        "checksum": None,
        "serialized_key_size": 6,
        "serialized_value_size": -1 if value is None else len(value),
        "serialized_header_size": -1,
    }
    return ConsumerRecord(**fields)
