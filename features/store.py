"""A configured Feast ``FeatureStore``, applying the repository, pushing rows, reading.

The configuration is ``feature_store.yaml`` with its two variables filled from the
settings (never from the process environment): ``FEAST_REDIS_CONNECTION`` from
``OFFERS_REDIS_URL`` and ``FEAST_DATA_DIR`` from ``OFFERS_FEAST_DATA_DIR``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import unquote, urlsplit

import pandas as pd
import yaml
from feast import FeatureStore, FileSource, PushSource, RepoConfig
from feast.data_source import PushMode

from features.errors import FeatureRepoError
from features.repo import feature_repo
from features.sources import (
    EVENT_TIMESTAMP,
    VIEW_BY_PUSH_SOURCE,
    ensure_offline_dirs,
    write_offline_part,
)
from offers.settings import Settings

# Feast warns on every read or push that touches an on-demand view that they are
# experimental; the scoring service has one, so the warning would fill every log.
warnings.filterwarnings(
    "ignore", message="On demand feature view is an experimental feature", category=RuntimeWarning
)

REPO_DIR = Path(__file__).resolve().parent
FEATURE_STORE_YAML = REPO_DIR / "feature_store.yaml"
SCORING_SERVICE = "offer_scoring_v1"


def feast_redis_connection(redis_url: str) -> str:
    """``redis://[user:password@]host:port/db`` in Feast's ``host:port,db=N,...`` form."""
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise FeatureRepoError(f"not a redis:// or rediss:// URL: {redis_url!r}")
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise FeatureRepoError(f"the database of a Redis URL must be a number: {redis_url!r}")
    items = [f"{parts.hostname}:{parts.port or 6379}", f"db={db}"]
    if parts.username:
        items.append(f"username={unquote(parts.username)}")
    if parts.password:
        items.append(f"password={unquote(parts.password)}")
    if parts.scheme == "rediss":
        items.append("ssl=true")
    return ",".join(items)


def yaml_variables(settings: Settings) -> dict[str, str]:
    """Values of the variables of ``feature_store.yaml`` for these settings."""
    return {
        "FEAST_REDIS_CONNECTION": feast_redis_connection(settings.redis_url),
        "FEAST_DATA_DIR": str(settings.feast_data_dir.resolve()),
    }


def repo_config(settings: Settings) -> RepoConfig:
    """``feature_store.yaml`` with its variables filled from the settings."""
    text = Template(FEATURE_STORE_YAML.read_text()).substitute(yaml_variables(settings))
    raw = yaml.safe_load(text)
    config = RepoConfig(**raw)
    config.repo_path = settings.feast_data_dir.resolve()
    return config


def feature_store(settings: Settings) -> FeatureStore:
    """A Feast store on the settings' Redis and data directory."""
    settings.feast_data_dir.mkdir(parents=True, exist_ok=True)
    config = repo_config(settings)
    return FeatureStore(repo_path=str(config.repo_path), config=config)


def apply_feature_repo(settings: Settings) -> None:
    """Register every object of the repository and create the offline files; idempotent."""
    ensure_offline_dirs(settings.feast_data_dir.resolve())
    repo = feature_repo(settings.feast_data_dir.resolve())
    feature_store(settings).apply(repo.objects())


def _utc_timestamps(values: pd.Series) -> pd.Series:
    """Event times as tz-aware UTC datetimes; epoch seconds are accepted too."""
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_datetime(values, unit="s", utc=True)
    for value in values:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise FeatureRepoError(f"{EVENT_TIMESTAMP} must be timezone-aware, got {value!r}")
    return pd.to_datetime(values, utc=True)


def offline_dir(store: FeatureStore, push_source_name: str) -> Path:
    """The offline directory of a push source, as registered (from the cached registry:
    this runs on every flush)."""
    source = store.registry.get_data_source(push_source_name, store.project, allow_cache=True)
    batch = source.batch_source if isinstance(source, PushSource) else None
    if not isinstance(batch, FileSource):
        raise FeatureRepoError(f"{push_source_name} is not a push source over parquet files")
    return Path(batch.path)


def push_rows(
    store: FeatureStore,
    push_source_name: str,
    rows: Sequence[Mapping[str, Any]],
    to_offline: bool = True,
) -> None:
    """Push one micro-batch to a push source: the online store, and the offline log.

    Same effect as Feast's ``PushMode.ONLINE_AND_OFFLINE``, but the offline rows go to a
    new parquet file of the view's log (see ``sources.write_offline_part``), and the
    online store gets only the last row of each key in the batch (rows are in the order
    they were computed, so that row is the key's current one).

    Each row has the view's join key, every field of the view and ``event_timestamp``
    (a timezone-aware datetime or epoch seconds); other keys are ignored.
    """
    spec = VIEW_BY_PUSH_SOURCE.get(push_source_name)
    if spec is None:
        raise FeatureRepoError(f"unknown push source {push_source_name!r}")
    if not rows:
        return
    frame = pd.DataFrame.from_records(list(rows))
    if EVENT_TIMESTAMP not in frame.columns:
        raise FeatureRepoError(f"rows pushed to {push_source_name} need {EVENT_TIMESTAMP}")
    frame[EVENT_TIMESTAMP] = _utc_timestamps(frame[EVENT_TIMESTAMP])
    if to_offline:
        # the log first: a retried batch may then repeat a log row (the same values at
        # the same event time, harmless to point-in-time joins) but never miss one
        write_offline_part(spec, offline_dir(store, push_source_name), frame)
    # the online store keeps one row per key: the batch's last one for that key
    latest = frame.drop_duplicates(subset=[spec.join_key], keep="last")
    store.push(push_source_name, latest, to=PushMode.ONLINE)


def online_features(
    store: FeatureStore,
    customer_ids: Sequence[str],
    sailing_ids: Sequence[str],
    requests: Sequence[Mapping[str, Any]],
    service_name: str = SCORING_SERVICE,
) -> dict[str, list[Any]]:
    """Read the scoring features of (customer, sailing, candidate offer) triples.

    ``requests[i]`` holds the ``fields.OFFER_REQUEST`` values of the i-th pair. Returns
    column name -> values, in the order of the inputs.
    """
    if not len(customer_ids) == len(sailing_ids) == len(requests):
        raise FeatureRepoError("customer_ids, sailing_ids and requests differ in length")
    entity_rows = [
        {"customer_id": c, "sailing_id": s, **r}
        for c, s, r in zip(customer_ids, sailing_ids, requests, strict=True)
    ]
    service = store.get_feature_service(service_name, allow_cache=True)
    result: dict[str, list[Any]] = store.get_online_features(
        features=service, entity_rows=entity_rows
    ).to_dict()
    return result
