"""Alerts on spikes of negative mentions of a port or a route, as plain data.

:class:`SpikeDetector` reads the counts of each subject's 15-minute windows
(:class:`~offers.contracts.SocialAggregate`) as they change, and returns the alerts that
open or close:

- the baseline of a subject is its share of negative mentions over the 24 hours of
  windows before the latest one, at least ``baseline_floor`` (also when it has no
  history);
- a window is *above* the threshold when its share of negative mentions is at least
  ``max(factor x baseline, baseline + margin)`` and it has at least ``min_negative``
  negative mentions;
- an alert opens as soon as the subject's latest window is above (one open alert per
  subject at most); it closes once ``quiet_windows`` consecutive windows ended below
  (windows without mentions are below), or when the subject had no mention for
  ``silence`` of event time, checked by :meth:`SpikeDetector.advance` as later mentions
  of any subject move event time on.

Only ports and routes have alerts; the brand's windows are left aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from offers.contracts import ListeningWindow, SocialAggregate, SocialAlert
from offers.contracts.events import AlertState
from offers.settings import Settings
from streams.features.windows import from_ms, to_ms
from streams.listening.windows import WINDOW_MS

SLOT_MS = WINDOW_MS[ListeningWindow.MINUTES_15]
BASELINE_MS = 24 * 3_600_000
TOP_TOPICS = 3
_TOLERANCE = 1e-9
"""A share equal to the threshold up to rounding is at the threshold."""


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """The thresholds of the alert rule (``OFFERS_LISTENING_*``)."""

    min_negative: int = 5
    baseline_floor: float = 0.1
    factor: float = 2.0
    margin: float = 0.25
    quiet_windows: int = 2
    silence: timedelta = timedelta(hours=2)

    @classmethod
    def of(cls, settings: Settings) -> SpikeRule:
        return cls(
            min_negative=settings.listening_min_negative,
            baseline_floor=settings.listening_baseline_floor,
            factor=settings.listening_spike_factor,
            margin=settings.listening_spike_margin,
            quiet_windows=settings.listening_quiet_windows,
            silence=timedelta(minutes=settings.listening_silence_minutes),
        )

    def threshold(self, baseline: float) -> float:
        return min(1.0, max(self.factor * baseline, baseline + self.margin))

    def above(self, negative: int, volume: int, threshold: float) -> bool:
        if negative < self.min_negative or volume == 0:
            return False
        return negative / volume >= threshold - _TOLERANCE


@dataclass(slots=True)
class SubjectHistory:
    """A subject's 15-minute windows of the last 24 hours, its open alert, and how many
    windows have ended below the threshold since the last one above."""

    subject: str
    counts: dict[int, tuple[int, int]] = field(default_factory=dict)
    """(volume, negative) by window start."""
    current_ms: int | None = None
    """The start of the latest window."""
    current_above: bool = False
    last_mention_ms: int = 0
    quiet: int = 0
    alert: SocialAlert | None = None

    def baseline(self, start_ms: int, floor: float) -> float:
        volume = negative = 0
        for start, (v, n) in self.counts.items():
            if start_ms - BASELINE_MS <= start < start_ms:
                volume += v
                negative += n
        return max(floor, negative / volume if volume else 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "counts": [[start, v, n] for start, (v, n) in sorted(self.counts.items())],
            "current": self.current_ms,
            "above": self.current_above,
            "last": self.last_mention_ms,
            "quiet": self.quiet,
            "alert": None if self.alert is None else self.alert.model_dump(mode="json"),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubjectHistory:
        alert = data["alert"]
        return cls(
            subject=str(data["subject"]),
            counts={int(s): (int(v), int(n)) for s, v, n in data["counts"]},
            current_ms=None if data["current"] is None else int(data["current"]),
            current_above=bool(data["above"]),
            last_mention_ms=int(data["last"]),
            quiet=int(data["quiet"]),
            alert=None if alert is None else SocialAlert.model_validate(alert),
        )


def alerted(subject: str) -> bool:
    """Whether ``subject`` can have alerts (a port or a route)."""
    return subject.startswith(("port:", "route:"))


class SpikeDetector:
    """Every subject's history (see the module's docstring); :meth:`observe` and
    :meth:`advance` return the alerts opened or closed, in order."""

    def __init__(self, rule: SpikeRule) -> None:
        self.rule = rule
        self.histories: dict[str, SubjectHistory] = {}

    def load(self, history: SubjectHistory) -> None:
        """Hold a subject's history restored from storage."""
        self.histories[history.subject] = history

    def open_alerts(self) -> list[SocialAlert]:
        return [h.alert for h in self.histories.values() if h.alert is not None]

    def observe(self, aggregate: SocialAggregate) -> list[SocialAlert]:
        """The alert changes after a 15-minute window of a port or route changed."""
        if aggregate.window is not ListeningWindow.MINUTES_15 or not alerted(aggregate.subject):
            return []
        history = self.histories.setdefault(aggregate.subject, SubjectHistory(aggregate.subject))
        start = to_ms(aggregate.window_start)
        history.counts[start] = (aggregate.volume, aggregate.negative)
        history.last_mention_ms = max(history.last_mention_ms, to_ms(aggregate.event_time))
        changes: list[SocialAlert] = []
        if history.current_ms is not None and start < history.current_ms:
            return changes  # a late mention of an earlier window: history only
        if history.current_ms is not None and start > history.current_ms:
            changes += self._end_windows(history, start)
        history.current_ms = start
        for old in [s for s in history.counts if s < start - BASELINE_MS]:
            del history.counts[old]
        baseline = history.baseline(start, self.rule.baseline_floor)
        threshold = self.rule.threshold(baseline)
        history.current_above = self.rule.above(aggregate.negative, aggregate.volume, threshold)
        if history.current_above:
            history.quiet = 0
            if history.alert is None:
                history.alert = _opened(aggregate, baseline, threshold)
                changes.append(history.alert)
        return changes

    def advance(self, now_ms: int) -> list[SocialAlert]:
        """Close the alerts of subjects without a mention for the silence before
        ``now_ms`` (the latest event time seen)."""
        silence_ms = self.rule.silence // timedelta(milliseconds=1)
        changes: list[SocialAlert] = []
        for history in self.histories.values():
            if history.alert is not None and now_ms - history.last_mention_ms >= silence_ms:
                at_ms = history.last_mention_ms + silence_ms
                changes.append(self._close(history, at_ms, "silence"))
        return changes

    def _end_windows(self, history: SubjectHistory, new_start: int) -> list[SocialAlert]:
        """Count the windows from the latest one up to ``new_start`` as ended."""
        assert history.current_ms is not None
        ended_above = history.current_above
        end = history.current_ms + SLOT_MS
        history.quiet = 0 if ended_above else history.quiet + 1
        while history.quiet < self.rule.quiet_windows and end < new_start:
            history.quiet += 1  # a window without mentions
            end += SLOT_MS
        if history.alert is not None and history.quiet >= self.rule.quiet_windows:
            return [self._close(history, end, "quiet")]
        return []

    def _close(self, history: SubjectHistory, at_ms: int, reason: str) -> SocialAlert:
        assert history.alert is not None
        closed = closed_alert(history.alert, at_ms, reason)
        history.alert = None
        history.quiet = 0
        return closed


def closed_alert(alert: SocialAlert, at_ms: int, reason: str) -> SocialAlert:
    """``alert`` closed at ``at_ms``."""
    closed_at = max(from_ms(at_ms), alert.opened_at)
    return alert.model_copy(
        update={
            "state": AlertState.CLOSED,
            "closed_at": closed_at,
            "close_reason": reason,
            "event_time": closed_at,
            "event_id": alert.event_id.removesuffix(".open") + ".closed",
        }
    )


def _opened(aggregate: SocialAggregate, baseline: float, threshold: float) -> SocialAlert:
    topics = sorted(aggregate.negative_topics.items(), key=lambda item: (-item[1], item[0]))
    start_ms = to_ms(aggregate.window_start)
    return SocialAlert(
        event_id=f"alert.{aggregate.subject}.{start_ms}.open",
        event_time=aggregate.event_time,
        alert_id=f"alert.{aggregate.subject}.{start_ms}",
        subject=aggregate.subject,
        state=AlertState.OPEN,
        opened_at=aggregate.event_time,
        window_start=aggregate.window_start,
        volume=aggregate.volume,
        negative=aggregate.negative,
        share_negative=aggregate.share_negative,
        baseline=baseline,
        threshold=threshold,
        top_topics=tuple(topic for topic, _ in topics[:TOP_TOPICS]),
    )
