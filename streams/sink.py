"""Micro-batched writes of feature rows to Feast, and the acknowledgement of their events.

Rows are buffered per push source and written to the online store together when
``max_events`` events are waiting, and every ``interval_s`` in any case. The offline log
gets the same rows at a slower cadence, every ``offline_interval_s`` (or once
``max_events`` times ten events wait for it): each of its writes is a parquet part per
view with a fixed cost, and a part per online write made thousands of small parts. An
event is acknowledged to Kafka only after its row is in both, so a crash never commits
the offset of an event whose features were not stored. A failed write is retried with
capped exponential backoff until it succeeds; meanwhile the buffer stops growing, which
holds the agents back instead of losing rows. :meth:`FeatureSink.flush` writes both.

A reader waiting for rows (the decision agent waits for its trigger's own row) need not
wait for the interval: :meth:`FeatureSink.wait_for_write`, from its thread, asks for a
write within ``hurry_s`` (the rows of events that arrive meanwhile go with it) and returns
when a write ends.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from offers.settings import Settings
from streams.features.rows import Row
from streams.metrics import StreamMetrics

if TYPE_CHECKING:  # imported when first used: Feast is slow to import
    from features.writer import FeatureWriter

log = logging.getLogger(__name__)

Ack = Callable[[], Awaitable[Any]]
Batches = Mapping[str, Sequence[Row]]
"""Rows by push source name."""


class Writer(Protocol):
    """Writes batches of rows to the online store and to the offline log (called on
    the sink's writer thread)."""

    def online(self, batches: Batches) -> None: ...

    def offline(self, batches: Batches) -> None: ...


class FeastWriter:
    """Writes batches to the online and offline store with one
    :class:`~features.writer.FeatureWriter`, built on the first batch (on the writer's
    thread, where it then stays)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._writer: FeatureWriter | None = None

    def online(self, batches: Batches) -> None:
        writer = self._feast()
        for push_source, rows in batches.items():
            writer.write(push_source, rows, to_offline=False)

    def offline(self, batches: Batches) -> None:
        writer = self._feast()
        for push_source, rows in batches.items():
            writer.write_offline(push_source, rows)

    def _feast(self) -> FeatureWriter:
        if self._writer is None:
            from features.store import feature_store
            from features.writer import FeatureWriter

            self._writer = FeatureWriter(feature_store(self._settings))
        return self._writer


HURRY_S = 0.005
"""How soon a write comes after a reader asks for one."""
OFFLINE_BACKLOG = 10
"""The offline log is written once ``OFFLINE_BACKLOG * max_events`` events wait for it."""


class FeatureSink:
    def __init__(
        self,
        write: Writer,
        *,
        max_events: int,
        interval_s: float,
        offline_interval_s: float,
        metrics: StreamMetrics,
        max_backoff_s: float = 5.0,
        hurry_s: float = HURRY_S,
    ) -> None:
        self._write = write
        self.max_events = max_events
        self.interval_s = interval_s
        self.offline_interval_s = offline_interval_s
        self.hurry_s = hurry_s
        self._metrics = metrics
        self._max_backoff_s = max_backoff_s
        self._rows: dict[str, list[Row]] = {}
        self._acks: list[Ack] = []
        self._logged: dict[str, list[Row]] = {}
        """Rows in the online store, not in the offline log yet."""
        self._held: list[Ack] = []
        """The acknowledgements of the events of ``_logged``."""
        self._logged_at = time.monotonic()
        self._lock = asyncio.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feast-writer")
        self._ticker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hurried = asyncio.Event()
        self._written = threading.Condition()
        self.writes = 0
        """Online writes done so far (with rows to write or not)."""

    @property
    def pending(self) -> int:
        """Events buffered and not acknowledged yet (not those of a write in progress)."""
        return len(self._acks) + len(self._held)

    async def add(self, push_source: str, row: Row | None, ack: Ack) -> None:
        """Buffer ``row`` (if any) and acknowledge with ``ack`` once it is written."""
        if self._ticker is None:
            self._loop = asyncio.get_running_loop()
            self._ticker = self._loop.create_task(self._tick())
        if row is not None:
            self._rows.setdefault(push_source, []).append(row)
        self._acks.append(ack)
        if len(self._acks) >= self.max_events:
            await self._flush(offline=False)

    async def flush(self) -> None:
        """Write what is buffered to the online store and the offline log, then
        acknowledge its events."""
        await self._flush(offline=True)

    async def _flush(self, offline: bool) -> None:
        """Write the buffered rows to the online store (and wake the readers waiting
        for a write); then, if ``offline`` or the offline log is due, write the rows
        waiting for it and acknowledge their events."""
        async with self._lock:
            rows, acks = self._rows, self._acks
            self._rows, self._acks = {}, []
            if rows:
                await self._write_until_done("online", self._write.online, rows)
                for push_source, batch in rows.items():
                    self._metrics.rows_written.labels(push_source).inc(len(batch))
                    self._logged.setdefault(push_source, []).extend(batch)
            with self._written:
                self.writes += 1
                self._written.notify_all()
            self._held += acks
            due = time.monotonic() - self._logged_at >= self.offline_interval_s
            if not (offline or due or len(self._held) >= OFFLINE_BACKLOG * self.max_events):
                return
            logged, held = self._logged, self._held
            self._logged, self._held = {}, []
            if logged:
                await self._write_until_done("offline", self._write.offline, logged)
            self._logged_at = time.monotonic()
            for ack in held:
                await ack()

    def wait_for_write(self, timeout_s: float) -> None:
        """From a thread other than the event loop's: ask for a write within ``hurry_s``
        and block until a write ends, for at most ``timeout_s``."""
        with self._written:
            seen = self.writes
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._hurried.set)
            self._written.wait_for(lambda: self.writes > seen, timeout_s)

    async def _tick(self) -> None:
        """Flush on an interval, or ``hurry_s`` after a reader asked. Its own task, not a
        Faust timer: a worker that stops or gives up partitions waits for every event to
        be acknowledged, after its timers have stopped, so the writes must go on until
        then."""
        while True:
            try:
                await asyncio.wait_for(self._hurried.wait(), self.interval_s)
            except TimeoutError:
                pass
            else:
                # the rows of the events that came with the reader's go with this write
                await asyncio.sleep(self.hurry_s)
            self._hurried.clear()
            try:
                # shielded: close() cancels this task, but a write under way must finish
                # and acknowledge its events
                await asyncio.shield(self._flush(offline=False))
            except Exception:
                log.exception("flushing feature rows failed")

    async def _write_until_done(
        self, store: str, write: Callable[[Batches], None], rows: Batches
    ) -> None:
        loop = asyncio.get_running_loop()
        backoff = min(0.1, self._max_backoff_s)
        while True:
            started = time.perf_counter()
            try:
                await loop.run_in_executor(self._executor, write, rows)
            except Exception:
                self._metrics.flush_failures.inc()
                log.exception("writing %d feature rows %s failed; retrying", _count(rows), store)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            self._metrics.flush_seconds.labels(store).observe(time.perf_counter() - started)
            return

    async def close(self) -> None:
        """Write what is buffered (after any write under way) and stop."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        await self.flush()
        self._executor.shutdown(wait=True)


def _count(rows: Batches) -> int:
    return sum(len(batch) for batch in rows.values())
