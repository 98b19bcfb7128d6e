"""The engine's state about one customer in Redis, found and erased.

Besides the contact store and the offer book, the engine keeps in Redis what its
decisions and deliveries need to know about each customer. Each kind of key is a
:class:`Family`: a pattern of its keys and how a key of the family shows that it holds
the customer's data (:class:`Match`):

- contact policy (:mod:`streams.decisions.ledger`): caps per local day and ISO week per
  campaign and channel, the cooldown and the suppression, named by the customer; the
  outcome of each reservation, a hash with the customer's id;
- decision memos (:mod:`streams.decisions.memo`): each trigger's first plan, JSON naming
  the customer;
- quote watch (:mod:`streams.decisions.quotes`): the customer's watch, and its place in
  the index of due quotes;
- route searches (:mod:`streams.decisions.searchers`): the customer in each route's recent
  searchers;
- delivery records: statuses (:mod:`offers.delivery_status`), scheduled messages
  (:mod:`streams.delivery.schedule`), the send record of each of the customer's decisions
  (:mod:`streams.delivery.ledger`) and the unreachable marks
  (:mod:`streams.delivery.sender`);
- offers (:mod:`offers.offer_book`) and contact index entries (:mod:`offers.contacts`)
  that their own stores no longer reach (an offer pruned from the customer's index, an
  older number's index entry);
- the API's request windows (``offers_api.rate_limit``) and API keys issued to the
  customer (``offers_api.credentials``).

Aggregates that name no customer stay: a campaign's send count and redemption budget,
the decision watermark, the salts of holdouts and exploration.

:meth:`EngineState.erase` reads the whole keyspace once (``SCAN``), checks the keys of
each batch that may hold the customer's data in one pipelined round trip, and deletes
what does (or removes the customer from a shared sorted set). Its cost grows with the
keyspace, which suits an operation as rare as an erasure.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

import orjson
from redis import Redis
from redis.client import Pipeline

from offers.contracts.events import Channel
from offers.delivery_status import STATUS_KEY
from offers.offer_book import CUSTOMER_OFFERS_KEY, OFFER_KEY
from offers.redis_values import redis_text
from offers.roles import Role
from streams.decisions.ledger import (
    CAMPAIGN_DAY_KEY,
    CAMPAIGN_WEEK_KEY,
    CHANNEL_DAY_KEY,
    CHANNEL_WEEK_KEY,
    COOLDOWN_KEY,
    DECISION_KEY,
    SUPPRESSION_KEY,
)
from streams.decisions.memo import MEMO_KEY
from streams.decisions.quotes import DUE_KEY, WATCH_KEY
from streams.decisions.searchers import SEARCHERS_KEY
from streams.delivery.ledger import SEND_KEY
from streams.delivery.schedule import SCHEDULE_KEY
from streams.delivery.sender import UNREACHABLE_KEY

CONTACT_INDEX_KEY = "contact:phone:{digest}"
"""An entry of :class:`offers.contacts.ContactStore`'s index: the customer's id."""
REQUEST_WINDOW_KEY = "rate:{group}:" + Role.CUSTOMER.value + ":{customer_id}"
"""A customer's request window of a group of API routes (``offers_api.rate_limit``)."""
API_KEY_KEY = "offers:api-key:{key_id}"
"""An API key's hash: ``subject``, ``role`` (``offers_api.credentials``)."""

SCAN_COUNT = 1_000
"""Keys asked for per ``SCAN`` step."""


class Match(StrEnum):
    """How a key of a family shows that it holds the customer's data."""

    NAMED = "named"
    """The key names the customer: it is deleted."""
    FIELD = "field"
    """A hash whose ``customer_id`` field is the customer's id: it is deleted."""
    VALUE = "value"
    """A string whose value is the customer's id: it is deleted."""
    PLAN = "plan"
    """A decision plan (JSON) whose record is the customer's: it is deleted."""
    MEMBER = "member"
    """A sorted set of customer ids: the customer is removed from it."""
    SCHEDULED = "scheduled"
    """A sorted set of decision records: the customer's are removed from it."""
    API_KEY = "api_key"
    """An API key's hash: deleted when it was issued to the customer."""


@dataclass(frozen=True, slots=True)
class Family:
    """Keys of one kind (``template``, matched by ``key``), the store they are counted
    under, and how they are checked."""

    store: str
    match: Match
    template: str
    key: re.Pattern[str]

    @property
    def decisions(self) -> bool:
        """Whether the keys end with a decision id (whose send record goes too)."""
        return self.template.endswith("{decision_id}")

    def decision_of(self, key: str) -> str:
        """The decision id a key of a :attr:`decisions` family ends with."""
        return key[len(self.template.split("{", 1)[0]) :]


IDENTIFIER = r"[A-Za-z0-9][A-Za-z0-9_.:\-]*"
NO_SLASH = r"[^/]+"
CHANNELS = "|".join(re.escape(channel.value) for channel in Channel)


def key_pattern(template: str, customer_id: str | None = None, **fields: str) -> re.Pattern[str]:
    """A ``str.format`` key template as a pattern of whole keys: ``{customer_id}`` is the
    customer's id, every other field matches its regex in ``fields`` (an id, by
    default)."""
    parts: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name == "customer_id" and customer_id is not None:
            parts.append(re.escape(customer_id))
        else:
            parts.append(f"(?:{fields.get(name, IDENTIFIER)})")
    return re.compile("".join(parts))


def families(customer_id: str) -> tuple[Family, ...]:
    """Every family of keys that can hold data of ``customer_id``."""

    def family(store: str, match: Match, template: str, **fields: str) -> Family:
        return Family(store, match, template, key_pattern(template, customer_id, **fields))

    return (
        family("contact_policy", Match.NAMED, COOLDOWN_KEY),
        family("contact_policy", Match.NAMED, SUPPRESSION_KEY),
        family("contact_policy", Match.NAMED, CAMPAIGN_DAY_KEY, campaign_id=NO_SLASH, day=NO_SLASH),
        family(
            "contact_policy", Match.NAMED, CAMPAIGN_WEEK_KEY, campaign_id=NO_SLASH, week=NO_SLASH
        ),
        family("contact_policy", Match.NAMED, CHANNEL_DAY_KEY, channel=CHANNELS, day=NO_SLASH),
        family("contact_policy", Match.NAMED, CHANNEL_WEEK_KEY, channel=CHANNELS, week=NO_SLASH),
        family("contact_policy", Match.FIELD, DECISION_KEY),
        family("decision_memos", Match.PLAN, MEMO_KEY),
        family("quote_watch", Match.NAMED, WATCH_KEY),
        family("quote_watch", Match.MEMBER, DUE_KEY),
        family("route_searches", Match.MEMBER, SEARCHERS_KEY),
        family("delivery_records", Match.FIELD, STATUS_KEY),
        family("delivery_records", Match.SCHEDULED, SCHEDULE_KEY),
        family("delivery_records", Match.NAMED, UNREACHABLE_KEY, channel=CHANNELS),
        family("offers", Match.NAMED, CUSTOMER_OFFERS_KEY),
        family("offers", Match.FIELD, OFFER_KEY),
        family("contact", Match.VALUE, CONTACT_INDEX_KEY, digest="[0-9a-f]{64}"),
        family("request_windows", Match.NAMED, REQUEST_WINDOW_KEY, group="[^:]+"),
        family("api_keys", Match.API_KEY, API_KEY_KEY),
    )


STORES: tuple[str, ...] = tuple(dict.fromkeys(family.store for family in families("c")))
"""The stores the engine's state is counted under, in :func:`families`' order."""


def family_of(known: tuple[Family, ...], key: str) -> Family | None:
    """The first family ``key`` belongs to, if any."""
    return next((family for family in known if family.key.fullmatch(key)), None)


def decision_of(raw: bytes | str | None, customer_id: str) -> str | None:
    """The decision id of an encoded decision record, or of a decision plan (JSON with its
    record under ``record``), when it is the customer's; None otherwise (also when the
    value is not one)."""
    if raw is None:
        return None
    try:
        data = orjson.loads(raw)
        if isinstance(data, dict) and isinstance(data.get("record"), str):
            data = orjson.loads(data["record"])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("customer_id") != customer_id:
        return None
    decision = data.get("decision_id")
    return decision if isinstance(decision, str) else ""


@dataclass(frozen=True, slots=True)
class Check:
    """One key of a batch that may hold the customer's data, and its family."""

    key: str
    family: Family


class EngineState:
    """Erases one customer's state from the engine's Redis (see the module's notes)."""

    def __init__(self, redis: Redis, *, scan_count: int = SCAN_COUNT) -> None:
        self._redis = redis
        self._scan_count = scan_count

    def erase(self, customer_id: str) -> dict[str, int]:
        """Erase the customer's state; what was removed, per store of :data:`STORES`
        (keys deleted, or sorted-set members removed)."""
        known = families(customer_id)
        counts = dict.fromkeys(STORES, 0)
        decisions: set[str] = set()
        for batch in self._batches():
            checks = [Check(key, f) for key in batch if (f := family_of(known, key)) is not None]
            if checks:
                self._erase_batch(customer_id, checks, counts, decisions)
        if decisions:
            sends = [SEND_KEY.format(decision_id=d) for d in sorted(decisions)]
            counts["delivery_records"] += cast(int, self._redis.delete(*sends))
        return counts

    def _batches(self) -> Iterator[list[str]]:
        """The keyspace, a ``SCAN`` step at a time, as text (binary keys, such as Feast's,
        are left out: no family has them)."""
        cursor = 0
        while True:
            reply = self._redis.scan(cursor, count=self._scan_count)
            cursor, keys = cast("tuple[int, list[bytes]]", reply)
            yield [text for key in keys if (text := _text(key)) is not None]
            if cursor == 0:
                return

    def _erase_batch(
        self, customer_id: str, checks: list[Check], counts: dict[str, int], decisions: set[str]
    ) -> None:
        """Remove the customer from the batch's shared sets and schedules, delete its own
        keys, and delete the keys whose value shows that they hold its data."""
        pipe = self._redis.pipeline(transaction=False)
        for check in checks:
            _queue(pipe, check, customer_id)
        replies = pipe.execute(raise_on_error=False)
        doomed: list[Check] = []
        for check, reply in zip(checks, replies, strict=True):
            family = check.family
            if isinstance(reply, Exception):
                continue  # a key of another type than its family's: not one of them
            if family.match in (Match.NAMED, Match.MEMBER):
                counts[family.store] += int(reply)
            elif family.match is Match.SCHEDULED:
                counts[family.store] += self._unschedule(check.key, customer_id, decisions)
            elif _holds(family.match, reply, customer_id):
                doomed.append(check)
                decision = (
                    family.decision_of(check.key)
                    if family.decisions
                    else decision_of(reply, customer_id)
                )
                if decision:
                    decisions.add(decision)
        if doomed:
            pipe = self._redis.pipeline(transaction=False)
            for check in doomed:
                pipe.delete(check.key)
            for check, deleted in zip(doomed, pipe.execute(), strict=True):
                counts[check.family.store] += int(deleted)

    def _unschedule(self, key: str, customer_id: str, decisions: set[str]) -> int:
        """Remove the customer's records from a schedule; how many there were."""
        members: list[Any] = []
        for member, _ in self._redis.zscan_iter(key, count=self._scan_count):
            decision = decision_of(member, customer_id)
            if decision is not None:
                members.append(member)
                decisions.add(decision)
        return cast(int, self._redis.zrem(key, *members)) if members else 0


def _queue(pipe: Pipeline, check: Check, customer_id: str) -> None:
    """Queue the command that erases ``check.key`` when it names the customer (a delete, a
    removal from a set), or that reads what tells whether it holds the customer's data."""
    match check.family.match:
        case Match.NAMED:
            pipe.delete(check.key)
        case Match.MEMBER:
            pipe.zrem(check.key, customer_id)
        case Match.FIELD:
            pipe.hget(check.key, "customer_id")
        case Match.VALUE | Match.PLAN:
            pipe.get(check.key)
        case Match.SCHEDULED:
            pipe.type(check.key)
        case Match.API_KEY:
            pipe.hmget(check.key, ["subject", "role"])


def _holds(match: Match, reply: Any, customer_id: str) -> bool:
    """Whether a key's reply to :func:`_queue` shows the customer's data."""
    match match:
        case Match.FIELD | Match.VALUE:
            return reply is not None and redis_text(reply) == customer_id
        case Match.PLAN:
            return decision_of(reply, customer_id) is not None
        case Match.API_KEY:
            subject, role = (None if v is None else redis_text(v) for v in reply)
            return subject == customer_id and role == Role.CUSTOMER.value
    return False


def _text(key: bytes | str) -> str | None:
    if isinstance(key, str):
        return key
    try:
        return key.decode()
    except UnicodeDecodeError:
        return None
