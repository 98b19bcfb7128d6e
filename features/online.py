"""Online feature reads straight from Redis, in Feast's own key layout and encodings.

Feast's Redis online store keeps one hash per entity: the key is the serialized entity key
followed by the project name, and it holds every feature view of that entity, one hash
field per feature (the murmur3 hash of ``<view>:<feature>``, a serialized ``ValueProto``)
and one ``_ts:<view>`` field per view. :class:`OnlineReader` builds the same keys and
field names with Feast's helpers and reads a whole batch with one HMGET per distinct
entity, all in one pipelined round trip. Values are decoded as the Feast SDK decodes them,
so :meth:`OnlineReader.read` returns what ``features.store.online_features`` returns for
the same view features. :func:`request_time_features` adds the on-demand features by
calling the on-demand view's own function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast

import pandas as pd
from feast import FeatureStore
from feast.infra.online_stores.helpers import _mmh3, _redis_key, compute_versioned_name
from feast.infra.online_stores.redis import RedisOnlineStoreConfig
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import feast_value_type_to_python_type, python_values_to_proto_values
from feast.value_type import ValueType
from google.protobuf.timestamp_pb2 import Timestamp
from redis import Redis

from features.errors import FeatureRepoError
from features.fields import CUSTOMER_LOCATION, OFFER_REQUEST, REQUEST_TIME, SAILING_STATE
from features.on_demand import offer_context
from features.sources import VIEW_SPECS
from features.store import SCORING_SERVICE, feature_store
from features.views import feature_view_name
from offers.settings import Settings

CUSTOMER_ID = "customer_id"
SAILING_ID = "sailing_id"

LIST_ATTRIBUTES = {
    ValueType.DOUBLE_LIST: "double_list_val",
    ValueType.INT64_LIST: "int64_list_val",
    ValueType.INT32_LIST: "int32_list_val",
    ValueType.STRING_LIST: "string_list_val",
}
"""The list value types the views may hold, and the ``ValueProto`` field of each."""
LIST_VALUE_TYPES = frozenset(LIST_ATTRIBUTES)

# Inputs of ``offer_context_odfv``: the fields of its source views and of its request.
ON_DEMAND_INPUTS: tuple[str, ...] = tuple(
    f.name for f in (*CUSTOMER_LOCATION, *SAILING_STATE, *OFFER_REQUEST)
)


KEY_CACHE_SIZE = 200_000
"""Entity keys :class:`OnlineReader` remembers before it starts again."""

EVENT_TIME_PREFIX = "event_time:"
"""Columns ``event_time:<view>`` of :meth:`OnlineReader.read` hold the event time of each
customer's row of the view (seconds since the epoch; None without a row)."""


@dataclass(frozen=True, slots=True)
class ViewRead:
    """The features read from one feature view: names, hash fields and value types."""

    view: str
    join_key: str
    names: tuple[str, ...]
    hash_fields: tuple[bytes, ...]
    value_types: tuple[ValueType, ...]
    timestamp_field: bytes
    """The hash field of the row's event time (``_ts:<view>``, a protobuf Timestamp)."""


@dataclass(frozen=True, slots=True)
class EntityRead:
    """Everything read from the hash of one entity: the fields of all its views."""

    join_key: str
    value_type: ValueType
    names: tuple[str, ...]
    hash_fields: tuple[bytes, ...]
    value_types: tuple[ValueType, ...]
    timestamp_columns: tuple[str, ...] = ()
    timestamp_fields: tuple[bytes, ...] = ()


def view_features(
    features: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Feature view name -> feature names: ``features``, or every field of ``fields``."""
    if features is not None:
        return {view: tuple(names) for view, names in features.items()}
    return {feature_view_name(spec): tuple(f.name for f in spec.fields) for spec in VIEW_SPECS}


def service_view_features(
    store: FeatureStore, service_name: str = SCORING_SERVICE
) -> dict[str, tuple[str, ...]]:
    """The features a feature service takes from the regular feature views (the on-demand
    views it also reads are computed by :func:`request_time_features`)."""
    views = {feature_view_name(spec) for spec in VIEW_SPECS}
    service = store.get_feature_service(service_name)
    return {
        projection.name: tuple(field.name for field in projection.features)
        for projection in service.feature_view_projections
        if projection.name in views
    }


def plan_view_reads(
    store: FeatureStore, features: Mapping[str, Sequence[str]]
) -> tuple[ViewRead, ...]:
    """Hash field names and value types of ``features``, as the registered views define
    them (with the versioned view name when online view versioning is on)."""
    versioning = store.config.registry.enable_online_feature_view_versioning
    join_keys = {feature_view_name(spec): spec.join_key for spec in VIEW_SPECS}
    reads = []
    for view, names in features.items():
        if view not in join_keys:
            raise FeatureRepoError(f"{view!r} is not a feature view of the repository")
        fv = store.get_feature_view(view)
        types = {field.name: field.dtype.to_value_type() for field in fv.features}
        unknown = [name for name in names if name not in types]
        if unknown:
            raise FeatureRepoError(f"{view} has no feature {', '.join(unknown)}")
        prefix: str = compute_versioned_name(fv, versioning)
        reads.append(
            ViewRead(
                view=view,
                join_key=join_keys[view],
                names=tuple(names),
                hash_fields=tuple(cast(bytes, _mmh3(f"{prefix}:{name}")) for name in names),
                value_types=tuple(types[name] for name in names),
                timestamp_field=f"_ts:{prefix}".encode(),
            )
        )
    return tuple(reads)


def _entity_read(
    store: FeatureStore, join_key: str, views: Sequence[ViewRead], event_times: bool
) -> EntityRead:
    entity = next((e for e in store.list_entities() if e.join_key == join_key), None)
    if entity is None:
        raise FeatureRepoError(f"no registered entity has the join key {join_key!r}")
    return EntityRead(
        join_key=join_key,
        value_type=entity.value_type,
        names=tuple(name for view in views for name in view.names),
        hash_fields=tuple(field for view in views for field in view.hash_fields),
        value_types=tuple(value_type for view in views for value_type in view.value_types),
        timestamp_columns=tuple(EVENT_TIME_PREFIX + v.view for v in views if event_times),
        timestamp_fields=tuple(v.timestamp_field for v in views if event_times),
    )


def decode_timestamp(raw: bytes | None) -> float | None:
    """A ``_ts:<view>`` hash field as seconds since the epoch; None when absent."""
    if not raw:
        return None
    stamp = Timestamp.FromString(raw)
    return int(stamp.seconds) + int(stamp.nanos) / 1e9


def decode_value(raw: bytes | None, value_type: ValueType) -> Any:
    """One hash field as the Feast SDK returns it: ``None`` when absent or empty."""
    if not raw:
        return None
    return feast_value_type_to_python_type(ValueProto.FromString(raw), value_type)


Decoder = Callable[[bytes | None], Any]

SCALAR_ATTRIBUTES = {
    ValueType.DOUBLE: "double_val",
    ValueType.INT64: "int64_val",
    ValueType.STRING: "string_val",
}


def value_decoder(value_type: ValueType) -> Decoder:
    """:func:`decode_value` for one value type, without Feast's dispatch on every value
    for the types the views use: the value the protobuf holds in the field of that type
    (a list's items as a list). A value held in another field, or another value type,
    goes through Feast's own conversion."""
    scalar, listed = SCALAR_ATTRIBUTES.get(value_type), LIST_ATTRIBUTES.get(value_type)
    if scalar is None and listed is None:
        return lambda raw: decode_value(raw, value_type)
    parse = ValueProto.FromString

    def decode(raw: bytes | None) -> Any:
        if not raw:
            return None
        proto = parse(raw)
        held = proto.WhichOneof("val")
        if held is None:
            return None
        if held == scalar:
            return getattr(proto, held)
        if held == listed:
            return list(getattr(proto, held).val)
        return feast_value_type_to_python_type(proto, value_type)

    return decode


class OnlineReader:
    """Reads feature view values of (customer, sailing) pairs from Feast's Redis hashes.

    ``features`` maps feature view names to the features to read; by default every field
    of ``features.fields`` (see :func:`service_view_features` for a feature service's).
    With ``event_times``, :meth:`read` also returns each row's event time, in the columns
    ``event_time:<view>`` (:data:`EVENT_TIME_PREFIX`): a caller can tell whether a row
    already holds the effect of an event it just saw.
    """

    def __init__(
        self,
        store: FeatureStore,
        client: Redis,
        features: Mapping[str, Sequence[str]] | None = None,
        *,
        event_times: bool = False,
    ) -> None:
        if not isinstance(store.config.online_store, RedisOnlineStoreConfig):
            raise FeatureRepoError("the online store of the Feast repository is not Redis")
        self._client = client
        self._project: str = store.config.project
        self._key_version: int = store.config.entity_key_serialization_version
        self.views = plan_view_reads(store, view_features(features))
        self._entities = tuple(
            _entity_read(store, key, [v for v in self.views if v.join_key == key], event_times)
            for key in (CUSTOMER_ID, SAILING_ID)
        )
        self.columns: tuple[str, ...] = (
            CUSTOMER_ID,
            SAILING_ID,
            *(name for entity in self._entities for name in entity.names),
            *(name for entity in self._entities for name in entity.timestamp_columns),
        )
        self._list_columns = frozenset(
            name
            for view in self.views
            for name, value_type in zip(view.names, view.value_types, strict=True)
            if value_type in LIST_VALUE_TYPES
        )
        self._decoders = tuple(
            tuple(value_decoder(value_type) for value_type in entity.value_types)
            for entity in self._entities
        )
        self._keys: dict[tuple[str, str], bytes] = {}

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        features: Mapping[str, Sequence[str]] | None = None,
        *,
        event_times: bool = False,
    ) -> OnlineReader:
        """A reader on the settings' Feast repository and Redis."""
        client = Redis.from_url(settings.redis_url)
        return cls(feature_store(settings), client, features, event_times=event_times)

    def __enter__(self) -> OnlineReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def redis_keys(self, join_key: str, entity_values: Sequence[ValueProto]) -> list[bytes]:
        """The Redis keys of entities, as ``RedisOnlineStore`` builds them."""
        return [
            _redis_key(
                self._project,
                EntityKeyProto(join_keys=[join_key], entity_values=[value]),
                entity_key_serialization_version=self._key_version,
            )
            for value in entity_values
        ]

    def entity_keys(self, join_key: str, value_type: ValueType, ids: Sequence[str]) -> list[bytes]:
        """The Redis keys of ``ids``, remembered (up to :data:`KEY_CACHE_SIZE` of them):
        customers and sailings come back batch after batch."""
        known = self._keys
        if len(known) > KEY_CACHE_SIZE:
            known.clear()
        missing = [i for i in ids if (join_key, i) not in known]
        if missing:
            values = python_values_to_proto_values(missing, value_type)
            for entity_id, key in zip(missing, self.redis_keys(join_key, values), strict=True):
                known[join_key, entity_id] = key
        return [known[join_key, i] for i in ids]

    def hmget_commands(
        self, customer_ids: Sequence[str], sailing_ids: Sequence[str]
    ) -> list[tuple[bytes, list[bytes]]]:
        """The (key, hash fields) of each distinct entity of the pairs, customers first."""
        commands: list[tuple[bytes, list[bytes]]] = []
        for entity, ids in zip(self._entities, (customer_ids, sailing_ids), strict=True):
            if not entity.hash_fields:
                continue
            distinct = list(dict.fromkeys(ids))
            keys = self.entity_keys(entity.join_key, entity.value_type, distinct)
            fields = [*entity.hash_fields, *entity.timestamp_fields]
            commands.extend((key, fields) for key in keys)
        return commands

    def read(self, customer_ids: Sequence[str], sailing_ids: Sequence[str]) -> dict[str, list[Any]]:
        """Column name -> values of each (customer, sailing) pair, in input order; a
        feature never written for an entity is ``None``. One round trip to Redis."""
        if len(customer_ids) != len(sailing_ids):
            raise FeatureRepoError("customer_ids and sailing_ids differ in length")
        commands = self.hmget_commands(customer_ids, sailing_ids)
        replies: list[list[bytes | None]] = []
        if commands:
            with self._client.pipeline(transaction=False) as pipe:
                for key, fields in commands:
                    # redis-py annotates keys as str; Feast's keys are bytes, which it sends as is
                    pipe.hmget(key, fields)  # type: ignore[arg-type]
                replies = pipe.execute()
        result: dict[str, list[Any]] = {
            CUSTOMER_ID: list(customer_ids),
            SAILING_ID: list(sailing_ids),
        }
        offset = 0
        for entity, decoders, ids in zip(
            self._entities, self._decoders, (customer_ids, sailing_ids), strict=True
        ):
            if not entity.hash_fields:
                continue
            distinct = list(dict.fromkeys(ids))
            width = len(decoders)
            rows = {
                entity_id: (
                    *(decode(raw) for decode, raw in zip(decoders, reply, strict=False)),
                    *(decode_timestamp(raw) for raw in reply[width:]),
                )
                for entity_id, reply in zip(
                    distinct, replies[offset : offset + len(distinct)], strict=True
                )
            }
            offset += len(distinct)
            names = (*entity.names, *entity.timestamp_columns)
            columns = list(zip(*(rows[entity_id] for entity_id in ids), strict=True))
            for j, name in enumerate(names):
                column = list(columns[j]) if columns else []
                if name in self._list_columns:
                    column = [None if v is None else list(v) for v in column]
                result[name] = column
        return result


def request_time_features(
    features: Mapping[str, Sequence[Any]], requests: Sequence[Mapping[str, Any]]
) -> dict[str, list[float | None]]:
    """The ``fields.REQUEST_TIME`` features of each pair, from the view features of
    :meth:`OnlineReader.read` and the ``fields.OFFER_REQUEST`` values of each request.

    Computed by ``offer_context``, the on-demand view's function; a NaN result is
    ``None``, as the Feast SDK returns it.
    """
    inputs: dict[str, list[Any]] = {
        name: list(values) for name, values in features.items() if name in ON_DEMAND_INPUTS
    }
    for field in OFFER_REQUEST:
        inputs[field.name] = [request[field.name] for request in requests]
    if len({len(values) for values in inputs.values()}) > 1:
        raise FeatureRepoError("features and requests differ in length")
    try:
        # a mapping of lists serves offer_context as well as a frame, at a fraction of the cost
        frame = offer_context(cast(pd.DataFrame, inputs))
    except KeyError as exc:
        raise FeatureRepoError(f"the on-demand features need the feature {exc}") from exc
    return {
        field.name: [None if math.isnan(v) else v for v in frame[field.name].tolist()]
        for field in REQUEST_TIME
    }
