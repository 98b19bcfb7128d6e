"""The engine's live activity for the marketers' page: its decisions and the delivery of its
offers, counted per campaign and per port as the topics receive them.

- :class:`ActivityTally` folds decisions and delivery statuses into counts, plain data
  without Kafka (the feed's thread and the tests feed it alike);
- :class:`ActivityFeed` tails :data:`~offers.topics.DECISIONS` and
  :data:`~offers.topics.DELIVERY_STATUS` in a thread of the API process, from
  ``lookback`` before it started, folding every record into its tally; it outlives the
  broker going away (it connects again by itself) and records it cannot read (skipped
  and counted).

What is counted:

- a decision once per ``decision_id`` and a delivery state once per decision, however
  often the records are read again (a replay, a retried status), as long as the decision
  is among the last :data:`MAX_TRACKED_DECISIONS`; a status read before its decision
  waits for it (at most :data:`MAX_WAITING_DECISIONS` decisions' statuses wait);
- times are the records' timestamps, when they were written: the page shows what the
  engine does now, a replay of history included, and the ``*_recent`` counts of a port
  cover the records written in the last ``window_s`` seconds of the wall clock;
- everything kept is bounded: at most :data:`MAX_CAMPAIGNS` campaigns and
  :data:`MAX_PORTS` ports (those without a decision for the longest go first), the
  :data:`RECENT_SIZE` latest decisions, one count per second of the window.

No customer id, phone number or message text is kept: a decision keeps its id, campaign,
port, outcome, reason and channel, which is all the page may show.

The port of a decision (:func:`activity_port`) is where its offer happens: the port of
its trigger (a geofence entered) or else the port its route leaves from (a search, a
quote, a sailing's fare drop); a decision about no route and no port counts under none.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol, TypeVar

from kafka.consumer.fetcher import ConsumerRecord

from offers.contracts import (
    DecisionOutcome,
    DeliveryState,
    DeliveryStatus,
    Event,
    OfferDecision,
    decode,
)
from offers.errors import ContractError
from offers.settings import Settings
from offers.state.tail import TopicTail, since
from offers.topics import DECISIONS, DELIVERY_STATUS
from offers_api.schemas import (
    ActivityPublic,
    CampaignActivityPublic,
    PortActivityPublic,
    RecentDecisionPublic,
)
from simulators.routes import all_routes

log = logging.getLogger(__name__)

WINDOW_S = 900
"""The span of a port's recent counts: the last 15 minutes."""
RECENT_SIZE = 20
MAX_CAMPAIGNS = 1_000
MAX_PORTS = 500
MAX_TRACKED_DECISIONS = 50_000
"""Decisions remembered to count each once and to find the campaign of a status."""
MAX_WAITING_DECISIONS = 10_000

EXPECTED: dict[str, type[Event]] = {
    DECISIONS.name: OfferDecision,
    DELIVERY_STATUS.name: DeliveryStatus,
}
"""The topics tailed and the event each carries."""

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


class ActivitySource(Protocol):
    """What the routes read: the snapshot, its version, and whether the feed has stopped."""

    @property
    def stopped(self) -> bool: ...

    def version(self) -> int: ...

    def snapshot(self) -> ActivityPublic: ...


@dataclass(slots=True)
class _Window:
    """Decisions and sends per second (Unix time) of the recent window."""

    decided: Counter[int] = field(default_factory=Counter)
    sent: Counter[int] = field(default_factory=Counter)
    oldest: int | None = None

    def add(self, second: int, sent: bool) -> None:
        self.decided[second] += 1
        self.sent[second] += sent
        self.oldest = second if self.oldest is None else min(self.oldest, second)

    def drop_through(self, cutoff: int) -> bool:
        """Forget the seconds up to ``cutoff``; whether anything was forgotten."""
        if self.oldest is None or self.oldest > cutoff:
            return False
        for second in [s for s in self.decided if s <= cutoff]:
            del self.decided[second]
            self.sent.pop(second, None)
        self.oldest = min(self.decided, default=None)
        return True


@dataclass(slots=True)
class _PortCounts:
    last_at: datetime
    decided: int = 0
    sent: int = 0
    window: _Window = field(default_factory=_Window)


@dataclass(slots=True)
class _CampaignCounts:
    last_at: datetime
    by_outcome: Counter[DecisionOutcome] = field(default_factory=Counter)
    by_delivery: Counter[DeliveryState] = field(default_factory=Counter)


@dataclass(slots=True)
class _Tracked:
    """A decision already counted: its campaign, and the delivery states counted for it."""

    campaign_id: str | None
    states: set[DeliveryState] = field(default_factory=set)


_K = TypeVar("_K", str, str | None)
_C = TypeVar("_C", _PortCounts, _CampaignCounts)


def _keep_latest(counts: dict[_K, _C], limit: int) -> None:
    """Drop the entries without a decision for the longest until ``limit`` are left."""
    while len(counts) > limit:
        del counts[min(counts, key=lambda key: counts[key].last_at)]


@lru_cache(maxsize=1)
def _route_origins() -> dict[str, str]:
    return {route.route_id: route.origin for route in all_routes()}


def activity_port(decision: OfferDecision) -> str | None:
    """The port a decision's offer is about: its trigger's, else its route's origin."""
    if decision.port is not None:
        return decision.port
    return None if decision.route_id is None else _route_origins().get(decision.route_id)


class ActivityTally:
    """Counts of decisions and delivery statuses (see the module's docstring); not
    thread-safe: :class:`ActivityFeed` holds a lock around it."""

    def __init__(self, *, window_s: int = WINDOW_S, clock: Clock = wall_clock) -> None:
        self.window_s = window_s
        self.version = 0
        """One more at every change of what :meth:`snapshot` shows but its time."""
        self.unreadable = 0
        self._clock = clock
        self._ports: dict[str | None, _PortCounts] = {}
        self._campaigns: dict[str, _CampaignCounts] = {}
        self._recent: list[RecentDecisionPublic] = []
        """Newest first."""
        self._tracked: OrderedDict[str, _Tracked] = OrderedDict()
        self._waiting: OrderedDict[str, set[DeliveryState]] = OrderedDict()

    def add(self, event: Event, at: datetime) -> None:
        """Fold a decision or a delivery status written at ``at``; ignore anything else."""
        if isinstance(event, OfferDecision):
            self.add_decision(event, at)
        elif isinstance(event, DeliveryStatus):
            self.add_status(event)

    def add_unreadable(self) -> None:
        self.unreadable += 1
        self.version += 1

    def add_decision(self, decision: OfferDecision, at: datetime) -> None:
        if decision.decision_id in self._tracked:
            return
        tracked = _Tracked(decision.campaign_id)
        self._tracked[decision.decision_id] = tracked
        if len(self._tracked) > MAX_TRACKED_DECISIONS:
            self._tracked.popitem(last=False)
        self._count_port(activity_port(decision), decision.outcome, at)
        if decision.campaign_id is not None:
            self._count_campaign(decision.campaign_id, decision.outcome, at)
        self._remember(decision, at)
        self.version += 1
        for state in self._waiting.pop(decision.decision_id, ()):
            self._count_state(tracked, state)

    def add_status(self, status: DeliveryStatus) -> None:
        tracked = self._tracked.get(status.decision_id)
        if tracked is not None:
            self._count_state(tracked, status.status)
            return
        self._waiting.setdefault(status.decision_id, set()).add(status.status)
        if len(self._waiting) > MAX_WAITING_DECISIONS:
            self._waiting.popitem(last=False)

    def expire(self) -> None:
        """Forget what left the recent window (a change of the snapshot, so of its
        version)."""
        cutoff = self._cutoff(self._clock())
        dropped = [port.window.drop_through(cutoff) for port in self._ports.values()]
        if any(dropped):
            self.version += 1

    def snapshot(self) -> ActivityPublic:
        self.expire()
        return ActivityPublic(
            as_of=self._clock(),
            version=self.version,
            window_s=self.window_s,
            ports=[self._port(code) for code in sorted(self._ports, key=_port_order)],
            campaigns=[self._campaign(name) for name in sorted(self._campaigns)],
            recent=list(self._recent),
            unreadable=self.unreadable,
        )

    def _cutoff(self, now: datetime) -> int:
        """The last second before the recent window."""
        return int(now.timestamp()) - self.window_s

    def _count_port(self, port: str | None, outcome: DecisionOutcome, at: datetime) -> None:
        counts = self._ports.get(port)
        if counts is None:
            counts = self._ports[port] = _PortCounts(last_at=at)
            _keep_latest(self._ports, MAX_PORTS)
        sent = outcome is DecisionOutcome.SEND
        counts.last_at = max(counts.last_at, at)
        counts.decided += 1
        counts.sent += sent
        second = int(at.timestamp())
        if second > self._cutoff(self._clock()):
            counts.window.add(second, sent)

    def _count_campaign(self, campaign_id: str, outcome: DecisionOutcome, at: datetime) -> None:
        counts = self._campaigns.get(campaign_id)
        if counts is None:
            counts = self._campaigns[campaign_id] = _CampaignCounts(last_at=at)
            _keep_latest(self._campaigns, MAX_CAMPAIGNS)
        counts.last_at = max(counts.last_at, at)
        counts.by_outcome[outcome] += 1

    def _count_state(self, tracked: _Tracked, state: DeliveryState) -> None:
        if state in tracked.states:
            return
        tracked.states.add(state)
        counts = self._campaigns.get(tracked.campaign_id or "")
        if counts is not None:
            counts.by_delivery[state] += 1
            self.version += 1

    def _remember(self, decision: OfferDecision, at: datetime) -> None:
        """Keep the decision if it is among the :data:`RECENT_SIZE` latest."""
        recent = self._recent
        if len(recent) >= RECENT_SIZE and (at, decision.decision_id) <= _order(recent[-1]):
            return
        recent.append(
            RecentDecisionPublic(
                decision_id=decision.decision_id,
                campaign_id=decision.campaign_id,
                port=activity_port(decision),
                outcome=decision.outcome.value,
                reason=decision.reason,
                channel=None if decision.channel is None else decision.channel.value,
                at=at,
            )
        )
        recent.sort(key=_order, reverse=True)
        del recent[RECENT_SIZE:]

    def _port(self, code: str | None) -> PortActivityPublic:
        counts = self._ports[code]
        return PortActivityPublic(
            port=code,
            decided=counts.decided,
            sent=counts.sent,
            decided_recent=counts.window.decided.total(),
            sent_recent=counts.window.sent.total(),
        )

    def _campaign(self, campaign_id: str) -> CampaignActivityPublic:
        counts = self._campaigns[campaign_id]
        return CampaignActivityPublic(
            campaign_id=campaign_id,
            decided=counts.by_outcome.total(),
            by_outcome={outcome.value: counts.by_outcome[outcome] for outcome in DecisionOutcome},
            sent=counts.by_outcome[DecisionOutcome.SEND],
            by_delivery={state.value: counts.by_delivery[state] for state in DeliveryState},
            last_decision_at=counts.last_at,
        )


def _port_order(code: str | None) -> tuple[bool, str]:
    return code is None, code or ""


def _order(decision: RecentDecisionPublic) -> tuple[datetime, str]:
    return decision.at, decision.decision_id


class ActivityFeed:
    """The tally of the records of :data:`EXPECTED`'s topics, kept current by a thread.

    :meth:`fold` decodes one record into the tally; the thread started by :meth:`start`
    calls it for every record from ``lookback`` before the feed was made on, and
    :meth:`close` stops it. Whatever goes wrong while reading (no broker, a missing
    topic) is logged and tried again after ``retry_s`` seconds, from where the thread
    had got to."""

    def __init__(
        self,
        bootstrap: str,
        *,
        lookback: timedelta = timedelta(hours=24),
        window_s: int = WINDOW_S,
        clock: Clock = wall_clock,
        retry_s: float = 2.0,
    ) -> None:
        self._clock = clock
        self._tally = ActivityTally(window_s=window_s, clock=clock)
        self._lock = threading.Lock()
        self._tail = TopicTail(
            bootstrap,
            list(EXPECTED),
            self._fold_all,
            start_at=since(clock() - lookback),
            name="activity-feed",
            retry_s=retry_s,
            on_poll=self._expire,
        )

    @classmethod
    def of(cls, settings: Settings) -> ActivityFeed:
        """A feed over the settings' broker, from ``OFFERS_ACTIVITY_LOOKBACK_HOURS`` ago."""
        lookback = timedelta(hours=settings.activity_lookback_hours)
        return cls(settings.kafka_bootstrap, lookback=lookback)

    @property
    def stopped(self) -> bool:
        return self._tail.stopped

    def start(self) -> ActivityFeed:
        self._tail.start()
        return self

    def close(self) -> None:
        self._tail.close()

    def fold(self, record: ConsumerRecord) -> None:
        """Count one record of a tailed topic; an unreadable one is counted as such."""
        event = _decoded(record)
        with self._lock:
            if event is None:
                self._tally.add_unreadable()
            else:
                self._tally.add(event, _written_at(record, self._clock))

    def version(self) -> int:
        with self._lock:
            self._tally.expire()
            return self._tally.version

    def snapshot(self) -> ActivityPublic:
        with self._lock:
            return self._tally.snapshot()

    def _fold_all(self, records: list[ConsumerRecord]) -> None:
        for record in records:
            self.fold(record)

    def _expire(self) -> None:
        with self._lock:
            self._tally.expire()


def _decoded(record: ConsumerRecord) -> Event | None:
    expected = EXPECTED.get(record.topic)
    if expected is None:
        return None
    try:
        event: Event = decode(record.value, expected=expected)
    except ContractError as exc:
        log.debug("%s:%d:%d: unreadable: %s", record.topic, record.partition, record.offset, exc)
        return None
    return event


def _written_at(record: ConsumerRecord, clock: Clock) -> datetime:
    """The record's timestamp; the present for a record without one (-1)."""
    if record.timestamp is None or record.timestamp < 0:
        return clock()
    return datetime.fromtimestamp(record.timestamp / 1000, UTC)
