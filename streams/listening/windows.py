"""Mentions of one subject counted over tumbling windows of event time, as plain data.

Windows are 15 minutes, 1 hour and 1 day long, aligned on the epoch (UTC): the window of
a mention at ``t`` starts at ``t - t % length``. Each counts the mentions (``volume``),
the negative ones, their share, the mean sentiment, and the topics of the negative ones.

Event time is the subject's own: its watermark is its latest mention's time minus the
allowed lateness. A mention older than the watermark is late: counted in ``late``, not
merged. A window is open until its end is at or before the watermark; then it can no
longer change and is forgotten (its last counts were published when they changed).

A post delivered twice (at-least-once delivery) counts once: each open window keeps the
ids of the posts it counted, at most ``max_post_ids`` of them (beyond that it counts
without the check). A redelivery after its window closed is late, hence not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from offers.contracts import ListeningWindow, SocialAggregate, SocialMention
from offers.contracts.events import SentimentLabel
from streams.features.windows import from_ms, to_ms

WINDOW_MS: dict[ListeningWindow, int] = {
    ListeningWindow.MINUTES_15: 15 * 60_000,
    ListeningWindow.HOUR: 3_600_000,
    ListeningWindow.DAY: 86_400_000,
}


def window_start(time_ms: int, window: ListeningWindow) -> int:
    return time_ms - time_ms % WINDOW_MS[window]


def aggregate_key(subject: str, window: ListeningWindow, start_ms: int) -> str:
    """The key of a window's counts on ``social.aggregates``."""
    return f"{subject}|{window.value}|{from_ms(start_ms).isoformat()}"


@dataclass(slots=True)
class Bucket:
    """The counts of one window."""

    volume: int = 0
    negative: int = 0
    score_sum: float = 0.0
    negative_topics: dict[str, int] = field(default_factory=dict)
    post_ids: set[str] = field(default_factory=set)

    def add(self, mention: SocialMention, max_post_ids: int) -> None:
        self.volume += 1
        self.score_sum += mention.score
        if mention.label is SentimentLabel.NEGATIVE:
            self.negative += 1
            for topic in mention.topics:
                self.negative_topics[topic] = self.negative_topics.get(topic, 0) + 1
        if len(self.post_ids) < max_post_ids:
            self.post_ids.add(mention.post_event_id)

    def to_list(self) -> list[Any]:
        return [
            self.volume,
            self.negative,
            self.score_sum,
            self.negative_topics,
            sorted(self.post_ids),
        ]

    @classmethod
    def from_list(cls, data: list[Any]) -> Bucket:
        volume, negative, score_sum, topics, ids = data
        return cls(int(volume), int(negative), float(score_sum), dict(topics), set(ids))


@dataclass(frozen=True, slots=True)
class Added:
    """What a mention did: ``late`` or ``duplicate`` (not counted), else the windows it
    changed."""

    late: bool = False
    duplicate: bool = False
    changed: tuple[SocialAggregate, ...] = ()


@dataclass(slots=True)
class SubjectWindows:
    """The open windows of one subject, its latest event time and its late mentions."""

    subject: str
    latest_ms: int | None = None
    late: int = 0
    buckets: dict[tuple[ListeningWindow, int], Bucket] = field(default_factory=dict)

    def add(self, mention: SocialMention, *, lateness_ms: int, max_post_ids: int) -> Added:
        """Count ``mention`` (of this subject) in each of its windows."""
        time_ms = to_ms(mention.event_time)
        if self.latest_ms is not None and time_ms < self.latest_ms - lateness_ms:
            self.late += 1
            return Added(late=True)
        keys = [(window, window_start(time_ms, window)) for window in WINDOW_MS]
        if any(
            key in self.buckets and mention.post_event_id in self.buckets[key].post_ids
            for key in keys
        ):
            return Added(duplicate=True)
        for key in keys:
            self.buckets.setdefault(key, Bucket()).add(mention, max_post_ids)
        if self.latest_ms is None or time_ms > self.latest_ms:
            self.latest_ms = time_ms
        changed = tuple(self.aggregate(window, start) for window, start in keys)
        self._close(self.latest_ms - lateness_ms)
        return Added(changed=changed)

    def aggregate(self, window: ListeningWindow, start_ms: int) -> SocialAggregate:
        """The counts of an open window as the event published for it."""
        bucket = self.buckets[(window, start_ms)]
        volume = bucket.volume
        return SocialAggregate(
            event_id=f"{self.subject}.{window.value}.{start_ms}",
            event_time=from_ms(self.latest_ms if self.latest_ms is not None else start_ms),
            subject=self.subject,
            window=window,
            window_start=from_ms(start_ms),
            window_end=from_ms(start_ms + WINDOW_MS[window]),
            volume=volume,
            negative=bucket.negative,
            share_negative=bucket.negative / volume if volume else 0.0,
            mean_sentiment=max(-1.0, min(1.0, bucket.score_sum / volume)) if volume else 0.0,
            negative_topics=dict(sorted(bucket.negative_topics.items())),
        )

    def _close(self, watermark_ms: int) -> None:
        for window, start in list(self.buckets):
            if start + WINDOW_MS[window] <= watermark_ms:
                del self.buckets[(window, start)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "latest": self.latest_ms,
            "late": self.late,
            "buckets": [
                [window.value, start, bucket.to_list()]
                for (window, start), bucket in sorted(self.buckets.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubjectWindows:
        buckets = {
            (ListeningWindow(window), int(start)): Bucket.from_list(bucket)
            for window, start, bucket in data["buckets"]
        }
        latest = data["latest"]
        return cls(
            str(data["subject"]),
            None if latest is None else int(latest),
            int(data["late"]),
            buckets,
        )
