"""A customer's features, erased: the hash of its entity in Feast's Redis online store and
its rows in the offline logs of the views keyed by customers.

Feast's Redis online store keeps one hash per entity, under the serialized entity key
followed by the project's name, and that hash holds every feature view keyed by the
entity (``features.online``). :func:`online_keys` builds those keys as
``RedisOnlineStore`` does, with Feast's own key functions and the repository's
configuration (``features.store.repo_config``: project, entity key serialization
version): one per join key of the views keyed by customers. The offline rows are removed
by rewriting the parts of each view's log that hold them
(:func:`features.sources.erase_offline_rows`).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import cast

from feast.infra.online_stores.helpers import _redis_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.type_map import python_values_to_proto_values
from redis import Redis

from features.entities import customer
from features.sources import VIEW_SPECS, ViewSpec, erase_offline_rows
from features.store import repo_config
from offers.settings import Settings

CUSTOMER_VIEWS: tuple[ViewSpec, ...] = tuple(
    spec for spec in VIEW_SPECS if spec.join_key == customer.join_key
)
"""The feature views keyed by customers."""


def online_keys(project: str, key_version: int, customer_id: str) -> list[bytes]:
    """The Redis keys of the customer's rows in Feast's online store of ``project``: one
    per distinct join key of :data:`CUSTOMER_VIEWS`, as ``RedisOnlineStore`` builds it."""
    (value,) = python_values_to_proto_values([customer_id], customer.value_type)
    join_keys = sorted({spec.join_key for spec in CUSTOMER_VIEWS})
    return [
        _redis_key(
            project,
            EntityKeyProto(join_keys=[join_key], entity_values=[value]),
            entity_key_serialization_version=key_version,
        )
        for join_key in join_keys
    ]


class FeatureErasure:
    """Erases customers' rows from the settings' Feast online store (Redis) and offline
    logs (the parquet parts under ``OFFERS_FEAST_DATA_DIR``)."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        config = repo_config(settings)
        self._project: str = config.project
        self._key_version: int = config.entity_key_serialization_version
        self._data_dir: Path = settings.feast_data_dir
        self._redis = redis

    def online_keys(self, customer_id: str) -> list[bytes]:
        return online_keys(self._project, self._key_version, customer_id)

    def holds_online(self, customer_id: str) -> bool:
        """Whether the online store holds a row of the customer."""
        return bool(self._redis.exists(*self.online_keys(customer_id)))

    def erase_online(self, customer_id: str) -> int:
        """Delete the customer's online rows (every view keyed by customers); how many
        keys there were."""
        return cast(int, self._redis.delete(*self.online_keys(customer_id)))

    def erase_offline(self, customer_ids: Collection[str]) -> int:
        """Remove the customers' rows from the offline log of every view keyed by
        customers; how many rows there were."""
        return sum(
            erase_offline_rows(spec, spec.offline_dir(self._data_dir), customer_ids)
            for spec in CUSTOMER_VIEWS
            if spec.offline_dir(self._data_dir).is_dir()
        )
