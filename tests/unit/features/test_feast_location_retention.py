"""The offline log of the location view keeps no coordinates older than the retention:
older rows lose ``last_lat``/``last_lon`` and keep their derived features; newer rows and
other parts are left as they are; a part changed meanwhile is left for the next pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from features.retention import COORDINATES, _replace_unchanged, scrub_offline_log
from features.sources import CUSTOMER_LOCATION_VIEW, ensure_offline_dirs, write_offline_rows

NOW = datetime(2026, 7, 14, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(hours=24)


def location_row(customer: str, lat: float, lon: float) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "last_lat": lat,
        "last_lon": lon,
        "last_ping_ts": 0,
        "nearest_port": "LIV",
        "nearest_port_km": 3.5,
        "geofence_port": "LIV",
        "geofence_enter_ts": 0,
        "dwell_s": 120,
        "speed_mps": 1.5,
        "pings_1h": 4,
    }


def write_part(directory: Path, rows: list[tuple[str, float]]) -> Path:
    """A part of one row per (customer, hours before NOW)."""
    made = [location_row(customer, 43.0 + hours / 100, 10.0) for customer, hours in rows]
    stamps = [NOW - timedelta(hours=hours) for _, hours in rows]
    return write_offline_rows(CUSTOMER_LOCATION_VIEW, directory, made, stamps)


def log_of(tmp_path: Path) -> Path:
    ensure_offline_dirs(tmp_path)
    return CUSTOMER_LOCATION_VIEW.offline_dir(tmp_path)


def test_rows_past_the_cutoff_lose_their_coordinates_and_keep_the_rest(tmp_path: Path) -> None:
    directory = log_of(tmp_path)
    mixed = write_part(directory, [("old", 30), ("fresh", 2), ("edge", 24)])
    before = pq.read_table(mixed).to_pylist()

    done = scrub_offline_log(directory, CUTOFF)

    assert (done.parts, done.rows) == (1, 1)
    after = pq.read_table(mixed).to_pylist()
    assert [r["customer_id"] for r in after] == ["old", "fresh", "edge"]
    for old, new in zip(before, after, strict=True):
        scrubbed = new["customer_id"] == "old"  # "edge" is exactly at the cutoff: kept
        for name, value in old.items():
            assert new[name] == (None if scrubbed and name in COORDINATES else value), name
    assert pq.read_schema(mixed) == CUSTOMER_LOCATION_VIEW.arrow_schema()
    assert not list(directory.glob(".*"))


def test_parts_without_old_coordinates_are_left_alone_and_a_second_pass_does_nothing(
    tmp_path: Path,
) -> None:
    directory = log_of(tmp_path)
    fresh = write_part(directory, [("a", 1), ("b", 5)])
    old = write_part(directory, [("c", 48), ("d", 72)])
    fresh_stat = fresh.stat()

    first = scrub_offline_log(directory, CUTOFF)
    assert (first.parts, first.rows) == (1, 2)
    assert fresh.stat().st_mtime_ns == fresh_stat.st_mtime_ns
    assert all(r["last_lat"] is None for r in pq.read_table(old).to_pylist())

    old_stat = old.stat()
    again = scrub_offline_log(directory, CUTOFF)
    assert (again.parts, again.rows) == (0, 0)
    assert old.stat().st_mtime_ns == old_stat.st_mtime_ns
    # the whole log still reads as one table, every row there
    assert pq.read_table(directory).num_rows == 4


def test_the_log_moves_with_the_cutoff(tmp_path: Path) -> None:
    directory = log_of(tmp_path)
    part = write_part(directory, [("a", 10), ("b", 20), ("c", 30)])
    assert scrub_offline_log(directory, CUTOFF).rows == 1
    assert scrub_offline_log(directory, NOW - timedelta(hours=15)).rows == 1
    assert [r["last_lat"] is None for r in pq.read_table(part).to_pylist()] == [False, True, True]


def test_a_part_changed_or_removed_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    directory = log_of(tmp_path)
    part = write_part(directory, [("a", 30)])
    read = part.stat()
    table = pq.read_table(part)
    # another writer (an erasure, a compaction) rewrites the part after it was read
    write_part(directory, [("b", 30)]).rename(part)
    assert not _replace_unchanged(part, read, table.slice(0, 0))
    assert [r["customer_id"] for r in pq.read_table(part).to_pylist()] == ["b"]
    part.unlink()
    assert not _replace_unchanged(part, read, table)
    assert not part.exists() and not list(directory.glob(".*"))
