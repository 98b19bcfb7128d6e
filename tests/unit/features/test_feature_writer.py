"""The fast feature writer's conversions: the same protobuf values as Feast's own, and the
same offline parquet part as the pandas path."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from feast.type_map import python_values_to_proto_values
from feast.value_type import ValueType
from hypothesis import given
from hypothesis import strategies as st

from features.errors import FeatureRepoError
from features.sources import (
    CUSTOMER_BOOKING_VIEW,
    CUSTOMER_LOCATION_VIEW,
    write_offline_part,
    write_offline_rows,
)
from features.writer import ENCODERS, timestamp_of, value_encoder

VALUES: dict[ValueType, st.SearchStrategy[Any]] = {
    ValueType.DOUBLE: st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.integers(),
    ValueType.INT64: st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
    ValueType.STRING: st.none() | st.text(),
    ValueType.STRING_LIST: st.none() | st.lists(st.text(), max_size=5),
    ValueType.INT64_LIST: st.none()
    | st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=5),
}


def test_every_value_type_of_the_views_has_its_own_converter() -> None:
    assert set(ENCODERS) == set(VALUES)


@pytest.mark.parametrize("value_type", list(VALUES), ids=lambda t: t.name)
@given(data=st.data())
def test_a_value_serializes_as_feasts_own_conversion_does(
    value_type: ValueType, data: st.DataObject
) -> None:
    value = data.draw(VALUES[value_type])
    [expected] = python_values_to_proto_values([value], value_type)

    assert value_encoder(value_type)(value).SerializeToString() == expected.SerializeToString()


def test_nan_and_none_are_the_empty_value() -> None:
    encode = value_encoder(ValueType.DOUBLE)
    assert encode(math.nan).WhichOneof("val") is None
    assert encode(None).WhichOneof("val") is None
    assert value_encoder(ValueType.STRING_LIST)([]).WhichOneof("val") == "string_list_val"


def test_other_value_types_go_through_feasts_conversion() -> None:
    encode = value_encoder(ValueType.BOOL)
    assert encode(True).bool_val is True


def test_timestamps_are_aware_datetimes_or_epoch_seconds() -> None:
    at = datetime(2026, 6, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp_of(at) == at
    assert timestamp_of(at.timestamp()) == at
    assert timestamp_of(int(at.timestamp())) == at
    with pytest.raises(FeatureRepoError, match="timezone-aware"):
        timestamp_of(datetime(2026, 6, 1, 12))  # noqa: DTZ001 - the case refused
    with pytest.raises(FeatureRepoError, match="datetime or epoch seconds"):
        timestamp_of("2026-06-01")


def _booking_row(i: int, at: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {
        f.name: {"float": 1.5 * i, "int": i, "str": f"s{i}"}.get(f.type)
        for f in CUSTOMER_BOOKING_VIEW.fields
    }
    row.update(routes_24h=["LIV-OLB"] * i, route_counts_24h=list(range(i)))
    row.update(customer_id=f"c{i}", event_timestamp=at + timedelta(seconds=i), extra="ignored")
    return row


def test_offline_rows_make_the_same_part_as_a_frame_does(tmp_path: Path) -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    rows = [_booking_row(i, at) for i in range(4)]
    by_frame, by_rows = tmp_path / "frame", tmp_path / "rows"
    by_frame.mkdir()
    by_rows.mkdir()

    write_offline_part(CUSTOMER_BOOKING_VIEW, by_frame, pd.DataFrame(rows))
    written = write_offline_rows(
        CUSTOMER_BOOKING_VIEW, by_rows, rows, [r["event_timestamp"] for r in rows]
    )

    assert written.parent == by_rows
    assert pq.read_table(by_rows).equals(pq.read_table(by_frame))
    assert not list(by_rows.glob(".*"))


def test_offline_rows_keep_event_times_in_utc(tmp_path: Path) -> None:
    at = datetime(2026, 6, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    defaults = {"float": 0.0, "int": 0, "str": ""}
    row = {f.name: defaults[f.type] for f in CUSTOMER_LOCATION_VIEW.fields}
    row["customer_id"] = "c1"

    write_offline_rows(CUSTOMER_LOCATION_VIEW, tmp_path, [row], [at])

    [stamp] = pq.read_table(tmp_path).column("event_timestamp").to_pylist()
    assert stamp == datetime(2026, 6, 1, 12, tzinfo=UTC)
