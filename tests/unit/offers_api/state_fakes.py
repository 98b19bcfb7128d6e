"""In-memory stand-ins for what the API holds while it runs (``ApiState``), so that routes
are tested without Kafka or Redis; the Redis stores themselves are tested in
tests/unit/offers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.testclient import TestClient

from offers.campaigns.budget import Budget
from offers.contracts import Channel, DeliveryState
from offers.delivery_status import RANK, Advance
from offers.offer_book import (
    BudgetExhausted,
    OfferExpired,
    Redemption,
    RedemptionLimits,
    StoredOffer,
)
from offers.settings import Settings
from offers_api.main import create_app
from offers_api.rate_limit import WINDOW_S, Admission


@dataclass
class RecordingWriter:
    """Keeps what the API writes to topics: ``(topic, key, decoded value)``."""

    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def put(self, topic: str, key: str, value: bytes | None) -> None:
        self.records.append((topic, key, orjson.loads(value) if value else {}))

    def values(self, topic: str) -> list[dict[str, Any]]:
        return [value for name, _, value in self.records if name == topic]


@dataclass
class MemoryStatusBook:
    """The status book's rule (``offers.delivery_status.RANK``) over a dict."""

    recorded: dict[str, DeliveryState] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def advance(
        self,
        decision_id: str,
        customer_id: str,
        channel: Channel,
        status: DeliveryState,
        *,
        message_id: str | None,
        error_code: str | None,
        at: datetime,
    ) -> Advance:
        self.calls.append(
            {
                "decision_id": decision_id,
                "customer_id": customer_id,
                "channel": channel,
                "status": status,
                "message_id": message_id,
                "error_code": error_code,
                "at": at,
            }
        )
        before = self.recorded.get(decision_id)
        if before is status:
            return Advance.REPEATED
        if before is not None and RANK[before] >= RANK[status]:
            return Advance.STALE
        self.recorded[decision_id] = status
        return Advance.NEW


@dataclass
class MemoryOfferBook:
    """Offers by decision; a redemption checks expiry and ``max_redemptions`` only."""

    offers: dict[str, StoredOffer] = field(default_factory=dict)
    redeemed: int = 0

    def add(self, offer: StoredOffer) -> None:
        self.offers[offer.decision_id] = offer

    def by_decision(self, decision_id: str) -> StoredOffer | None:
        return self.offers.get(decision_id)

    def current(self, customer_id: str, now: datetime) -> list[StoredOffer]:
        held = [
            offer
            for offer in self.offers.values()
            if offer.customer_id == customer_id
            and offer.expires_at > now
            and offer.redeemed_at is None
        ]
        return sorted(held, key=lambda offer: offer.expires_at)

    def redeem_offer(
        self, offer: StoredOffer, now: datetime, limits: RedemptionLimits
    ) -> Redemption:
        kept = self.offers[offer.decision_id]
        if kept.redeemed_at is not None:
            return Redemption(kept, first=False)
        if now >= kept.expires_at:
            raise OfferExpired(kept.decision_id, kept.expires_at)
        cap = limits.max_redemptions
        if cap is not None and self.redeemed + 1 > cap:
            raise BudgetExhausted(kept.campaign_id, "max_redemptions", cap, "budget spent")
        self.redeemed += 1
        self.offers[kept.decision_id] = kept.model_copy(update={"redeemed_at": now})
        return Redemption(self.offers[kept.decision_id], first=True)


@dataclass
class MemoryCampaigns:
    """Campaigns by id, holding only what a redemption reads: the budget."""

    budgets: dict[str, Budget | None] = field(default_factory=dict)

    def get(self, campaign_id: str) -> SimpleNamespace | None:
        if campaign_id not in self.budgets:
            return None
        return SimpleNamespace(campaign_id=campaign_id, budget=self.budgets[campaign_id])


@dataclass
class MemoryRequestWindows:
    """The rate limit's windows (``offers_api.rate_limit.RedisRequestWindows``) in dicts:
    what its Lua script does, step by step."""

    windows: dict[str, dict[str, float]] = field(default_factory=dict)

    def admit(self, key: str, now: float, member: str, limit: int) -> Admission:
        members = self.windows.setdefault(key, {})
        for gone in [m for m, score in members.items() if score <= now - WINDOW_S]:
            del members[gone]
        members[member] = now
        oldest = min(members.values())
        if len(members) > limit:
            del members[member]
            return Admission(admitted=False, oldest=oldest)
        return Admission(admitted=True, oldest=oldest)

    async def admit_async(self, key: str, now: float, member: str, limit: int) -> Admission:
        return self.admit(key, now, member, limit)


@dataclass
class CountingRedis:
    """The Redis commands the routes use directly: the decision workers' watermark."""

    values: dict[str, bytes] = field(default_factory=dict)

    def get(self, key: str) -> bytes | None:
        return self.values.get(key)

    def register_script(self, script: str) -> Any:
        return None


def api_client(settings: Settings, **state: Any) -> tuple[TestClient, SimpleNamespace]:
    """A client of the whole API whose state holds ``settings``, fresh fakes and the
    ``state`` given (the lifespan, which would connect to Kafka and Redis, is not run)."""
    api = SimpleNamespace(
        settings=settings,
        writer=RecordingWriter(),
        statuses=MemoryStatusBook(),
        offers=MemoryOfferBook(),
        campaigns=MemoryCampaigns(),
        request_windows=MemoryRequestWindows(),
        redis=CountingRedis(),
    )
    for name, value in state.items():
        setattr(api, name, value)
    app: FastAPI = create_app(settings)
    app.state.api = api
    return TestClient(app), api
