"""What social listening found, for the API: the counts of each subject's windows and the
alerts, followed from their compacted topics in a thread of the API process.

- :class:`ListeningBoard` keeps the latest counts of each window (by subject, window size
  and start), at most ``max_windows`` windows (the latest) per subject and size, and the
  latest alert of each subject: plain data without Kafka;
- :class:`ListeningFeed` reads ``social.aggregates`` and ``social.alerts`` from their
  beginning into its board, and goes on reading; it outlives the broker going away and a
  topic not existing yet (it tries again), and skips unreadable records (counted).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime

from kafka.consumer.fetcher import ConsumerRecord

from offers.contracts import ListeningWindow, SocialAggregate, SocialAlert
from offers.contracts.events import AlertState
from offers.errors import ContractError
from offers.settings import Settings
from offers.state.tail import TopicTail, from_beginning
from offers.topics import SOCIAL_AGGREGATES, SOCIAL_ALERTS
from streams.listening.records import decode_record

log = logging.getLogger(__name__)


class ListeningBoard:
    """The latest counts and alerts (see the module's docstring); not thread-safe:
    :class:`ListeningFeed` holds a lock around it."""

    def __init__(self, max_windows: int) -> None:
        self.max_windows = max_windows
        self.unreadable = 0
        self._windows: dict[tuple[str, ListeningWindow], dict[datetime, SocialAggregate]] = {}
        self._alerts: dict[str, SocialAlert] = {}

    def add(self, event: SocialAggregate | SocialAlert) -> None:
        if isinstance(event, SocialAlert):
            held = self._alerts.get(event.subject)
            if held is None or held.event_time <= event.event_time:
                self._alerts[event.subject] = event
            return
        windows = self._windows.setdefault((event.subject, event.window), {})
        held_window = windows.get(event.window_start)
        if held_window is not None and held_window.volume > event.volume:
            return  # an older count of the same window, read again
        windows[event.window_start] = event
        while len(windows) > self.max_windows:
            del windows[min(windows)]

    def aggregates(
        self, subject: str, window: ListeningWindow, since: datetime | None = None
    ) -> list[SocialAggregate]:
        """The subject's windows of that size, oldest first, from those ending after
        ``since``."""
        windows = self._windows.get((subject, window), {})
        return [
            windows[start]
            for start in sorted(windows)
            if since is None or windows[start].window_end > since
        ]

    def alerts(self, state: AlertState | None = None) -> list[SocialAlert]:
        """The latest alert of each subject (in that state), the latest opened first."""
        found = [a for a in self._alerts.values() if state is None or a.state is state]
        return sorted(found, key=lambda a: (a.opened_at, a.subject), reverse=True)


EXPECTED: dict[str, type[SocialAggregate] | type[SocialAlert]] = {
    SOCIAL_AGGREGATES.name: SocialAggregate,
    SOCIAL_ALERTS.name: SocialAlert,
}


class ListeningFeed:
    """The board of the records of :data:`EXPECTED`'s topics, kept current by a thread."""

    def __init__(self, bootstrap: str, *, max_windows: int = 192, retry_s: float = 2.0) -> None:
        self._board = ListeningBoard(max_windows)
        self._lock = threading.Lock()
        self._tail = TopicTail(
            bootstrap,
            list(EXPECTED),
            self.fold,
            start_at=from_beginning,
            name="listening-feed",
            retry_s=retry_s,
        )

    @classmethod
    def of(cls, settings: Settings) -> ListeningFeed:
        return cls(settings.kafka_bootstrap, max_windows=settings.listening_api_windows)

    def start(self) -> ListeningFeed:
        self._tail.start()
        return self

    def close(self) -> None:
        self._tail.close()

    def fold(self, records: Iterable[ConsumerRecord]) -> None:
        """Keep what ``records`` hold; an unreadable one is counted and skipped."""
        with self._lock:
            for record in records:
                expected = EXPECTED.get(record.topic)
                if expected is None:
                    continue
                try:
                    event = decode_record(record.value, expected)
                except ContractError as exc:
                    log.debug("%s:%d: unreadable: %s", record.topic, record.offset, exc)
                    self._board.unreadable += 1
                    continue
                self._board.add(event)

    def aggregates(
        self, subject: str, window: ListeningWindow, since: datetime | None = None
    ) -> list[SocialAggregate]:
        with self._lock:
            return self._board.aggregates(subject, window, since)

    def alerts(self, state: AlertState | None = None) -> list[SocialAlert]:
        with self._lock:
            return self._board.alerts(state)
