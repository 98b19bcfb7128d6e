"""The contact ledger: frequency caps, cooldown, suppression and send budgets, in Redis.

Before an offer is sent, :meth:`ContactLedger.reserve` checks every limit and counts the
send in one Lua script, so that workers deciding for the same customer or campaign at the
same moment never take either past a limit. A reservation is idempotent on its decision
id: reserving a decision again answers with its first outcome and counts nothing.
:meth:`ContactLedger.release` gives a granted reservation back when the send is not made.

Days and ISO weeks are the recipient's local ones (:mod:`streams.decisions.policy`).
Counters hold integers, and every key expires once it can no longer matter.

Keys (``{day}`` is ``2026-03-29``, ``{week}`` is ``2026-W13``; ``/`` joins ids, which
never contain it):

``offers:ledger:decision:{decision_id}`` (hash)
    The outcome of the decision's first reservation: ``outcome`` (``granted`` or
    ``refused``), ``reason`` and ``detail`` of a refusal, and ``customer_id``,
    ``campaign_id``, ``channel``, ``day``, ``week`` to release a grant. Expires
    :data:`DECISION_RETENTION` after the reservation; deleted by a release.
``offers:ledger:campaign-day:{campaign_id}/{customer_id}/{day}`` (integer)
``offers:ledger:campaign-week:{campaign_id}/{customer_id}/{week}`` (integer)
    Offers of the campaign granted to the customer in the local day or ISO week.
``offers:ledger:channel-day:{channel}/{customer_id}/{day}`` (integer)
``offers:ledger:channel-week:{channel}/{customer_id}/{week}`` (integer)
    Offers of every campaign granted to the customer over the channel in the local day
    or ISO week. Day counters expire two days after their local day begins, week
    counters eight days after their week begins: a day after the period ends.
``offers:ledger:cooldown:{customer_id}`` (hash)
    ``until_ms`` (milliseconds since the epoch), ``until`` (ISO 8601) and the
    ``decision_id`` that started it: no offer of any campaign before then. Expires then.
``offers:ledger:sends:{campaign_id}`` (integer)
    Offers of the campaign granted, counted against ``Budget.max_sends`` (a holdout's
    ghost contact is not: see :attr:`SendRequest.ghost`). Expires
    :data:`DECISION_RETENTION` after the campaign's end or, when the end is not given,
    :data:`SENDS_RETENTION` after the latest grant.
``offers:ledger:suppressed:{customer_id}`` (hash)
    ``from_ms``, ``until_ms``, ``until`` and ``reason``: no offer decided from then until
    then (an opt-out, a conversion; a decision dated before ``from_ms``, as history
    replayed at event time can be, is not suppressed). Expires then.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from redis import Redis

from offers.campaigns import Campaign
from offers.contracts.base import IDENTIFIER_PATTERN, aware_utc
from offers.contracts.events import Channel
from offers.redis_values import redis_text
from offers.settings import Settings
from streams.decisions.clock import Clock, wall_clock
from streams.decisions.policy import local_date, local_day, local_midnight, local_week, zone_info

LEDGER_PREFIX = "offers:ledger:"
DECISION_KEY = LEDGER_PREFIX + "decision:{decision_id}"
CAMPAIGN_DAY_KEY = LEDGER_PREFIX + "campaign-day:{campaign_id}/{customer_id}/{day}"
CAMPAIGN_WEEK_KEY = LEDGER_PREFIX + "campaign-week:{campaign_id}/{customer_id}/{week}"
CHANNEL_DAY_KEY = LEDGER_PREFIX + "channel-day:{channel}/{customer_id}/{day}"
CHANNEL_WEEK_KEY = LEDGER_PREFIX + "channel-week:{channel}/{customer_id}/{week}"
COOLDOWN_KEY = LEDGER_PREFIX + "cooldown:{customer_id}"
SENDS_KEY = LEDGER_PREFIX + "sends:{campaign_id}"
SUPPRESSION_KEY = LEDGER_PREFIX + "suppressed:{customer_id}"

DECISION_RETENTION = timedelta(days=8)
"""How long a decision's outcome is kept, answering repeated reservations of it."""
SENDS_RETENTION = timedelta(days=400)
"""How long a campaign's send count outlives its latest grant when its end is unknown."""
DAY_COUNTER_LIFE = timedelta(days=2)
WEEK_COUNTER_LIFE = timedelta(days=8)

_ID = re.compile(IDENTIFIER_PATTERN)
_MAX_ID_CHARS = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_RESERVE = """
-- KEYS: decision, suppression, cooldown, campaign day, campaign week, channel day,
-- channel week, sends. ARGV: decision id, customer id, campaign id, channel, now (ms),
-- per_day, per_week, channel_per_day, channel_per_week, max_sends ('' is no limit),
-- cooldown end (ms; none when not after now), cooldown end (ISO), day expire-at (s),
-- week expire-at (s), sends expire-at (s), decision retention (s), local day, local week,
-- cooldown expire-at (ms), ghost ('1': a holdout's contact, outside the budget).
local stored = redis.call('HMGET', KEYS[1], 'outcome', 'reason', 'detail')
if stored[1] then
    return {'replayed', stored[1], stored[2] or '', stored[3] or ''}
end
local now = tonumber(ARGV[5])
local function keep(...)
    redis.call('HSET', KEYS[1], 'customer_id', ARGV[2], 'campaign_id', ARGV[3],
        'channel', ARGV[4], 'day', ARGV[17], 'week', ARGV[18], 'ghost', ARGV[20], ...)
    redis.call('EXPIRE', KEYS[1], ARGV[16])
end
local function refuse(reason, detail)
    keep('outcome', 'refused', 'reason', reason, 'detail', detail)
    return {'new', 'refused', reason, detail}
end
local suppressed = redis.call('HMGET', KEYS[2], 'until_ms', 'until', 'reason', 'from_ms')
if suppressed[1] and tonumber(suppressed[1]) > now and tonumber(suppressed[4] or '0') <= now then
    return refuse('suppressed', 'until ' .. suppressed[2] .. ': ' .. suppressed[3])
end
local cooldown = redis.call('HMGET', KEYS[3], 'until_ms', 'until')
if cooldown[1] and tonumber(cooldown[1]) > now then
    return refuse('cooldown', 'another offer was granted; the cooldown ends at ' .. cooldown[2])
end
local caps = {
    {KEYS[4], ARGV[6], 'capped_campaign_day', 'of the campaign on ' .. ARGV[17] .. ', per_day '},
    {KEYS[5], ARGV[7], 'capped_campaign_week', 'of the campaign in ' .. ARGV[18] .. ', per_week '},
    {KEYS[6], ARGV[8], 'capped_channel_day', 'over ' .. ARGV[4] .. ' on ' .. ARGV[17] ..
        ', channel_per_day '},
    {KEYS[7], ARGV[9], 'capped_channel_week', 'over ' .. ARGV[4] .. ' in ' .. ARGV[18] ..
        ', channel_per_week '},
}
for _, cap in ipairs(caps) do
    local count = tonumber(redis.call('GET', cap[1]) or '0')
    if count >= tonumber(cap[2]) then
        return refuse(cap[3], count .. ' offers ' .. cap[4] .. cap[2])
    end
end
local ghost = ARGV[20] == '1'
local sends = tonumber(redis.call('GET', KEYS[8]) or '0')
if not ghost and ARGV[10] ~= '' and sends >= tonumber(ARGV[10]) then
    return refuse('budget_exhausted', sends .. ' offers sent, max_sends ' .. ARGV[10])
end
for i = 4, 7 do
    redis.call('INCR', KEYS[i])
end
redis.call('EXPIREAT', KEYS[4], ARGV[13])
redis.call('EXPIREAT', KEYS[6], ARGV[13])
redis.call('EXPIREAT', KEYS[5], ARGV[14])
redis.call('EXPIREAT', KEYS[7], ARGV[14])
if not ghost then
    redis.call('INCR', KEYS[8])
    if redis.call('EXPIRETIME', KEYS[8]) < tonumber(ARGV[15]) then
        redis.call('EXPIREAT', KEYS[8], ARGV[15])
    end
end
if tonumber(ARGV[11]) > now then
    redis.call('HSET', KEYS[3], 'until_ms', ARGV[11], 'until', ARGV[12], 'decision_id', ARGV[1])
    redis.call('PEXPIREAT', KEYS[3], ARGV[19])
end
keep('outcome', 'granted', 'reason', '', 'detail', '')
return {'new', 'granted', '', ''}
"""

_RELEASE = """
-- KEYS: decision, campaign day, campaign week, channel day, channel week, sends,
-- cooldown. ARGV: decision id. Gives a granted reservation back, once.
if redis.call('HGET', KEYS[1], 'outcome') ~= 'granted' then
    return 0
end
local last = 6
if redis.call('HGET', KEYS[1], 'ghost') == '1' then
    last = 5
end
for i = 2, last do
    if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('DECR', KEYS[i]) <= 0 then
        redis.call('DEL', KEYS[i])
    end
end
if redis.call('HGET', KEYS[7], 'decision_id') == ARGV[1] then
    redis.call('DEL', KEYS[7])
end
redis.call('DEL', KEYS[1])
return 1
"""

_SUPPRESS = """
-- KEYS: suppression. ARGV: until (ms), until (ISO), reason, expire-at (ms), from (ms).
-- Keeps the later end.
local current = tonumber(redis.call('HGET', KEYS[1], 'until_ms') or '0')
if current >= tonumber(ARGV[1]) then
    return 0
end
redis.call('HSET', KEYS[1], 'until_ms', ARGV[1], 'until', ARGV[2], 'reason', ARGV[3],
    'from_ms', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
"""


class Refusal(StrEnum):
    """Why a send was not reserved."""

    CAPPED_CAMPAIGN_DAY = "capped_campaign_day"
    CAPPED_CAMPAIGN_WEEK = "capped_campaign_week"
    CAPPED_CHANNEL_DAY = "capped_channel_day"
    CAPPED_CHANNEL_WEEK = "capped_channel_week"
    COOLDOWN = "cooldown"
    BUDGET_EXHAUSTED = "budget_exhausted"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True, kw_only=True)
class SendRequest:
    """One offer about to be sent, and the limits it must stay within.

    ``per_day`` and ``per_week`` cap the offers of this campaign to the customer per local
    day and ISO week; ``channel_per_day`` and ``channel_per_week`` those of every campaign
    over ``channel``; ``cooldown`` keeps any other offer away after this one;
    ``max_sends`` is the campaign's budget (``None``: no limit); ``campaign_end``, when
    known, bounds how long the campaign's send count is kept.
    """

    decision_id: str
    customer_id: str
    campaign_id: str
    channel: Channel
    now: datetime
    zone: str
    per_day: int
    per_week: int
    channel_per_day: int = 2
    channel_per_week: int = 5
    cooldown: timedelta = field(default_factory=timedelta)
    max_sends: int | None = None
    campaign_end: datetime | None = None
    ghost: bool = False
    """A holdout's contact: checked and counted in the caps and the cooldown like a send,
    so that held-out customers meet the same contact pressure from every campaign as the
    treated ones (else the holdout gets more offers of other campaigns, and a campaign's
    measured lift is biased), but not in the campaign's budget: nothing is sent."""

    def __post_init__(self) -> None:
        for name in ("decision_id", "customer_id", "campaign_id"):
            value = getattr(self, name)
            if len(value) > _MAX_ID_CHARS or not _ID.fullmatch(value):
                raise ValueError(f"{name} {value!r} is not an id (letters, digits, _.:-)")
        aware_utc(self.now, "now")
        if self.campaign_end is not None:
            aware_utc(self.campaign_end, "campaign_end")
        zone_info(self.zone)
        for name in ("per_day", "per_week", "channel_per_day", "channel_per_week", "max_sends"):
            limit = getattr(self, name)
            if limit is not None and limit < 0:
                raise ValueError(f"{name} is {limit}, less than 0")
        if self.cooldown < timedelta(0):
            raise ValueError(f"cooldown is {self.cooldown}, negative")

    @classmethod
    def for_campaign(
        cls,
        campaign: Campaign,
        settings: Settings,
        *,
        decision_id: str,
        customer_id: str,
        channel: Channel,
        now: datetime,
        zone: str,
        ghost: bool = False,
    ) -> SendRequest:
        """The request for an offer of ``campaign``, with its frequency cap and budget,
        and the channel caps and cooldown of ``settings`` (``ghost``: a holdout's)."""
        return cls(
            decision_id=decision_id,
            customer_id=customer_id,
            campaign_id=campaign.id,
            channel=channel,
            now=now,
            zone=zone,
            per_day=campaign.frequency_cap.per_day,
            per_week=campaign.frequency_cap.per_week,
            channel_per_day=settings.channel_cap_per_day,
            channel_per_week=settings.channel_cap_per_week,
            cooldown=timedelta(hours=settings.offer_cooldown_hours),
            max_sends=campaign.budget.max_sends,
            campaign_end=campaign.schedule.end,
            ghost=ghost,
        )


@dataclass(frozen=True, slots=True)
class Reservation:
    """The outcome of a reservation: granted, or refused with a reason.

    ``first`` is False when the decision had been reserved before and this is its first
    outcome, answered again; ``detail`` says what the refusal found.
    """

    decision_id: str
    refusal: Refusal | None
    detail: str = ""
    first: bool = True

    @property
    def granted(self) -> bool:
        return self.refusal is None


class ContactLedger:
    """Caps, cooldown, suppression and budgets of sends, held atomically in Redis."""

    def __init__(self, redis: Redis, *, clock: Clock = wall_clock) -> None:
        """``clock`` is the wall clock; see :meth:`_lateness`."""
        self._redis = redis
        self._clock = clock
        self._reserve = redis.register_script(_RESERVE)
        self._release = redis.register_script(_RELEASE)
        self._suppress = redis.register_script(_SUPPRESS)

    def reserve(self, request: SendRequest) -> Reservation:
        """Check every limit of ``request`` and, when all hold, count the send."""
        return self.reserve_many([request])[0]

    def reserve_many(self, requests: Sequence[SendRequest]) -> list[Reservation]:
        """:meth:`reserve` of each request, in order, in one round trip: each is atomic
        and sees the counts of those before it, as if they were reserved one by one."""
        if not requests:
            return []
        with self._redis.pipeline(transaction=False) as pipe:
            for request in requests:
                keys, args = self._reserve_call(request)
                self._reserve(keys=keys, args=args, client=pipe)
            results = pipe.execute()
        reservations = []
        for request, result in zip(requests, results, strict=True):
            when, outcome, reason, detail = (redis_text(part) for part in cast("list[Any]", result))
            refusal = Refusal(reason) if outcome == "refused" else None
            reservations.append(
                Reservation(request.decision_id, refusal, detail, first=when == "new")
            )
        return reservations

    def _reserve_call(self, request: SendRequest) -> tuple[list[str], list[Any]]:
        """The keys and arguments of the reservation script for ``request``."""
        now = aware_utc(request.now, "now")
        day, week = local_day(now, request.zone), local_week(now, request.zone)
        cooldown_end = now + request.cooldown
        late = self._lateness(now)
        keys = [
            DECISION_KEY.format(decision_id=request.decision_id),
            SUPPRESSION_KEY.format(customer_id=request.customer_id),
            COOLDOWN_KEY.format(customer_id=request.customer_id),
            *_counter_keys(
                request.campaign_id, request.customer_id, request.channel.value, day, week
            ),
        ]
        args = [
            request.decision_id,
            request.customer_id,
            request.campaign_id,
            request.channel.value,
            _millis(now),
            request.per_day,
            request.per_week,
            request.channel_per_day,
            request.channel_per_week,
            "" if request.max_sends is None else request.max_sends,
            _millis(cooldown_end),
            cooldown_end.isoformat(),
            _day_expiry(now, request.zone) + late,
            _week_expiry(now, request.zone) + late,
            _sends_expiry(now, request.campaign_end) + late,
            math.ceil(DECISION_RETENTION.total_seconds()),
            day,
            week,
            _millis(cooldown_end) + late * 1000,
            "1" if request.ghost else "0",
        ]
        return keys, args

    def release(self, decision_id: str) -> bool:
        """Give back the decision's granted reservation: its counts, its cooldown and its
        send. False when there is nothing to give back (refused, unknown, released)."""
        record_key = DECISION_KEY.format(decision_id=decision_id)
        stored = cast("dict[Any, Any]", self._redis.hgetall(record_key))
        record = {redis_text(k): redis_text(v) for k, v in stored.items()}
        if record.get("outcome") != "granted":
            return False
        counters = _counter_keys(
            record["campaign_id"],
            record["customer_id"],
            record["channel"],
            record["day"],
            record["week"],
        )
        cooldown = COOLDOWN_KEY.format(customer_id=record["customer_id"])
        released = self._release(keys=[record_key, *counters, cooldown], args=[decision_id])
        return bool(released)

    def suppress(
        self, customer_id: str, until: datetime, reason: str, *, since: datetime | None = None
    ) -> None:
        """Refuse every send to the customer until ``until`` (an opt-out, a conversion).

        ``since``, when given, is when the suppression began (a booking's time): sends
        decided before it, as history replayed at event time can be, are not refused.
        Without it, every send decided before ``until`` is (an opt-out applies to all).
        An earlier suppression lasting longer is kept as it is.
        """
        end = aware_utc(until, "until")
        start = aware_utc(since, "since") if since is not None else None
        late = self._lateness(start) if start is not None else 0
        self._suppress(
            keys=[SUPPRESSION_KEY.format(customer_id=customer_id)],
            args=[
                _millis(end),
                end.isoformat(),
                reason,
                _millis(end) + late * 1000,
                _millis(start) if start is not None else 0,
            ],
        )

    def _lateness(self, moment: datetime) -> int:
        """Seconds by which the wall clock is past ``moment`` (0 when it is not).

        Limits are counted at the decision's time, which lies in the past when history is
        replayed (``OFFERS_DECISION_CLOCK=event``). Each key's expiry is pushed back by
        this much, so it is kept as long after it is written as it would have been live,
        rather than expiring as soon as it is written.
        """
        return max(0, math.floor((self._clock() - moment).total_seconds()))

    def sends(self, campaign_id: str) -> int:
        """The offers of the campaign granted and not released."""
        return self.sends_many([campaign_id])[campaign_id]

    def sends_many(self, campaign_ids: list[str]) -> dict[str, int]:
        """:meth:`sends` of each campaign, in one round trip."""
        if not campaign_ids:
            return {}
        keys = [SENDS_KEY.format(campaign_id=campaign_id) for campaign_id in campaign_ids]
        values = cast("list[Any]", self._redis.mget(keys))
        return {
            campaign_id: 0 if value is None else int(redis_text(value))
            for campaign_id, value in zip(campaign_ids, values, strict=True)
        }


def _counter_keys(
    campaign_id: str, customer_id: str, channel: str, day: str, week: str
) -> tuple[str, str, str, str, str]:
    """Campaign day, campaign week, channel day, channel week, sends."""
    return (
        CAMPAIGN_DAY_KEY.format(campaign_id=campaign_id, customer_id=customer_id, day=day),
        CAMPAIGN_WEEK_KEY.format(campaign_id=campaign_id, customer_id=customer_id, week=week),
        CHANNEL_DAY_KEY.format(channel=channel, customer_id=customer_id, day=day),
        CHANNEL_WEEK_KEY.format(channel=channel, customer_id=customer_id, week=week),
        SENDS_KEY.format(campaign_id=campaign_id),
    )


def _day_expiry(now: datetime, zone: str) -> int:
    """Two local days after the local day of ``now`` begins, in seconds since the epoch."""
    day = local_date(now, zone)
    return _seconds(local_midnight(day + DAY_COUNTER_LIFE, zone))


def _week_expiry(now: datetime, zone: str) -> int:
    """Eight local days after the local ISO week of ``now`` begins (a Monday)."""
    day = local_date(now, zone)
    monday = day - timedelta(days=day.isoweekday() - 1)
    return _seconds(local_midnight(monday + WEEK_COUNTER_LIFE, zone))


def _sends_expiry(now: datetime, campaign_end: datetime | None) -> int:
    if campaign_end is None:
        return _seconds(now + SENDS_RETENTION)
    return _seconds(max(now, aware_utc(campaign_end, "campaign_end")) + DECISION_RETENTION)


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _seconds(moment: datetime) -> int:
    return math.ceil((moment - _EPOCH).total_seconds())
