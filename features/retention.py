"""How long the feature store keeps where customers were: no raw coordinates older than
``OFFERS_LOCATION_RETENTION_HOURS``, and no location row of a customer who withdrew the
location consent.

- Online, in Redis: the customer's row of ``customer_location_fv`` (its hash fields and
  its ``_ts`` field, in Feast's key layout; the customer's other views stay) is deleted
  when the customer withdraws the consent (:meth:`OnlineLocations.delete`), and once its
  event time is before the cutoff (:meth:`OnlineLocations.prune`, which scans every
  entity hash of the project, and deletes a row only if it is still the one it read, so
  a row written meanwhile stays). Feast's own ``key_ttl_seconds`` would not do: it
  expires the customer's whole hash, every view at once.
- Offline, in the view's parquet log under ``OFFERS_FEAST_DATA_DIR``: the rows dated
  before the cutoff keep their derived features (nearest port, distance, geofence,
  speed, ...) for training, and lose their coordinates (:data:`COORDINATES` become null):
  :func:`scrub_offline_log` writes each part that still holds such a row again, under a
  hidden name, then renames it over the part, holding the log's rewrite lock (so no
  compaction or erasure rewrites a part meanwhile), and a reader sees the old part or
  the new one, never half of one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from feast import FeatureStore
from feast.value_type import ValueType
from redis import Redis

from features.fields import CUSTOMER_LOCATION
from features.online import CUSTOMER_ID, OnlineReader, decode_timestamp
from features.sources import (
    CUSTOMER_LOCATION_VIEW,
    EVENT_TIMESTAMP,
    log_parts,
    read_part,
    rewrite_lock,
    write_part,
)
from features.views import feature_view_name

COORDINATES: tuple[str, ...] = ("last_lat", "last_lon")
"""The columns of the location view that hold a raw position."""
LOCATION_VIEW = feature_view_name(CUSTOMER_LOCATION_VIEW)
SCAN_BATCH = 1_000
"""Keys read per round trip while :meth:`OnlineLocations.prune` scans Redis."""

_DELETE_IF_UNCHANGED = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
    return redis.call('HDEL', KEYS[1], unpack(ARGV, 3))
end
return 0
"""


class OnlineLocations:
    """The customers' rows of the location view in Feast's Redis online store."""

    def __init__(self, store: FeatureStore, client: Redis) -> None:
        names = tuple(field.name for field in CUSTOMER_LOCATION)
        self._keys = OnlineReader(store, client, {LOCATION_VIEW: names})
        view = self._keys.views[0]
        self._client = client
        self._stamp = view.timestamp_field
        self._fields = [*view.hash_fields, view.timestamp_field]
        self._pattern = b"*" + str(store.config.project).encode()
        self._delete_if_unchanged = client.register_script(_DELETE_IF_UNCHANGED)

    def close(self) -> None:
        self._client.close()

    def delete(self, customer_ids: Sequence[str]) -> int:
        """Delete the customers' location rows; how many of them had one."""
        if not customer_ids:
            return 0
        keys = self._keys.entity_keys(CUSTOMER_ID, ValueType.STRING, list(customer_ids))
        with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                # redis-py annotates keys and fields as str; Feast's are bytes, sent as is
                pipe.hdel(key, *self._fields)  # type: ignore[arg-type]
            removed: list[int] = pipe.execute()
        return sum(1 for count in removed if count)

    def prune(self, cutoff: datetime) -> int:
        """Delete every location row whose event time is before ``cutoff``; how many."""
        limit = cutoff.timestamp()
        pruned = 0
        for keys in _batches(self._client.scan_iter(match=self._pattern, count=SCAN_BATCH)):
            with self._client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hget(key, self._stamp)  # type: ignore[arg-type]  # bytes, as above
                stamps: list[bytes | None] = pipe.execute()
            old = [
                (key, stamp)
                for key, stamp in zip(keys, stamps, strict=True)
                if stamp is not None and (decode_timestamp(stamp) or 0.0) < limit
            ]
            if not old:
                continue
            with self._client.pipeline(transaction=False) as pipe:
                for key, stamp in old:
                    self._delete_if_unchanged(
                        keys=[key], args=[self._stamp, stamp, *self._fields], client=pipe
                    )
                pruned += sum(1 for count in pipe.execute() if count)
        return pruned


def _batches(keys: Iterable[bytes]) -> Iterable[list[bytes]]:
    batch: list[bytes] = []
    for key in keys:
        batch.append(key)
        if len(batch) == SCAN_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True, slots=True)
class Scrub:
    """What :func:`scrub_offline_log` did."""

    parts: int
    """Parts written again without the old coordinates."""
    rows: int
    """Rows whose coordinates were removed."""


def scrub_offline_log(directory: Path, cutoff: datetime) -> Scrub:
    """Remove the coordinates of the rows dated before ``cutoff`` from every part of the
    location view's offline log in ``directory``; the rest of each row stays."""
    parts = rows = 0
    with rewrite_lock(directory):
        for part in log_parts(directory):
            scrubbed = _scrub_part(part, cutoff)
            if scrubbed:
                parts, rows = parts + 1, rows + scrubbed
    return Scrub(parts, rows)


def _scrub_part(part: Path, cutoff: datetime) -> int:
    """Write ``part`` again without the coordinates of its rows before ``cutoff``; how
    many rows lost them (0: the part is left as it was)."""
    head = read_part(part, columns=[EVENT_TIMESTAMP, *COORDINATES])
    old = _before(head, cutoff)
    located = pc.or_(*(pc.is_valid(head[name]) for name in COORDINATES))
    count = int(pc.sum(pc.and_(old, located)).as_py() or 0)
    if count == 0:
        return 0
    table = read_part(part)
    old = _before(table, cutoff)
    for name in COORDINATES:
        column = table[name]
        blank = pa.nulls(len(table), type=column.type)
        table = table.set_column(
            table.schema.get_field_index(name), name, pc.if_else(old, blank, column)
        )
    write_part(table, part)
    return count


def _before(table: pa.Table, cutoff: datetime) -> pa.ChunkedArray:
    stamps = table[EVENT_TIMESTAMP]
    return pc.fill_null(pc.less(stamps, pa.scalar(cutoff, type=stamps.type)), False)
