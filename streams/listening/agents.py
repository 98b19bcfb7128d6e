"""The Faust agents of social listening.

- ``social_mentions`` reads ``events.social`` (keyed by customer) and sends each valid
  post's mentions (:mod:`streams.listening.mentions`) to ``social.mentions``, keyed by
  subject; invalid posts are left to the customer-social agent, which dead-letters them;
- ``social_windows`` reads ``social.mentions`` in micro-batches and counts each
  subject's windows (:mod:`streams.listening.windows`) in the ``listening_windows``
  table, keyed by subject (its changelog restores it when a partition moves), sends the
  changed windows to ``social.aggregates``, and feeds the 15-minute windows to the spike
  detector (:mod:`streams.listening.spikes`), whose histories are kept in the
  ``listening_alerts`` table and whose alerts go to ``social.alerts``, keyed by subject.

A batch (up to ``BATCH_MENTIONS`` mentions or ``BATCH_S`` seconds) counts its mentions in
memory and then writes each subject it changed once: its windows and its history to the
tables, and the latest counts of each window it changed to ``social.aggregates`` (a
window's intermediate counts within one batch are not published; its alerts are, as
they happen). A popular subject's windows, which keep the ids of the posts they counted,
are thus serialised and sent to the changelog once per batch rather than once per
mention. The batch's offsets are committed only after it is written. The tables choose
the changelog partition from the key (``use_partitioner``), the same partition as the
subject's mentions, since a batch's writes are not those of one event.

A record either agent cannot use (an unreadable mention, a defect) goes to the
dead-letter topic with the reason, and the agent goes on.

Event time, for closing alerts of silent subjects, is the latest mention time this
worker has counted; the histories of the subjects of this worker's partitions are read
from the table once, at the first mention.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import faust
import orjson

from offers.contracts import (
    SocialAggregate,
    SocialAlert,
    SocialMention,
    SocialPost,
    ValidationClock,
    decode,
    encode,
)
from offers.errors import ContractError
from offers.settings import Settings
from offers.topics import DEAD_LETTER, SOCIAL, SOCIAL_AGGREGATES, SOCIAL_ALERTS, SOCIAL_MENTIONS
from streams.dead_letters import send_dead_letter
from streams.features.windows import lateness_ms, to_ms
from streams.listening.mentions import mentions_of, subject_kind
from streams.listening.records import decode_record
from streams.listening.spikes import SpikeDetector, SpikeRule, SubjectHistory
from streams.listening.windows import SubjectWindows
from streams.metrics import StreamMetrics

log = logging.getLogger(__name__)

ADVANCE_EVERY_MS = 60_000
"""How far event time moves on between two checks for silent subjects."""
BATCH_MENTIONS = 1_000
BATCH_S = 0.25
"""The most mentions, and the longest wait, of one batch of the counting agent."""


@dataclass(slots=True)
class _Batch:
    """What one batch of mentions changed, written when it ends: the windows of the
    subjects it counted (read from the table once), the subjects whose windows or
    histories changed, and the latest counts of each window it changed."""

    windows: dict[str, SubjectWindows] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    histories: set[str] = field(default_factory=set)
    aggregates: dict[str, SocialAggregate] = field(default_factory=dict)


class ListeningAgents:
    """The agents and tables of social listening (see the module's docstring)."""

    def __init__(self, app: faust.App, settings: Settings, metrics: StreamMetrics) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self.clock = ValidationClock.from_settings(settings)
        self.lateness_ms = lateness_ms(timedelta(seconds=settings.allowed_lateness_seconds))
        self.detector = SpikeDetector(SpikeRule.of(settings))
        self.windows = app.Table(
            "listening_windows",
            key_type=bytes,
            value_type=bytes,
            partitions=settings.topic_partitions,
            use_partitioner=True,
            help="Open windows of social mentions, by subject.",
        )
        self.histories = app.Table(
            "listening_alerts",
            key_type=bytes,
            value_type=bytes,
            partitions=settings.topic_partitions,
            use_partitioner=True,
            help="15-minute windows of the last day and open alert, by subject.",
        )
        self.mentions = app.topic(SOCIAL_MENTIONS.name, key_type=bytes, value_type=bytes)
        self.aggregates = app.topic(SOCIAL_AGGREGATES.name, key_type=bytes, value_type=bytes)
        self.alerts = app.topic(SOCIAL_ALERTS.name, key_type=bytes, value_type=bytes)
        self.dead_letters = app.topic(DEAD_LETTER.name, key_type=bytes, value_type=bytes)
        self._restored = False
        self._checked_ms = 0
        self._batch = _Batch()

    def install(self) -> None:
        posts = self.app.topic(SOCIAL.name, key_type=bytes, value_type=bytes)
        self.app.agent(posts, name="social_mentions")(self._split_posts)
        self.app.agent(self.mentions, name="social_windows")(self._count_mentions)

    async def _split_posts(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await self.split(event.message)

    async def _count_mentions(self, stream: faust.StreamT[bytes]) -> None:
        batches = cast(faust.Stream[bytes], stream).take_events(BATCH_MENTIONS, within=BATCH_S)
        async for events in batches:
            await self.count_records([event.message for event in events])

    async def split(self, message: Any) -> None:
        """Send the mentions of the post in ``message`` (a Faust consumer message);
        whatever fails on a valid post is a defect: logged and dead-lettered, and the
        agent goes on."""
        try:
            post = decode(message.value, expected=SocialPost, clock=self.clock)
        except ContractError:
            return  # dead-lettered by the customer-social agent
        assert isinstance(post, SocialPost)
        try:
            for mention in mentions_of(post):
                await self.mentions.send(key=mention.subject.encode(), value=encode(mention))
        except Exception as exc:  # a defect: say so, and go on
            log.exception("%s: the mentions of a post failed", SOCIAL.name)
            await self._dead_letter(message, exc, "listening")

    async def count_records(self, messages: Sequence[Any]) -> None:
        """:meth:`count` the mentions in ``messages`` (Faust consumer messages), then
        :meth:`write` what they changed. An unreadable mention, or one whose counting
        fails, is logged and dead-lettered, and the others are counted."""
        for message in messages:
            try:
                mention = decode_record(message.value, SocialMention, self.clock)
            except ContractError as exc:
                log.error("%s: an unreadable mention: %s", SOCIAL_MENTIONS.name, exc)
                await self._dead_letter(message, exc, "decode")
                continue
            try:
                await self.count(mention)
            except Exception as exc:  # a defect: say so, and go on
                log.exception("%s: counting a mention failed", SOCIAL_MENTIONS.name)
                await self._dead_letter(message, exc, "listening")
        await self.write()

    async def _dead_letter(self, message: Any, error: Exception, stage: str) -> None:
        await send_dead_letter(self.dead_letters, message, error, stage, self.metrics)

    async def count(self, mention: SocialMention) -> None:
        """Count one mention in memory and send the alert changes it causes; the windows
        and histories it changed are written by the next :meth:`write`."""
        self._restore()
        batch = self._batch
        subject = mention.subject
        key = subject.encode()
        if subject not in self.detector.histories and (held := self.histories.get(key)):
            self.detector.load(SubjectHistory.from_dict(orjson.loads(held)))
        windows = batch.windows.get(subject)
        if windows is None:
            stored = self.windows.get(key)
            windows = (
                SubjectWindows.from_dict(orjson.loads(stored))
                if stored
                else SubjectWindows(subject)
            )
            batch.windows[subject] = windows
        added = windows.add(
            mention,
            lateness_ms=self.lateness_ms,
            max_post_ids=self.settings.listening_max_post_ids,
        )
        if added.late:
            self.metrics.late_mentions.inc()
            batch.changed.add(subject)
        if added.duplicate:
            self.metrics.duplicate_mentions.inc()
        if not added.changed:
            return
        batch.changed.add(subject)
        self.metrics.mentions.labels(subject_kind(subject), mention.label.value).inc()
        changes: list[SocialAlert] = []
        for aggregate in added.changed:
            batch.aggregates[aggregate.aggregate_key] = aggregate
            changes += self.detector.observe(aggregate)
        batch.histories.add(subject)
        now_ms = to_ms(mention.event_time)
        if now_ms >= self._checked_ms + ADVANCE_EVERY_MS:
            self._checked_ms = now_ms
            silent = self.detector.advance(now_ms)
            changes += silent
            batch.histories.update(alert.subject for alert in silent)
        for alert in changes:
            await self.alerts.send(key=alert.subject.encode(), value=encode(alert))
            self.metrics.alerts.labels(alert.state.value).inc()
        self.metrics.open_alerts.set(len(self.detector.open_alerts()))

    async def write(self) -> None:
        """Write what the mentions counted since the last write changed: each changed
        subject's windows and history once, and each changed window's latest counts."""
        batch, self._batch = self._batch, _Batch()
        for subject in sorted(batch.changed):
            self.windows[subject.encode()] = orjson.dumps(batch.windows[subject].to_dict())
        for subject in sorted(batch.histories):
            history = self.detector.histories.get(subject)
            if history is not None:
                self.histories[subject.encode()] = orjson.dumps(history.to_dict())
        for aggregate_key, aggregate in batch.aggregates.items():
            await self.aggregates.send(key=aggregate_key.encode(), value=encode(aggregate))

    def _restore(self) -> None:
        """Hold the histories of the subjects this worker has in its table (once)."""
        if self._restored:
            return
        self._restored = True
        for key, value in list(self.histories.items()):
            try:
                self.detector.load(SubjectHistory.from_dict(orjson.loads(value)))
            except (ValueError, KeyError, TypeError):
                log.error("listening_alerts: skipping the unreadable history of %r", key)
