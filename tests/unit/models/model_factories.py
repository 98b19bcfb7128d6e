"""Test data of the scoring model: online feature rows, offers and candidate batches.

Import as ``tests.unit.models.model_factories``. Builders take overrides as keyword
arguments.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from models.bootstrap import BootstrapResult
from models.features import FeatureEncoder
from models.inputs import ONLINE_FEATURES, CandidateBatch, Candidates
from models.registry import ModelRegistry
from offers.campaigns.offer import Offer, OfferKind, Upgrade
from offers.campaigns.targeting import Trigger
from offers.contracts.events import Channel

REQUEST_TS = datetime(2026, 7, 10, 9, 30, tzinfo=UTC).timestamp()
"""The moment candidates are considered in these tests."""
HOUR = 3600.0

ONLINE_ROW: dict[str, Any] = {
    "last_lat": 43.60,
    "last_lon": 10.35,
    "last_ping_ts": REQUEST_TS - 2 * HOUR,
    "nearest_port_km": 6.2,
    "dwell_s": 0,
    "speed_mps": 12.5,
    "pings_1h": 4,
    "sentiment_7d": 0.5,
    "posts_7d": 2,
    "brand_mentions_7d": 3,
    "language": "de",
    "searches_24h": 3,
    "quotes_24h": 1,
    "abandoned_quotes_24h": 1,
    "last_booking_ts": REQUEST_TS - 10 * 24 * HOUR,
    "bookings_total": 4,
    "spend_total_eur": 512.5,
    "cancellations_total": 1,
    "routes_24h": ["LIV-OLB", "OLB-LIV", "PIO-PFE"],
    "route_counts_24h": [2, 1, 1],
}
assert set(ONLINE_ROW) == set(ONLINE_FEATURES)


def online_row(**overrides: Any) -> dict[str, Any]:
    """A customer's online features, every view present."""
    return {**ONLINE_ROW, **overrides}


def empty_online_row() -> dict[str, Any]:
    """A customer the online store knows nothing about (every value None)."""
    return dict.fromkeys(ONLINE_FEATURES)


def offer(kind: OfferKind = OfferKind.PERCENT_DISCOUNT, **overrides: Any) -> Offer:
    """A valid offer of ``kind`` on every route."""
    values: dict[OfferKind, dict[str, Any]] = {
        OfferKind.PERCENT_DISCOUNT: {"percent": 15, "cost_eur": 12.0},
        OfferKind.FIXED_DISCOUNT: {"amount_eur": 20.0, "cost_eur": 20.0},
        OfferKind.UPGRADE: {"upgrade": Upgrade.CABIN, "cost_eur": 20.0},
        OfferKind.ONBOARD_VOUCHER: {"amount_eur": 15.0, "cost_eur": 9.0},
    }
    return Offer.model_validate({"kind": kind, "all_routes": True, **values[kind], **overrides})


def add_candidate(batch: CandidateBatch, customer: int = 0, **overrides: Any) -> None:
    """One candidate: by default 15 % off Livorno-Olbia in two days, over SMS."""
    arguments: dict[str, Any] = {
        "customer": customer,
        "offer": offer(),
        "trigger": Trigger.SEARCH,
        "channel": Channel.SMS,
        "request_ts": REQUEST_TS,
        "local_hour": 11,
        "route_id": "LIV-OLB",
        "departure_ts": REQUEST_TS + 48 * HOUR,
        "fare_eur": 80.0,
        "load_factor_pax": 0.55,
        **overrides,
    }
    batch.add(arguments.pop("customer"), arguments.pop("offer"), **arguments)


def candidates(count: int, customers: int = 1) -> Candidates:
    """``count`` varied candidates spread over ``customers`` customers."""
    batch = CandidateBatch()
    kinds = list(OfferKind)
    routes = ["LIV-OLB", "PIO-PFE", "GOA-BAS", "CIV-OLB", None]
    for k in range(count):
        add_candidate(
            batch,
            customer=k % customers,
            offer=offer(kinds[k % len(kinds)]),
            trigger=list(Trigger)[k % len(Trigger)],
            channel=list(Channel)[k % len(Channel)],
            local_hour=k % 24,
            route_id=routes[k % len(routes)],
            departure_ts=REQUEST_TS + (2 + k % 300) * HOUR,
            fare_eur=30.0 + k % 90,
            load_factor_pax=(k % 10) / 10.0,
        )
    return batch.build()


def register(registry: ModelRegistry, result: BootstrapResult, **overrides: Any) -> str:
    """Register a bootstrap result with the encoder's features (or ``overrides``)."""
    arguments: dict[str, Any] = {
        "features": FeatureEncoder().schema(),
        "metrics": result.evaluation.to_dict(),
        "data": result.data,
        "training": result.training,
        **overrides,
    }
    return registry.register(result.booster, **arguments)
