"""Data sources: a parquet batch source and a push source per feature view, and the
request source of a candidate offer.

The batch sources live under a data directory from the settings, so they are built by
functions rather than at import time. The stream processor pushes each view's
micro-batches to ``<view>_push`` (``customer_location_push``, ...). The offline log of a
view, read for training sets, is the directory ``<data_dir>/<view>/``: one parquet file
per pushed micro-batch (see :func:`write_offline_part` for why not Feast's own write);
an erased customer's rows are removed by rewriting the parts that hold them
(:func:`erase_offline_rows`).

Writers only ever add parts. Whatever rewrites or removes parts (a compaction, an
erasure, the location retention's scrub) holds the log's :func:`rewrite_lock`, so two of
them never interleave, and reads each part through one open file (:func:`read_part`).
"""

from __future__ import annotations

import fcntl
import time
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from feast import FeatureStore, FileSource, PushSource, RequestSource

from features.errors import FeatureRepoError
from features.feast_types import feast_field, pyarrow_type
from features.fields import (
    CUSTOMER_BOOKING,
    CUSTOMER_LOCATION,
    CUSTOMER_SOCIAL,
    OFFER_REQUEST,
    SAILING_STATE,
    FeatureField,
)

EVENT_TIMESTAMP = "event_timestamp"


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """What defines one feature view: its base name, join key and fields."""

    name: str
    join_key: str
    fields: tuple[FeatureField, ...]

    @property
    def push_source_name(self) -> str:
        return f"{self.name}_push"

    def offline_dir(self, data_dir: Path) -> Path:
        return data_dir / self.name

    @property
    def column_names(self) -> list[str]:
        return [self.join_key, *(f.name for f in self.fields), EVENT_TIMESTAMP]

    def arrow_schema(self) -> pa.Schema:
        """Columns of the offline parquet file, in the order Feast expects on writes."""
        columns = [pa.field(self.join_key, pa.string())]
        columns += [pa.field(f.name, pyarrow_type(f.type)) for f in self.fields]
        columns.append(pa.field(EVENT_TIMESTAMP, pa.timestamp("us", tz="UTC")))
        return pa.schema(columns)


CUSTOMER_LOCATION_VIEW = ViewSpec("customer_location", "customer_id", CUSTOMER_LOCATION)
CUSTOMER_SOCIAL_VIEW = ViewSpec("customer_social", "customer_id", CUSTOMER_SOCIAL)
CUSTOMER_BOOKING_VIEW = ViewSpec("customer_booking", "customer_id", CUSTOMER_BOOKING)
SAILING_STATE_VIEW = ViewSpec("sailing_state", "sailing_id", SAILING_STATE)

VIEW_SPECS: tuple[ViewSpec, ...] = (
    CUSTOMER_LOCATION_VIEW,
    CUSTOMER_SOCIAL_VIEW,
    CUSTOMER_BOOKING_VIEW,
    SAILING_STATE_VIEW,
)

VIEW_BY_PUSH_SOURCE: dict[str, ViewSpec] = {spec.push_source_name: spec for spec in VIEW_SPECS}
PUSH_SOURCE_NAMES: tuple[str, ...] = tuple(VIEW_BY_PUSH_SOURCE)

offer_request_source = RequestSource(
    name="offer_request",
    schema=[feast_field(f) for f in OFFER_REQUEST],
    description="A candidate offer at decision time.",
)


def batch_source(spec: ViewSpec, data_dir: Path) -> FileSource:
    """The directory of parquet files that holds the view's offline rows."""
    return FileSource(
        name=f"{spec.name}_source",
        path=str(spec.offline_dir(data_dir).resolve()),
        timestamp_field=EVENT_TIMESTAMP,
        description=f"Offline log of {spec.name} rows.",
    )


def push_source(spec: ViewSpec, data_dir: Path) -> PushSource:
    """The push source the stream processor writes the view's rows to."""
    return PushSource(
        name=spec.push_source_name,
        batch_source=batch_source(spec, data_dir),
        description=f"Micro-batches of {spec.name} rows from the stream processor.",
    )


def offline_dir(store: FeatureStore, push_source_name: str) -> Path:
    """The offline directory of a push source, as registered (from the cached registry)."""
    source = store.registry.get_data_source(push_source_name, store.project, allow_cache=True)
    batch = source.batch_source if isinstance(source, PushSource) else None
    if not isinstance(batch, FileSource):
        raise FeatureRepoError(f"{push_source_name} is not a push source over parquet files")
    return Path(batch.path)


def ensure_offline_dirs(data_dir: Path) -> None:
    """Create each view's offline directory, with an empty part that carries the schema
    (Feast reads a source's columns from its files, so one must exist before any read)."""
    for spec in VIEW_SPECS:
        directory = spec.offline_dir(data_dir)
        directory.mkdir(parents=True, exist_ok=True)
        if not any(directory.glob("*.parquet")):
            write_part(spec.arrow_schema().empty_table(), directory / "part-0-empty.parquet")


def write_offline_part(spec: ViewSpec, directory: Path, frame: pd.DataFrame) -> Path:
    """Append one micro-batch to a view's offline log, as a new parquet file.

    Feast's own offline write (``PushMode.ONLINE_AND_OFFLINE`` on a file source) rewrites
    the whole file on every push, is unsafe with several writers, and in Feast 0.67 breaks
    on the second push to a view with an ``Array(String)`` field: it reads the list type
    back as ``list<element: string>``, which its type map lacks (KeyError). One new file
    per batch, with Arrow's own list naming, avoids all three.
    """
    missing = [name for name in spec.column_names if name not in frame.columns]
    if missing:
        raise FeatureRepoError(f"rows of {spec.name} lack {', '.join(missing)}")
    table = pa.Table.from_pandas(
        frame[spec.column_names], schema=spec.arrow_schema(), preserve_index=False
    )
    return _append_part(table, directory)


def write_offline_rows(
    spec: ViewSpec,
    directory: Path,
    rows: Sequence[Mapping[str, Any]],
    timestamps: Sequence[datetime],
) -> Path:
    """:func:`write_offline_part` of rows given as mappings (without pandas), each with
    its event time as a timezone-aware datetime in ``timestamps``."""
    names = [name for name in spec.column_names if name != EVENT_TIMESTAMP]
    columns = {name: [row[name] for row in rows] for name in names}
    columns[EVENT_TIMESTAMP] = list(timestamps)
    return _append_part(pa.Table.from_pydict(columns, schema=spec.arrow_schema()), directory)


def _append_part(table: pa.Table, directory: Path) -> Path:
    path = directory / f"part-{time.time_ns()}-{uuid.uuid4().hex}.parquet"
    write_part(table, path)
    return path


@dataclass(frozen=True, slots=True)
class Compaction:
    """What :func:`compact_offline_log` did to one view's log."""

    view: str
    merged: int
    """Parts read and replaced by one (0: there was nothing to merge)."""
    rows: int


def compact_offline_log(spec: ViewSpec, directory: Path) -> Compaction:
    """Merge the parts of a view's offline log into one, so that a historical read opens
    one file instead of one per pushed micro-batch (Feast's file store reads each part as
    a partition, and slows down with thousands).

    The merged part is written first, then the parts it holds are removed: a reader in
    between sees some rows twice (the same values at the same event time, harmless to
    point-in-time joins), never none. Parts pushed meanwhile are left for the next time.
    """
    with rewrite_lock(directory):
        parts = log_parts(directory)
        if len(parts) < 2:
            return Compaction(spec.name, 0, 0)
        schema = spec.arrow_schema()
        table = pa.concat_tables(read_part(part).cast(schema) for part in parts)
        table = table.sort_by([(EVENT_TIMESTAMP, "ascending")])
        name = f"part-{time.time_ns()}-{uuid.uuid4().hex}-compacted.parquet"
        write_part(table, directory / name)
        for part in parts:
            part.unlink()
    return Compaction(spec.name, len(parts), table.num_rows)


def erase_offline_rows(spec: ViewSpec, directory: Path, keys: Collection[str]) -> int:
    """Remove the rows of ``keys`` (values of the view's join key: erased customers) from
    every part of a view's offline log; returns how many rows were removed.

    A part holding such rows is written again without them (:func:`write_part`: a reader
    sees the old part or the new one, never half of one). Parts that writers add
    meanwhile are new files, left alone.
    """
    wanted = pa.array(sorted(set(keys)), type=pa.string())
    if len(wanted) == 0:
        return 0
    with rewrite_lock(directory):
        return sum(_erase_from_part(part, spec, wanted) for part in log_parts(directory))


def _erase_from_part(part: Path, spec: ViewSpec, keys: pa.Array) -> int:
    """Rewrite ``part`` without the rows whose join key is one of ``keys``; how many
    there were (0: the part is left untouched)."""
    held = read_part(part, columns=[spec.join_key]).column(0)
    found = int(pc.sum(pc.is_in(held, value_set=keys)).as_py() or 0)
    if found:
        table = read_part(part)
        write_part(table.filter(pc.invert(pc.is_in(table[spec.join_key], value_set=keys))), part)
    return found


def log_parts(directory: Path) -> list[Path]:
    """The parts of a view's offline log, oldest first."""
    return sorted(p for p in directory.glob("part-*.parquet") if p.is_file())


REWRITE_LOCK = ".rewrite.lock"
"""The file, in a view's offline directory, that :func:`rewrite_lock` locks (hidden, as
the partial files: readers of the log skip names that start with a dot)."""


@contextmanager
def rewrite_lock(directory: Path) -> Iterator[None]:
    """Hold the exclusive lock on rewriting or removing the parts of the log in
    ``directory``, across processes (an advisory ``flock``: the API's erasure, the
    worker's retention scrub and a retraining's compaction each take it, and wait for
    one another). Adding a new part needs no lock."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / REWRITE_LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_part(part: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """One part of an offline log, read through one open file: a part renamed over while
    it is read is read whole from the file that was opened (a path read opens the file
    more than once, and could take the footer of one file and the pages of another)."""
    with part.open("rb") as handle:
        return pq.read_table(handle, columns=None if columns is None else list(columns))


def write_part(table: pa.Table, path: Path) -> None:
    """Write to a hidden name of its own, then rename: readers never see a partial file,
    and two processes rewriting the same part never write into one file."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    pq.write_table(table, partial, use_compliant_nested_type=False)
    partial.rename(path)
