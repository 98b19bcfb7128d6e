"""The offline log of a view: one parquet file per micro-batch, Feast-readable types."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from features.errors import FeatureRepoError
from features.sources import (
    CUSTOMER_BOOKING_VIEW,
    VIEW_SPECS,
    compact_offline_log,
    ensure_offline_dirs,
    write_offline_part,
)


def booking_rows(n: int) -> pd.DataFrame:
    row = {
        f.name: {"float": 1.5, "int": 2, "str": "x"}.get(f.type)
        for f in CUSTOMER_BOOKING_VIEW.fields
    }
    row.update(routes_24h=["LIV-OLB"], route_counts_24h=[3])
    frame = pd.DataFrame([row] * n)
    frame["customer_id"] = [f"c{i}" for i in range(n)]
    frame["event_timestamp"] = pd.Timestamp(datetime(2026, 6, 1, tzinfo=UTC))
    frame["not_a_field"] = "ignored"
    return frame


def test_every_view_gets_a_directory_with_a_schema_file(tmp_path: Path) -> None:
    ensure_offline_dirs(tmp_path)
    ensure_offline_dirs(tmp_path)  # idempotent

    for spec in VIEW_SPECS:
        files = list(spec.offline_dir(tmp_path).glob("*.parquet"))
        assert len(files) == 1
        assert pq.read_schema(files[0]).names == spec.column_names


def test_parts_append_and_keep_arrows_list_naming(tmp_path: Path) -> None:
    ensure_offline_dirs(tmp_path)
    directory = CUSTOMER_BOOKING_VIEW.offline_dir(tmp_path)

    write_offline_part(CUSTOMER_BOOKING_VIEW, directory, booking_rows(2))
    write_offline_part(CUSTOMER_BOOKING_VIEW, directory, booking_rows(3))

    table = pq.read_table(directory)
    assert table.num_rows == 5
    assert table.column_names == CUSTOMER_BOOKING_VIEW.column_names
    # Feast 0.67 maps "list<item: string>" but not the "list<element: string>" spelling
    assert str(table.schema.field("routes_24h").type) == "list<item: string>"
    assert str(table.schema.field("event_timestamp").type) == "timestamp[us, tz=UTC]"
    assert not list(directory.glob(".*"))


def test_rows_missing_a_field_are_refused(tmp_path: Path) -> None:
    rows = booking_rows(1).drop(columns="routes_24h")
    with pytest.raises(FeatureRepoError, match="lack routes_24h"):
        write_offline_part(CUSTOMER_BOOKING_VIEW, tmp_path, rows)


def test_compaction_merges_the_parts_into_one_with_every_row(tmp_path: Path) -> None:
    ensure_offline_dirs(tmp_path)
    directory = CUSTOMER_BOOKING_VIEW.offline_dir(tmp_path)
    for n in (2, 3, 4):
        write_offline_part(CUSTOMER_BOOKING_VIEW, directory, booking_rows(n))
    before = pq.read_table(directory).sort_by("customer_id")

    done = compact_offline_log(CUSTOMER_BOOKING_VIEW, directory)

    assert (done.merged, done.rows) == (4, 9)  # the schema file and three parts
    [only] = list(directory.glob("*.parquet"))
    after = pq.read_table(only).sort_by("customer_id")
    assert after.equals(before)
    assert str(after.schema.field("routes_24h").type) == "list<item: string>"
    assert compact_offline_log(CUSTOMER_BOOKING_VIEW, directory).merged == 0
