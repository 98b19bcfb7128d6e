"""The decision agents of a worker: triggers in, one decision record per trigger out.

- ``decisions`` reads the customer-keyed topics that carry triggers (geofence
  transitions, booking events, social posts, and ``offers.triggers``), so each customer's
  triggers are decided by the worker that owns the customer's partition. It takes
  micro-batches (``stream.take_events``), turns events into trigger hits, and hands the
  batch to a :class:`~streams.decisions.decider.Decider` in a thread; the records go to
  ``offers.decisions``, and the batch is acknowledged only once Kafka has them all. The
  complaints among the social posts are recorded first
  (:mod:`streams.decisions.complaints`), and the open alerts of social listening
  (followed from ``social.alerts``) pause the campaigns that opt in on the routes and
  ports they name (:mod:`streams.decisions.eligibility`).
- ``sailing_signals`` reads sailing updates, keeps each sailing's previous state in a
  table, and fans a fare drop or a capacity release out to the route's recent searchers
  as ``trigger_signal`` records on ``offers.triggers``.
- A timer finds abandoned quotes (:class:`~streams.decisions.quotes.QuoteBook`) and
  sends them to ``offers.triggers`` the same way; another swaps in a newly promoted model
  (:class:`~streams.decisions.model_slot.ModelSlot`) and shows the champion's feature
  drift on the traffic it scored as gauges.

Degraded mode: while Redis (the online features, the ledger) is unreachable, a batch is
retried with a capped backoff and nothing is acknowledged, so decisions resume where they
stopped when it returns and no trigger is lost. A record that cannot be read goes to the
dead-letter topic with the reason, unless a feature agent reads the same topic and
dead-letters it already.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar, cast

import faust
import orjson
from redis import Redis
from redis.exceptions import RedisError

from features.online import OnlineReader
from models.registry import ModelRegistry, default_registry_dir
from offers.campaigns.history import CampaignHistory
from offers.contracts import (
    AlertState,
    BookingEvent,
    Event,
    GeofenceTransition,
    OfferDecision,
    SailingUpdate,
    SocialAlert,
    SocialPost,
    TriggerSignal,
    ValidationClock,
    decode,
    encode,
)
from offers.errors import ContractError
from offers.settings import Settings
from offers.topics import BOOKING, DEAD_LETTER, DECISIONS, GEOFENCE, SAILING, SOCIAL, TRIGGERS
from streams.dead_letters import send_dead_letter
from streams.decisions.clock import Watermark, decision_time, periodic_time
from streams.decisions.context import DECISION_FEATURES
from streams.decisions.decider import Decider, Snapshot
from streams.decisions.eligibility import SailingRows
from streams.decisions.model_slot import ModelSlot
from streams.decisions.quotes import QuoteBook
from streams.decisions.searchers import RouteSearchers
from streams.decisions.triggers import (
    ABANDON_WINDOW,
    SailingSignal,
    TriggerHit,
    fan_out,
    from_booking,
    from_geofence,
    from_sailing,
    from_signal,
    from_social,
    to_signal,
)
from streams.followers import all_read, wait_read
from streams.metrics import StreamMetrics
from streams.processing import kept
from streams.sink import FeatureSink

log = logging.getLogger(__name__)
T = TypeVar("T")

EVENT_TYPES: dict[str, type[Event]] = {
    GEOFENCE.name: GeofenceTransition,
    BOOKING.name: BookingEvent,
    SOCIAL.name: SocialPost,
    TRIGGERS.name: TriggerSignal,
}
OWN_TOPICS = frozenset({GEOFENCE.name, TRIGGERS.name})
"""Topics no feature agent reads: their unreadable records are dead-lettered here."""
QUOTE_TICK_S = 1.0
MAX_BACKOFF_S = 5.0


@dataclass(slots=True)
class _Read:
    """A batch's events that matter to decisions: the trigger hits, and the bookings and
    social posts that change later decisions (conversions, complaints)."""

    hits: list[TriggerHit] = field(default_factory=list)
    bookings: list[BookingEvent] = field(default_factory=list)
    posts: list[SocialPost] = field(default_factory=list)


def open_subjects(alerts: Mapping[str, SocialAlert]) -> frozenset[str]:
    """The subjects of the open alerts among every subject's latest alert."""
    return frozenset(
        alert.subject for alert in list(alerts.values()) if alert.state is AlertState.OPEN
    )


class DecisionAgents:
    """The decision agents, timers and clients of one worker."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        *,
        campaigns: CampaignHistory,
        consent: Mapping[str, bool],
        sailings: Mapping[str, Mapping[str, Any]],
        metrics: StreamMetrics,
        alerts: Mapping[str, SocialAlert] | None = None,
        feature_sink: FeatureSink | None = None,
        ready: Sequence[asyncio.Event] = (),
    ) -> None:
        """``feature_sink``: the writer of the online features in this worker, if it
        writes them; a trigger whose row is not written yet then waits for its next write
        (and hurries it) rather than polling Redis. ``ready``: set once consent and
        campaigns are read to the end; nothing is decided before (a copy still filling
        would decide a customer's port entry without the location consent given long
        ago, or a trigger without the campaign active for weeks). ``alerts``: the latest
        social alert of every subject."""
        self.app = app
        self.ready = tuple(ready)
        self.feature_sink = feature_sink
        self.settings = settings
        self.campaigns = campaigns
        self.consent = consent
        self.sailings = sailings
        self.alerts: Mapping[str, SocialAlert] = alerts if alerts is not None else {}
        self.metrics = metrics
        self.clock = ValidationClock.from_settings(settings)
        self.redis = Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2, retry_on_timeout=False
        )
        self.watermark = Watermark(self.redis)
        self.quotes = QuoteBook(self.redis)
        self.searchers = RouteSearchers(self.redis, timedelta(hours=settings.searcher_window_hours))
        self.slot = ModelSlot(
            ModelRegistry(settings.model_dir or default_registry_dir()),
            compile_models=settings.model_compile,
        )
        self._degraded = False
        self.decisions = app.topic(DECISIONS.name, key_type=bytes, value_type=bytes)
        self.triggers = app.topic(TRIGGERS.name, key_type=bytes, value_type=bytes)
        self.dead_letters = app.topic(DEAD_LETTER.name, key_type=bytes, value_type=bytes)
        self.sailing_rows = app.Table(
            "sailing_signal_rows",
            key_type=bytes,
            value_type=bytes,
            partitions=settings.topic_partitions,
            help="Each sailing's fare and seats at its latest update, to find changes.",
        )

    def install(self) -> None:
        app = self.app
        inputs = app.topic(*EVENT_TYPES, key_type=bytes, value_type=bytes)
        app.agent(inputs, name="decisions")(self._decide_stream)
        sailings = app.topic(SAILING.name, key_type=bytes, value_type=bytes)
        app.agent(sailings, name="sailing_signals")(self._sailing_stream)
        app.timer(QUOTE_TICK_S, name="abandoned_quotes")(self._abandoned_quotes)
        app.timer(self.settings.model_poll_seconds, name="model_refresh")(self._refresh_models)
        app.task(self._refresh_models)

    # the decisions agent ---------------------------------------------------------------

    async def _decide_stream(self, stream: faust.StreamT[bytes]) -> None:
        # built once, on the event loop's thread, before the first batch (built lazily in
        # the thread that decides a batch, the group was seen to stall at its first batch)
        decider = self._new_decider()
        await wait_read(self.ready, "decisions")
        batches = cast(faust.Stream[bytes], stream).take_events(
            self.settings.decision_batch_size, within=self.settings.decision_batch_ms / 1000
        )
        async for events in batches:
            read = await self._read(events)
            snapshot = Snapshot(
                tuple(self.campaigns.campaigns()),
                SailingRows(self.sailings),
                self.consent.get,
                open_subjects(self.alerts),
            )
            try:
                records = await self._retrying(partial(self._decide, decider, read, snapshot))
            except Exception as exc:  # a defect: say so for every event, and go on
                log.exception("decisions: a batch of %d events failed", len(events))
                for event in events:
                    await self._dead_letter(event.message, exc, "decide")
                continue
            await self._publish(self.decisions, [(r.customer_id, encode(r)) for r in records])
            for record in records:
                self.metrics.decisions.labels(record.outcome.value, record.reason).inc()

    def _decide(self, decider: Decider, read: _Read, snapshot: Snapshot) -> list[OfferDecision]:
        hits = read.hits
        decider.observe_bookings(read.bookings)
        decider.observe_posts(read.posts)
        records = decider.decide(hits, snapshot) if hits else []
        if hits and self.settings.decision_clock == "event":
            self.watermark.advance(max(hit.at for hit in hits))
        return records

    def _new_decider(self) -> Decider:
        reader = OnlineReader.from_settings(self.settings, DECISION_FEATURES, event_times=True)
        sink = self.feature_sink
        return Decider(
            self.settings,
            self.redis,
            reader,
            self.slot,
            quotes=self.quotes,
            searchers=self.searchers,
            wait_for_features=time.sleep if sink is None else sink.wait_for_write,
        )

    async def _read(self, events: Sequence[faust.EventT[bytes]]) -> _Read:
        read = _Read()
        for event in events:
            message = event.message
            try:
                decoded = decode(
                    message.value or b"", expected=EVENT_TYPES[message.topic], clock=self.clock
                )
            except ContractError as exc:
                if message.topic in OWN_TOPICS:
                    await self._dead_letter(message, exc, "decisions")
                self.metrics.events.labels(message.topic, "unreadable").inc()
                continue
            hit = self._hit_of(decoded)
            if isinstance(decoded, BookingEvent):
                read.bookings.append(decoded)
            elif isinstance(decoded, SocialPost):
                read.posts.append(decoded)
            if hit is not None:
                read.hits.append(hit)
        return read

    @staticmethod
    def _hit_of(event: Event) -> TriggerHit | None:
        if isinstance(event, GeofenceTransition):
            return from_geofence(event)
        if isinstance(event, BookingEvent):
            return from_booking(event)
        if isinstance(event, SocialPost):
            return from_social(event)
        if isinstance(event, TriggerSignal):
            return from_signal(event)
        return None

    # sailing signals -------------------------------------------------------------------

    async def _sailing_stream(self, stream: faust.StreamT[bytes]) -> None:
        await wait_read(self.ready, "sailing signals")
        async for event in stream.events():
            message = event.message
            try:
                update = decode(message.value or b"", expected=SailingUpdate, clock=self.clock)
            except ContractError:
                continue  # the sailing feature agent dead-letters it
            assert isinstance(update, SailingUpdate)
            key = update.sailing_id.encode()
            stored = self.sailing_rows.get(key)
            previous = _sailing_row_from(stored) if stored is not None else None
            signals = from_sailing(previous, update)
            if signals:
                now = decision_time(self.settings.decision_clock, update.event_time)
                audiences = await self._retrying(partial(self._audiences, signals, now))
                hits = [
                    hit
                    for signal, customers in zip(signals, audiences, strict=True)
                    for hit in fan_out(signal, customers)
                ]
                await self._send_hits(hits)
            if previous is None or update.event_time >= previous["event_timestamp"]:
                self.sailing_rows[key] = _sailing_row(update)

    def _audiences(self, signals: Sequence[SailingSignal], now: datetime) -> list[list[str]]:
        return [self.searchers.recent(signal.route_id, now) for signal in signals]

    async def _send_hits(self, hits: Sequence[TriggerHit]) -> None:
        records = [(hit.customer_id, encode(to_signal(hit))) for hit in hits]
        await self._publish(self.triggers, records)
        for hit in hits:
            self.metrics.trigger_signals.labels(hit.trigger.value).inc()

    # timers ----------------------------------------------------------------------------

    async def _abandoned_quotes(self) -> None:
        if not all_read(self.ready):
            return
        try:
            await self._quote_tick()
        except (RedisError, OSError) as exc:
            log.warning("abandoned quotes: Redis unreachable, trying again later: %s", exc)

    async def _quote_tick(self) -> None:
        lateness = timedelta(seconds=self.settings.allowed_lateness_seconds)
        now = await asyncio.to_thread(
            periodic_time, self.settings.decision_clock, self.watermark, lateness
        )
        if now is None:
            return
        quotes = self.quotes
        claimed = await asyncio.to_thread(quotes.claim_due, now)
        for customer_id in claimed:
            hits = await asyncio.to_thread(quotes.pending, customer_id, now)
            # an abandoned quote happens when its window ends
            await self._send_hits([replace(hit, at=hit.at + ABANDON_WINDOW) for hit in hits])
            await asyncio.to_thread(partial(quotes.commit, customer_id, now, published=hits))

    async def _refresh_models(self) -> None:
        await asyncio.to_thread(self.slot.refresh)
        monitor = self.slot.drift
        if monitor is None:
            self.metrics.record_drift(None, {}, 0)
        else:
            psi = {stability.name: stability.psi for stability in monitor.stability()}
            self.metrics.record_drift(monitor.version, psi, monitor.rows)

    # plumbing --------------------------------------------------------------------------

    async def _retrying(self, work: Callable[[], T]) -> T:
        """``work`` in a thread, retried with a capped backoff while Redis is unreachable."""
        delay = 0.1
        while True:
            try:
                result = await asyncio.to_thread(work)
            except (RedisError, OSError) as exc:
                if not self._degraded:
                    log.warning("decisions paused: Redis unreachable (%s); retrying", exc)
                    self._degraded = True
                    self.metrics.degraded.set(1)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            if self._degraded:
                log.warning("decisions resumed: Redis is back")
                self._degraded = False
                self.metrics.degraded.set(0)
            return result

    async def _publish(self, topic: faust.types.TopicT, records: list[tuple[str, bytes]]) -> None:
        """Send the records, keyed by customer, and wait until Kafka has them all."""
        pending: list[Awaitable[Any]] = [
            await topic.send(key=key.encode(), value=value) for key, value in records
        ]
        await asyncio.gather(*pending)

    async def _dead_letter(self, message: Any, error: Exception, stage: str) -> None:
        await send_dead_letter(self.dead_letters, message, error, stage, self.metrics)


def _sailing_row(update: SailingUpdate) -> bytes:
    """What :func:`from_sailing` compares the next update with (kept in a table)."""
    return kept(
        orjson.dumps(
            {
                "sailing_id": update.sailing_id,
                "route_id": update.route_id,
                "fare_eur": update.fare_eur,
                "seats_left": update.capacity_passengers - update.booked_passengers,
                "event_timestamp": update.event_time.isoformat(),
            }
        )
    )


def _sailing_row_from(raw: bytes) -> dict[str, Any]:
    row: dict[str, Any] = orjson.loads(raw)
    row["event_timestamp"] = datetime.fromisoformat(row["event_timestamp"])
    return row
