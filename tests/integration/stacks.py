"""Settings of a local stack for tests: on free ports, with its data under ``root``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from offers.settings import Settings
from offers.stack import LocalStack


def stack_settings_in(root: Path) -> Settings:
    return Settings(
        environment="test",
        stack_kafka_port=0,
        stack_redis_port=0,
        stack_dir=root,
        topic_partitions=4,
        feast_data_dir=root / "feast",
    )


def own_stack_settings(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Settings]:
    """Settings of a stack started for one test module alone, stopped after it: for
    tests whose reference is everything the input topics hold, which other modules'
    events (consent withdrawn, customers erased, the same customers on other days) would
    change."""
    root: Path = tmp_path_factory.mktemp(name)
    with LocalStack(stack_settings_in(root), root) as stack:
        yield stack.configured()
