"""Settings of a local stack for tests: on free ports, with its data under ``root``."""

from __future__ import annotations

from pathlib import Path

from offers.settings import Settings


def stack_settings_in(root: Path) -> Settings:
    return Settings(
        environment="test",
        stack_kafka_port=0,
        stack_redis_port=0,
        stack_dir=root,
        topic_partitions=4,
        feast_data_dir=root / "feast",
    )
