"""Valid example events of every contract, for tests, in wire form and as models.

Every factory takes overrides as keyword arguments; an override of ``...`` removes the
field, so a test can say ``wire("booking", price_eur=...)`` for "no price".
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from offers.contracts import EVENT_TYPES, DeadLetter, Event, ValidationClock

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
"""The fixed "now" of every test; event times below lie shortly before it."""

ALL_TYPES: dict[str, type[Event]] = {**EVENT_TYPES, DeadLetter.TYPE: DeadLetter}

VALID_WIRE: dict[str, dict[str, Any]] = {
    "location_ping": {
        "event_id": "loc-1",
        "event_time": "2025-06-01T11:59:00+00:00",
        "customer_id": "cust-1",
        "lat": 40.8518,
        "lon": 14.2681,
        "accuracy_m": 12.5,
        "speed_mps": 3.2,
        "source": "gps",
    },
    "geofence_transition": {
        "event_id": "geo-loc-1-enter",
        "event_time": "2025-06-01T11:59:00+00:00",
        "customer_id": "cust-1",
        "port": "LIV",
        "action": "enter",
        "ping_event_id": "loc-1",
    },
    "social_post": {
        "event_id": "soc-1",
        "event_time": "2025-06-01T11:58:00+00:00",
        "customer_id": "cust-1",
        "platform": "instagram",
        "language": "it",
        "text": "Che bello il traghetto per Capri!",
        "brand_mentions": ["moby"],
        "hashtags": ["capri", "estate"],
    },
    "booking": {
        "event_id": "bk-1",
        "event_time": "2025-06-01T11:57:00+00:00",
        "customer_id": "cust-1",
        "action": "book",
        "route_id": "NAP-CAP",
        "sailing_id": "S-2025-07-01-0800",
        "departure_date": "2025-07-01T08:00:00+00:00",
        "passengers": 2,
        "cars": 1,
        "price_eur": 120.5,
        "booking_ref": "BK123456",
        "sales_channel": "app",
        "offer_decision_id": "dec-1",
    },
    "sailing_update": {
        "event_id": "sail-1",
        "event_time": "2025-06-01T11:56:00+00:00",
        "sailing_id": "S-2025-07-01-0800",
        "route_id": "NAP-CAP",
        "origin_port": "NAP",
        "destination_port": "CAP",
        "departure_time": "2025-07-01T08:00:00+00:00",
        "arrival_time": "2025-07-01T09:30:00+00:00",
        "capacity_passengers": 500,
        "capacity_cars": 80,
        "booked_passengers": 120,
        "booked_cars": 20,
        "fare_eur": 25.0,
        "status": "scheduled",
    },
    "consent_change": {
        "event_id": "con-1",
        "event_time": "2025-06-01T11:55:00+00:00",
        "customer_id": "cust-1",
        "scope": "sms",
        "granted": True,
        "source": "app",
    },
    "campaign_change": {
        "event_id": "cmp-1",
        "event_time": "2025-06-01T11:54:00+00:00",
        "campaign_id": "camp-summer",
        "action": "activated",
        "actor": "u-ops",
        "actor_role": "marketer",
        "revision": 3,
        "campaign": {"name": "Summer", "discount_pct": 15, "ends_at": None, "routes": ["NAP"]},
    },
    "offer_decision": {
        "event_id": "od-1",
        "event_time": "2025-06-01T11:53:00+00:00",
        "decision_id": "dec-1",
        "customer_id": "cust-1",
        "trigger_event_id": "loc-1",
        "trigger": "near_port",
        "outcome": "send",
        "reason": "highest expected value",
        "campaign_id": "camp-summer",
        "channel": "sms",
        "candidates": [
            {"campaign_id": "camp-summer", "propensity": 0.4, "priority": 2.0, "eligible": True},
            {
                "campaign_id": "camp-winter",
                "propensity": 0.1,
                "priority": 1.0,
                "eligible": False,
                "reason": "frequency cap",
            },
        ],
        "model_version": "lgbm-3",
        "exploration": False,
        "propensity": 0.4,
        "expires_at": "2025-06-01T18:00:00+00:00",
    },
    "trigger_signal": {
        "event_id": "trg-1",
        "event_time": "2025-06-01T11:56:00+00:00",
        "customer_id": "cust-1",
        "trigger": "fare_drop",
        "source_event_id": "sail-1",
        "port": "LIV",
        "route_id": "LIV-OLB",
        "sailing_id": "S-2025-07-01-0800",
    },
    "delivery_status": {
        "event_id": "ds-1",
        "event_time": "2025-06-01T11:52:00+00:00",
        "decision_id": "dec-1",
        "customer_id": "cust-1",
        "channel": "sms",
        "status": "delivered",
        "provider_message_id": "SM0123",
    },
    "customer_response": {
        "event_id": "cr-1",
        "event_time": "2025-06-01T11:51:00+00:00",
        "customer_id": "cust-1",
        "action": "click",
        "channel": "sms",
        "decision_id": "dec-1",
    },
    "customer_erased": {
        "event_id": "erase-1",
        "event_time": "2025-06-01T11:51:00+00:00",
        "customer_id": "cust-1",
        "requested_by": "customer",
    },
    "dead_letter": {
        "event_id": "dl-0001",
        "event_time": "2025-06-01T11:50:00+00:00",
        "source_topic": "events.location",
        "source_partition": 2,
        "source_offset": 41,
        "source_key": "cust-1",
        "payload": "{not json",
        "payload_encoding": "utf-8",
        "stage": "decode",
        "reason": "$: not valid JSON",
        "errors": [{"field": "$", "reason": "not valid JSON"}],
    },
}


def wire(type_name: str, **overrides: Any) -> dict[str, Any]:
    """A valid record of ``type_name`` as a JSON-ready dict."""
    data: dict[str, Any] = {"type": type_name, "schema_version": 1}
    data.update(copy.deepcopy(VALID_WIRE[type_name]))
    for name, value in overrides.items():
        if value is ...:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def make_event(
    kind: str | type[Event],
    n: int | None = None,
    *,
    clock: ValidationClock | None = None,
    **overrides: Any,
) -> Event:
    """A valid event model; ``n`` makes its event id distinct (``<id>-<n>``)."""
    name = kind if isinstance(kind, str) else kind.TYPE
    data = wire(name, **overrides)
    if n is not None and "event_id" not in overrides:
        data["event_id"] = f"{data['event_id']}-{n}"
    return ALL_TYPES[name].model_validate(data, context=clock or ValidationClock())


def one_of_each(n: int = 1) -> list[Event]:
    """One valid event of every type that travels on a topic, dead letter included."""
    return [make_event(name, n) for name in ALL_TYPES]
