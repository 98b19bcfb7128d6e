"""feature_store.yaml and the configuration built from the settings; no services."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from features.errors import FeatureRepoError
from features.store import FEATURE_STORE_YAML, feast_redis_connection, repo_config
from offers.settings import Settings


def test_yaml_names_the_project_redis_and_file_stores() -> None:
    raw = yaml.safe_load(FEATURE_STORE_YAML.read_text())

    assert raw["project"] == "moby_offers"
    assert raw["provider"] == "local"
    assert raw["online_store"] == {
        "type": "redis",
        "connection_string": "${FEAST_REDIS_CONNECTION}",
        # rows are written by the key's one owner in the order it computes them
        "skip_dedup": True,
    }
    assert raw["offline_store"] == {"type": "file"}
    assert raw["registry"]["path"] == "${FEAST_DATA_DIR}/registry.db"
    assert raw["entity_key_serialization_version"] == 3


def test_config_is_filled_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(redis_url="redis://10.0.0.5:6390/2", feast_data_dir=tmp_path / "feast")

    config = repo_config(settings)

    assert config.project == "moby_offers"
    assert config.online_store.type == "redis"
    assert config.online_store.connection_string == "10.0.0.5:6390,db=2"
    assert config.offline_store.type == "file"
    assert config.registry.path == str((tmp_path / "feast" / "registry.db").resolve())
    assert config.entity_key_serialization_version == 3


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:16379/0", "127.0.0.1:16379,db=0"),
        ("redis://cache", "cache:6379,db=0"),
        ("rediss://u:p%40ss@cache:6380/3", "cache:6380,db=3,username=u,password=p@ss,ssl=true"),
    ],
)
def test_redis_url_to_feast_connection_string(url: str, expected: str) -> None:
    assert feast_redis_connection(url) == expected


@pytest.mark.parametrize("url", ["http://cache:6379/0", "redis://cache:6379/x", "redis:///0"])
def test_bad_redis_urls_are_refused(url: str) -> None:
    with pytest.raises(FeatureRepoError):
        feast_redis_connection(url)
