"""The offers a customer currently holds, and their redemption, kept in Redis.

An offer is kept only while it can be of use: every key of an offer expires (``EXPIREAT``)
at its ``expires_at`` plus a short retention, during which a redeemed or expired offer
can still be looked up and a repeated redemption answered the same way. An offer issued
in replayed or simulated time, whose expiry may lie in the wall clock's past, is added
with the moment to keep it until instead.

Keys:

``offers:offer:{decision_id}`` (hash)
    One offer: ``customer_id``, ``campaign_id``, ``expires_at_us`` (microseconds since the
    epoch), ``discount_cents``, ``offer`` (the :class:`StoredOffer` as JSON, without its
    redemption) and, once redeemed, ``redeemed_at`` (ISO 8601, UTC).
``offers:customer:{customer_id}`` (sorted set)
    The customer's decision ids, scored by expiry in microseconds since the epoch. It
    expires with the customer's last offer; members whose offer is past its retention
    are pruned on read.
``offers:campaign-budget:{campaign_id}`` (hash)
    What the campaign's redemptions used: ``redemptions`` and ``discount_cents``
    (integers, so that sums do not drift). Never expires, and outlives erasure.

A redemption checks the offer (owner, expiry, earlier redemption) and the campaign's
limits and counts it in one Lua script, so that redemptions from many processes at once
never take a campaign past its limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from redis import Redis
from redis.client import Pipeline

from offers.campaigns.budget import Budget
from offers.contracts.base import Identifier, UtcDatetime, aware_utc
from offers.contracts.events import Channel, Language
from offers.errors import OffersError
from offers.redis_values import redis_text

OFFER_KEY = "offers:offer:{decision_id}"
CUSTOMER_OFFERS_KEY = "offers:customer:{customer_id}"
CAMPAIGN_BUDGET_KEY = "offers:campaign-budget:{campaign_id}"

DEFAULT_RETENTION_AFTER_EXPIRY = timedelta(days=1)
MAX_MESSAGE_CHARS = 1_600

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_ADD = """
-- KEYS: offer, customer index. ARGV: decision id, expiry score, expire-at (s), then
-- the offer's field/value pairs. Keeps the first offer of a decision.
if redis.call('EXISTS', KEYS[1]) == 1 then
    return 0
end
local expire_at = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIREAT', KEYS[1], expire_at)
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if redis.call('EXPIRETIME', KEYS[2]) < expire_at then
    redis.call('EXPIREAT', KEYS[2], expire_at)
end
return 1
"""

_REDEEM = """
-- KEYS: offer, campaign budget. ARGV: customer id, campaign id, now (us), now (ISO),
-- max redemptions, max discount (cents); an empty limit is no limit.
local offer = redis.call('HMGET', KEYS[1],
    'customer_id', 'campaign_id', 'expires_at_us', 'discount_cents', 'redeemed_at')
if offer[1] ~= ARGV[1] or offer[2] ~= ARGV[2] then
    return {'not_found'}
end
if offer[5] then
    return {'redeemed_before', offer[5]}
end
if tonumber(ARGV[3]) >= tonumber(offer[3]) then
    return {'expired'}
end
local used = redis.call('HMGET', KEYS[2], 'redemptions', 'discount_cents')
local redemptions = tonumber(used[1]) or 0
local cents = tonumber(used[2]) or 0
local discount = tonumber(offer[4])
if ARGV[5] ~= '' and redemptions + 1 > tonumber(ARGV[5]) then
    return {'max_redemptions', tostring(redemptions)}
end
if ARGV[6] ~= '' and cents + discount > tonumber(ARGV[6]) then
    return {'max_discount_spend', tostring(cents)}
end
redis.call('HSET', KEYS[1], 'redeemed_at', ARGV[4])
redis.call('HINCRBY', KEYS[2], 'redemptions', 1)
redis.call('HINCRBY', KEYS[2], 'discount_cents', discount)
return {'redeemed', ARGV[4]}
"""

Message = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS)]


class StoredOffer(BaseModel):
    """An offer sent to a customer, as the customer sees it and as a campaign counts it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision_id: Identifier
    customer_id: Identifier
    campaign_id: Identifier
    channel: Channel
    language: Language
    message: Message = Field(description="The rendered, personalised text that was sent.")
    offer: dict[str, Any] = Field(description="The campaign's offer document, as JSON.")
    discount_eur: float = Field(
        ge=0.0,
        allow_inf_nan=False,
        description="Counted against the campaign's discount spend when redeemed.",
    )
    route_id: Identifier | None = None
    sailing_id: Identifier | None = None
    issued_at: UtcDatetime
    expires_at: UtcDatetime
    redeemed_at: UtcDatetime | None = None

    @model_validator(mode="after")
    def _expires_after_issue(self) -> StoredOffer:
        if self.expires_at <= self.issued_at:
            raise ValueError(
                f"expires_at ({self.expires_at.isoformat()}) must be later than "
                f"issued_at ({self.issued_at.isoformat()})"
            )
        return self


@dataclass(frozen=True, slots=True)
class RedemptionLimits:
    """A campaign's limits on redemptions; ``None`` is no limit."""

    max_redemptions: int | None = None
    max_discount_spend_eur: float | None = None

    @classmethod
    def of(cls, budget: Budget | None) -> RedemptionLimits:
        """The redemption limits of a campaign's budget (none without a budget)."""
        if budget is None:
            return cls()
        return cls(budget.max_redemptions, budget.max_discount_spend_eur)

    def __post_init__(self) -> None:
        if self.max_redemptions is not None and self.max_redemptions < 0:
            raise ValueError(f"max_redemptions is {self.max_redemptions}, less than 0")
        spend = self.max_discount_spend_eur
        if spend is not None and not (math.isfinite(spend) and spend >= 0):
            raise ValueError(f"max_discount_spend_eur is {spend}, not a finite amount >= 0")


@dataclass(frozen=True, slots=True)
class Redemption:
    """A redeemed offer; ``first`` is False when it had been redeemed before."""

    offer: StoredOffer
    first: bool


@dataclass(frozen=True, slots=True)
class BudgetUse:
    """What a campaign's redemptions have used so far."""

    redemptions: int
    discount_eur: float


class OfferNotFound(OffersError):
    """No such offer for this customer (it may belong to another, or be gone)."""

    def __init__(self, customer_id: str, decision_id: str) -> None:
        super().__init__(f"customer {customer_id} holds no offer {decision_id}")
        self.customer_id = customer_id
        self.decision_id = decision_id


class OfferExpired(OffersError):
    """The offer expired before it was redeemed."""

    def __init__(self, decision_id: str, expires_at: datetime) -> None:
        super().__init__(f"offer {decision_id} expired at {expires_at.isoformat()}")
        self.decision_id = decision_id
        self.expires_at = expires_at


class BudgetExhausted(OffersError):
    """Redeeming the offer would take its campaign past one of its limits."""

    def __init__(self, campaign_id: str, limit: str, value: float, reason: str) -> None:
        super().__init__(f"campaign {campaign_id}: {reason}")
        self.campaign_id = campaign_id
        self.limit = limit
        self.value = value


def euros_to_cents(euros: float) -> int:
    """Whole cents, half a cent rounded up (``0.285`` is 29 cents, as written)."""
    return int((Decimal(repr(euros)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


class OfferBook:
    """The offers customers hold, and the redemptions counted against campaign budgets."""

    def __init__(
        self,
        redis: Redis,
        *,
        retention_after_expiry: timedelta = DEFAULT_RETENTION_AFTER_EXPIRY,
    ) -> None:
        if retention_after_expiry < timedelta(0):
            raise ValueError(f"retention_after_expiry is {retention_after_expiry}, negative")
        self._redis = redis
        self._retention = retention_after_expiry
        self._add = redis.register_script(_ADD)
        self._redeem = redis.register_script(_REDEEM)

    def add(self, offer: StoredOffer, *, keep_until: datetime | None = None) -> bool:
        """Keep the offer until its expiry plus the retention, or until ``keep_until``
        when given (by the wall clock, as Redis expires keys); False if the decision is
        already kept (the first offer, and its redemption, stay as they were)."""
        if offer.redeemed_at is not None:
            raise ValueError(f"offer {offer.decision_id} is redeemed; add it unredeemed")
        if keep_until is None:
            keep_until = offer.expires_at + self._retention
        expire_at = math.ceil(aware_utc(keep_until, "keep_until").timestamp())
        fields: dict[str, str | int] = {
            "customer_id": offer.customer_id,
            "campaign_id": offer.campaign_id,
            "expires_at_us": _micros(offer.expires_at),
            "discount_cents": euros_to_cents(offer.discount_eur),
            "offer": offer.model_dump_json(exclude={"redeemed_at"}),
        }
        pairs = [item for field, value in fields.items() for item in (field, value)]
        added = self._add(
            keys=[self._offer_key(offer.decision_id), self._customer_key(offer.customer_id)],
            args=[offer.decision_id, _micros(offer.expires_at), expire_at, *pairs],
        )
        return bool(added)

    def current(self, customer_id: str, now: datetime) -> list[StoredOffer]:
        """The customer's offers neither expired at ``now`` nor redeemed, soonest expiry
        first. The index forgets offers past their retention (whose keys are gone)."""
        key = self._customer_key(customer_id)
        pipe = self._redis.pipeline(transaction=False)
        at = aware_utc(now, "now")
        pipe.zremrangebyscore(key, "-inf", _micros(at - self._retention))
        pipe.zrangebyscore(key, f"({_micros(at)}", "+inf")
        _, members = pipe.execute()
        pipe = self._redis.pipeline(transaction=False)
        for member in members:
            pipe.hgetall(self._offer_key(redis_text(member)))
        offers = (self._from_hash(customer_id, stored) for stored in pipe.execute())
        return [o for o in offers if o is not None and o.redeemed_at is None]

    def get(self, customer_id: str, decision_id: str) -> StoredOffer | None:
        """The offer, if it is this customer's and still kept."""
        stored = self._redis.hgetall(self._offer_key(decision_id))
        return self._from_hash(customer_id, stored)

    def by_decision(self, decision_id: str) -> StoredOffer | None:
        """The decision's offer, whichever customer holds it, if it is still kept (for a
        redemption link, which names the decision only)."""
        stored = self._redis.hgetall(self._offer_key(decision_id))
        return self._from_hash(None, stored)

    def redeem(
        self, customer_id: str, decision_id: str, now: datetime, limits: RedemptionLimits
    ) -> Redemption:
        """Redeem the customer's offer at ``now`` within its campaign's limits.

        Redeeming again answers with the first redemption and counts nothing. Raises
        :class:`OfferNotFound`, :class:`OfferExpired` or :class:`BudgetExhausted`.
        """
        offer = self.get(customer_id, decision_id)
        if offer is None:
            raise OfferNotFound(customer_id, decision_id)
        return self.redeem_offer(offer, now, limits)

    def redeem_offer(
        self, offer: StoredOffer, now: datetime, limits: RedemptionLimits
    ) -> Redemption:
        """:meth:`redeem` of an offer already read with :meth:`get` (whose campaign gives
        the limits); the script checks again that it is stored and the customer's."""
        customer_id, decision_id = offer.customer_id, offer.decision_id
        at = aware_utc(now, "now")
        max_redemptions = limits.max_redemptions
        max_spend = limits.max_discount_spend_eur
        outcome, *detail = self._redeem(
            keys=[self._offer_key(decision_id), self._budget_key(offer.campaign_id)],
            args=[
                customer_id,
                offer.campaign_id,
                _micros(at),
                at.isoformat(),
                "" if max_redemptions is None else max_redemptions,
                "" if max_spend is None else euros_to_cents(max_spend),
            ],
        )
        match redis_text(outcome), [redis_text(d) for d in detail]:
            case ("redeemed" | "redeemed_before") as kind, [redeemed_at]:
                redeemed = offer.model_copy(
                    update={"redeemed_at": datetime.fromisoformat(redeemed_at)}
                )
                return Redemption(redeemed, first=kind == "redeemed")
            case "expired", _:
                raise OfferExpired(decision_id, offer.expires_at)
            case "max_redemptions", [used] if max_redemptions is not None:
                raise BudgetExhausted(
                    offer.campaign_id,
                    "max_redemptions",
                    max_redemptions,
                    f"{used} offers redeemed already, the most allowed by "
                    f"max_redemptions {max_redemptions}",
                )
            case "max_discount_spend", [used] if max_spend is not None:
                raise BudgetExhausted(
                    offer.campaign_id,
                    "max_discount_spend_eur",
                    max_spend,
                    f"a discount of {offer.discount_eur:.2f} EUR on {int(used) / 100:.2f} EUR "
                    f"spent already would pass max_discount_spend_eur {max_spend:.2f} EUR",
                )
        raise OfferNotFound(customer_id, decision_id)

    def spent(self, campaign_id: str) -> BudgetUse:
        """The redemptions counted against the campaign, and their discounts in EUR."""
        used = cast(
            "list[bytes | str | None]",
            self._redis.hmget(self._budget_key(campaign_id), ["redemptions", "discount_cents"]),
        )
        redemptions, cents = (int(redis_text(v)) if v is not None else 0 for v in used)
        return BudgetUse(redemptions=redemptions, discount_eur=cents / 100)

    def holds(self, customer_id: str) -> bool:
        """Whether any offer of the customer may still be kept (its index exists)."""
        return bool(self._redis.exists(self._customer_key(customer_id)))

    def erase(self, customer_id: str) -> int:
        """Remove every offer of the customer, redeemed or not; returns how many.

        The campaigns' counters keep the redemptions.
        """
        index = self._customer_key(customer_id)

        def remove(pipe: Pipeline) -> None:
            members = cast("list[bytes | str]", pipe.zrange(index, 0, -1))
            pipe.multi()
            pipe.delete(index)
            for member in members:
                pipe.delete(self._offer_key(redis_text(member)))

        deleted = cast("list[int]", self._redis.transaction(remove, index))
        return sum(deleted[1:])

    def _from_hash(self, customer_id: str | None, stored: Any) -> StoredOffer | None:
        """The offer in a stored hash; None when there is none, or when ``customer_id``
        is given and does not hold it."""
        fields = {redis_text(k): redis_text(v) for k, v in stored.items()}
        if "offer" not in fields:
            return None
        if customer_id is not None and fields.get("customer_id") != customer_id:
            return None
        offer = StoredOffer.model_validate_json(fields["offer"])
        if "redeemed_at" in fields:
            redeemed_at = datetime.fromisoformat(fields["redeemed_at"])
            offer = offer.model_copy(update={"redeemed_at": redeemed_at})
        return offer

    @staticmethod
    def _offer_key(decision_id: str) -> str:
        return OFFER_KEY.format(decision_id=decision_id)

    @staticmethod
    def _customer_key(customer_id: str) -> str:
        return CUSTOMER_OFFERS_KEY.format(customer_id=customer_id)

    @staticmethod
    def _budget_key(campaign_id: str) -> str:
        return CAMPAIGN_BUDGET_KEY.format(campaign_id=campaign_id)
