"""The offline log of the location view keeps no coordinates older than the retention:
older rows lose ``last_lat``/``last_lon`` and keep their derived features; newer rows and
other parts are left as they are; a scrub waits for another rewrite of the log to end."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from features.retention import COORDINATES, scrub_offline_log
from features.sources import (
    CUSTOMER_LOCATION_VIEW,
    ensure_offline_dirs,
    rewrite_lock,
    write_offline_rows,
)

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
    assert not list(directory.glob(".*.partial"))


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


def test_a_scrub_waits_for_another_rewrite_of_the_log(tmp_path: Path) -> None:
    directory = log_of(tmp_path)
    part = write_part(directory, [("a", 30)])
    with ThreadPoolExecutor(1) as pool:
        with rewrite_lock(directory):
            scrub = pool.submit(scrub_offline_log, directory, CUTOFF)
            time.sleep(0.3)
            assert not scrub.done()
            # the holder of the lock (an erasure, a compaction) rewrites the part meanwhile
            write_part(directory, [("b", 30)]).rename(part)
        assert scrub.result(timeout=10).rows == 1
    assert [(r["customer_id"], r["last_lat"]) for r in pq.read_table(part).to_pylist()] == [
        ("b", None)
    ]
    assert not list(directory.glob(".*.partial"))
