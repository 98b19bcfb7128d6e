"""A configured Feast ``FeatureStore``, applying the repository, pushing rows, reading.

The configuration is ``feature_store.yaml`` with its two variables filled from the
settings (never from the process environment): ``FEAST_REDIS_CONNECTION`` from
``OFFERS_REDIS_URL`` and ``FEAST_DATA_DIR`` from ``OFFERS_FEAST_DATA_DIR``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from feast import FeatureStore, RepoConfig

from features.errors import FeatureRepoError
from features.repo import feature_repo
from features.sources import ensure_offline_dirs
from features.writer import FeatureWriter
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
    they were computed, so that row is the key's current one). A caller that pushes
    often keeps one :class:`~features.writer.FeatureWriter` instead (this builds one).

    Each row has the view's join key, every field of the view and ``event_timestamp``
    (a timezone-aware datetime or epoch seconds); other keys are ignored.
    """
    FeatureWriter(store).write(push_source_name, rows, to_offline)


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
