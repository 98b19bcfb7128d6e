"""Location data in the stream processor: a withdrawal of the location consent deletes
the customer's location rows, and no location row outlives the retention.

Decisions stop using a customer's location the moment the worker's consent replica holds
the withdrawal, whatever the stores hold (:mod:`streams.decisions.location_consent`: the
check at decision time is the guarantee). The feature agents derive location features
whatever the consent: a check there could not remove what was derived before a
withdrawal, and pings reach the topic only with the consent (the API refuses the others;
an app sends none). What this module adds is that the stores forget:

- **Withdrawal**: every worker follows ``state.consent``; when a customer's latest
  location consent is a withdrawal, it writes out the rows buffered in the feature sink,
  deletes the customer's location row from the online store, and deletes the customer's
  entry from the location table if it holds it (with a tombstone on the table's
  changelog, which then forgets the customer's last positions too).
- **Retention**: every :func:`sweep_interval` (a twelfth of
  ``OFFERS_LOCATION_RETENTION_HOURS``), each worker deletes the entries of the location
  table whose last ping is older than the cutoff, and one worker at a time (a lock in
  Redis) deletes the older online rows and removes the coordinates of the older rows of
  the offline log (:mod:`features.retention`). The cutoff is the retention less one
  interval before now, so nothing is kept longer than the retention. The table's
  changelog deletes its own older records (``offers.topics``: ``holds_location``).

Keys: ``offers:location-retention:sweep`` (the lock of the shared sweep, set for one
interval).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import faust
import orjson
from faust.types import TableT
from redis import Redis

from offers.contracts import ConsentScope
from offers.errors import ContractError
from offers.settings import Settings
from offers.state.consent import decode_consent
from offers.topics import CONSENT
from streams.decisions.clock import Clock, wall_clock
from streams.features.location import last_ping_ms
from streams.features.windows import to_ms
from streams.replica import follow_topic
from streams.sink import FeatureSink

if TYPE_CHECKING:  # imported when first used: Feast is slow to import
    from features.retention import OnlineLocations

log = logging.getLogger(__name__)

SWEEP_LOCK = "offers:location-retention:sweep"
WITHDRAWAL_TICK_S = 0.2
"""How often the withdrawals seen on ``state.consent`` are carried out."""
Table = TableT[bytes, bytes]


def sweep_interval(retention: timedelta) -> timedelta:
    """How often the stores are swept: a twelfth of the retention (two hours for a day)."""
    return retention / 12


def retention_cutoff(now: datetime, retention: timedelta) -> datetime:
    """The moment before which location data is removed by a sweep at ``now``: the
    retention less one interval before it, as the next sweep comes one interval later."""
    return now - retention + sweep_interval(retention)


def expired_keys(entries: Iterable[tuple[bytes, bytes]], cutoff: datetime) -> list[bytes]:
    """The keys of the location table's ``entries`` (key, stored entry) whose last ping
    is before ``cutoff`` (an entry without a ping is expired too)."""
    limit = to_ms(cutoff)
    expired = []
    for key, raw in entries:
        try:
            last = last_ping_ms(orjson.loads(raw)["s"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
            log.error("location retention: an unreadable entry of %r is left", key)
            continue
        if last is None or last < limit:
            expired.append(key)
    return expired


class LocationWithdrawals:
    """The customers whose latest location consent is a withdrawal, not yet acted on,
    from the records of ``state.consent`` (:meth:`apply`)."""

    def __init__(self) -> None:
        self.pending: dict[str, None] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None or value is None:
            return
        customer, _, scope = key.decode(errors="replace").partition("|")
        if scope != ConsentScope.LOCATION.value:
            return
        try:
            granted = decode_consent(value).granted
        except ContractError as exc:
            log.error("%s: skipping an unreadable record: %s", CONSENT.name, exc)
            return
        if granted:
            self.pending.pop(customer, None)
        else:
            self.pending[customer] = None

    def take(self) -> list[str]:
        """The pending withdrawals, which are no longer pending."""
        taken = list(self.pending)
        self.pending.clear()
        return taken


def forget_entries(table: Table, keys: Iterable[bytes]) -> int:
    """Delete ``keys`` from the table this worker holds, each with a tombstone on the
    table's changelog (sent to the key's partition: that of its events); how many it
    held. Outside an agent, Faust's own ``del table[key]`` cannot tell the partition."""
    forgotten = 0
    for key in keys:
        if key not in table.data:
            continue
        del table.data[key]
        table.send_changelog(None, key, None, value_serializer="raw")
        forgotten += 1
    return forgotten


class LocationRetention:
    """The withdrawal and retention work of one worker over its location table."""

    def __init__(
        self,
        settings: Settings,
        table: Table,
        sink: FeatureSink,
        *,
        clock: Clock = wall_clock,
    ) -> None:
        self.settings = settings
        self.table = table
        self.sink = sink
        self.clock = clock
        self.retention = timedelta(hours=settings.location_retention_hours)
        self.withdrawals = LocationWithdrawals()
        self.redis = Redis.from_url(settings.redis_url, socket_timeout=30)
        self._online: OnlineLocations | None = None
        self._failing = False

    def online(self) -> OnlineLocations:
        """The online location rows (built on first use, in a thread)."""
        if self._online is None:
            from features.retention import OnlineLocations
            from features.store import feature_store

            self._online = OnlineLocations(feature_store(self.settings), self.redis)
        return self._online

    def install(self, app: faust.App) -> None:
        """Follow ``state.consent`` and run the withdrawal and retention timers."""

        async def follow() -> None:
            await follow_topic(self.settings.kafka_bootstrap, CONSENT.name, self.withdrawals.apply)

        app.task(follow)
        app.timer(WITHDRAWAL_TICK_S, name="location_withdrawals")(self.carry_out_withdrawals)
        interval = sweep_interval(self.retention).total_seconds()
        app.timer(interval, name="location_retention")(self.sweep)

    async def carry_out_withdrawals(self) -> None:
        customers = self.withdrawals.take()
        if not customers:
            return
        await self.sink.flush()
        try:
            await asyncio.to_thread(self._delete_online, customers)
        except Exception as exc:
            # tried again at the next tick; decisions ignore the rows meanwhile
            if not self._failing:
                log.warning("location withdrawals: the online rows stay for now: %s", exc)
                self._failing = True
            self.withdrawals.pending.update(dict.fromkeys(customers))
            return
        self._failing = False
        forgotten = forget_entries(self.table, [c.encode() for c in customers])
        log.info("location withdrawn by %d customers (%d table entries)", len(customers), forgotten)

    def _delete_online(self, customers: list[str]) -> None:
        self.online().delete(customers)

    async def sweep(self) -> None:
        cutoff = retention_cutoff(self.clock(), self.retention)
        entries = list(self.table.data.items())
        expired = await asyncio.to_thread(expired_keys, entries, cutoff)
        # an entry written again meanwhile has a new ping: only those unchanged go
        unchanged = dict(entries)
        forget_entries(self.table, [k for k in expired if self.table.data.get(k) is unchanged[k]])
        try:
            await asyncio.to_thread(self._sweep_stores, cutoff)
        except Exception:
            log.exception("location retention: the sweep of the stores failed")

    def _sweep_stores(self, cutoff: datetime) -> None:
        """The online rows and the offline log, by one worker at a time."""
        interval_ms = int(sweep_interval(self.retention) / timedelta(milliseconds=1))
        if not self.redis.set(SWEEP_LOCK, self.settings.stream_app_id, nx=True, px=interval_ms):
            return
        from features.retention import scrub_offline_log
        from features.sources import CUSTOMER_LOCATION_VIEW

        pruned = self.online().prune(cutoff)
        directory = CUSTOMER_LOCATION_VIEW.offline_dir(self.settings.feast_data_dir.resolve())
        scrubbed = scrub_offline_log(directory, cutoff)
        log.info(
            "location retention: %d online rows, %d offline rows in %d parts before %s",
            pruned,
            scrubbed.rows,
            scrubbed.parts,
            cutoff.isoformat(),
        )


def install_location_retention(
    app: faust.App, settings: Settings, table: Table, sink: FeatureSink
) -> LocationRetention:
    """The location retention of a worker whose location table is ``table``."""
    retention = LocationRetention(settings, table, sink)
    retention.install(app)
    return retention
