"""Micro-batches of feature rows into the online store and the offline log, fast.

``FeatureStore.push`` costs about 19 ms per call before it writes anything (it reads the
feature views and services of the push source back from the registry's protobuf) and
converts the rows through pandas and Arrow to protobuf values one column at a time: the
stream processor flushes several views many times a second, so that cost was most of
its write time. :class:`FeatureWriter` does what ``push`` does for this repository's
push sources, with that work done once:

- the feature views are read from the registry when the writer is built;
- each value becomes a ``ValueProto`` by a converter chosen once per field for its value
  type (the same protobuf Feast's ``python_values_to_proto_values`` builds: a test keeps
  them byte for byte equal);
- the online rows are written by Feast's own Redis online store
  (``RedisOnlineStore.online_write_batch``: its key layout, its TTL, its ``skip_dedup``);
- the offline rows are appended as a new parquet part of the view's log
  (:func:`features.sources.write_offline_rows`), with the online rows or on their own
  (:meth:`FeatureWriter.write_offline`: the stream processor writes its parts less often
  than its online rows).

The online store gets only the last row of each key in a batch (rows are in the order they
were computed, so that row is the key's current one); the offline log gets every row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feast import FeatureStore, FeatureView
from feast.infra.online_stores.redis import RedisOnlineStore, RedisOnlineStoreConfig
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Int64List, StringList
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import python_values_to_proto_values
from feast.value_type import ValueType

from features.errors import FeatureRepoError
from features.sources import (
    EVENT_TIMESTAMP,
    VIEW_BY_PUSH_SOURCE,
    ViewSpec,
    offline_dir,
    write_offline_rows,
)
from features.views import feature_view_name

Encoder = Callable[[Any], ValueProto]

EMPTY = ValueProto()


def _double(value: Any) -> ValueProto:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return EMPTY
    return ValueProto(double_val=value)


def _int64(value: Any) -> ValueProto:
    return EMPTY if value is None else ValueProto(int64_val=value)


def _string(value: Any) -> ValueProto:
    return EMPTY if value is None else ValueProto(string_val=value)


def _string_list(value: Any) -> ValueProto:
    return EMPTY if value is None else ValueProto(string_list_val=StringList(val=value))


def _int64_list(value: Any) -> ValueProto:
    return EMPTY if value is None else ValueProto(int64_list_val=Int64List(val=value))


ENCODERS: dict[ValueType, Encoder] = {
    ValueType.DOUBLE: _double,
    ValueType.INT64: _int64,
    ValueType.STRING: _string,
    ValueType.STRING_LIST: _string_list,
    ValueType.INT64_LIST: _int64_list,
}
"""The value types of the views, each with its converter to ``ValueProto``."""


def value_encoder(value_type: ValueType) -> Encoder:
    """One value as ``python_values_to_proto_values`` converts it for ``value_type``
    (``None`` and NaN as the empty value); other types go through Feast's own function."""
    encoder = ENCODERS.get(value_type)
    if encoder is not None:
        return encoder
    return lambda value: python_values_to_proto_values([value], value_type)[0]


def timestamp_of(value: Any) -> datetime:
    """An ``event_timestamp``: a timezone-aware datetime, or epoch seconds."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise FeatureRepoError(f"{EVENT_TIMESTAMP} must be timezone-aware, got {value!r}")
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    raise FeatureRepoError(f"{EVENT_TIMESTAMP} must be a datetime or epoch seconds: {value!r}")


@dataclass(frozen=True, slots=True)
class ViewWrite:
    """What writing rows of one push source needs, looked up once."""

    spec: ViewSpec
    view: FeatureView
    offline_dir: Path
    entity_encoder: Encoder
    encoders: tuple[tuple[str, Encoder], ...]
    """Each feature's name and converter, in the view's order."""


class FeatureWriter:
    """Writes rows of the repository's push sources to Feast's Redis online store and to
    the views' offline logs; one instance per thread (the online store keeps a client)."""

    def __init__(self, store: FeatureStore) -> None:
        if not isinstance(store.config.online_store, RedisOnlineStoreConfig):
            raise FeatureRepoError("the online store of the Feast repository is not Redis")
        self._config = store.config
        self._online = RedisOnlineStore()
        self._views = {name: _view_write(store, spec) for name, spec in VIEW_BY_PUSH_SOURCE.items()}

    def write(
        self, push_source_name: str, rows: Sequence[Mapping[str, Any]], to_offline: bool = True
    ) -> None:
        """One micro-batch of a push source: the offline log first (a retried batch may
        then repeat a log row, the same values at the same event time, harmless to
        point-in-time joins, but never miss one), then the online store; with
        ``to_offline`` false, the online store only.

        Each row has the view's join key, every field of the view and ``event_timestamp``
        (a timezone-aware datetime or epoch seconds); other keys are ignored."""
        write, stamps = self._checked(push_source_name, rows)
        if not rows:
            return
        if to_offline:
            write_offline_rows(write.spec, write.offline_dir, rows, stamps)
        spec = write.spec
        # the online store keeps one row per key: the batch's last one for that key
        latest = {row[spec.join_key]: i for i, row in enumerate(rows)}
        join_keys = [spec.join_key]
        data: list[tuple[EntityKeyProto, dict[str, ValueProto], datetime, datetime | None]] = [
            (
                EntityKeyProto(join_keys=join_keys, entity_values=[write.entity_encoder(key)]),
                {name: encode(rows[i][name]) for name, encode in write.encoders},
                stamps[i],
                None,
            )
            for key, i in latest.items()
        ]
        self._online.online_write_batch(self._config, write.view, data, None)

    def write_offline(self, push_source_name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rows of a push source appended to its view's offline log only (one new part),
        for a caller that wrote them online already; rows as :meth:`write` takes them."""
        write, stamps = self._checked(push_source_name, rows)
        if rows:
            write_offline_rows(write.spec, write.offline_dir, rows, stamps)

    def _checked(
        self, push_source_name: str, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[ViewWrite, list[datetime]]:
        """The push source's view, and the event time of each row, which must have every
        column of the view."""
        write = self._views.get(push_source_name)
        if write is None:
            raise FeatureRepoError(f"unknown push source {push_source_name!r}")
        wanted = write.spec.column_names
        for row in rows:
            if len(row) < len(wanted) or not all(name in row for name in wanted):
                missing = [name for name in wanted if name not in row]
                raise FeatureRepoError(f"rows of {write.spec.name} lack {', '.join(missing)}")
        return write, [timestamp_of(row[EVENT_TIMESTAMP]) for row in rows]


def _view_write(store: FeatureStore, spec: ViewSpec) -> ViewWrite:
    view = store.get_feature_view(feature_view_name(spec))
    types = {field.name: field.dtype.to_value_type() for field in view.features}
    missing = [f.name for f in spec.fields if f.name not in types]
    if missing:
        raise FeatureRepoError(f"{view.name} as registered lacks {', '.join(missing)}")
    entity = store.get_entity(view.entities[0])
    return ViewWrite(
        spec=spec,
        view=view,
        offline_dir=offline_dir(store, spec.push_source_name),
        entity_encoder=value_encoder(entity.value_type),
        encoders=tuple((f.name, value_encoder(types[f.name])) for f in spec.fields),
    )
