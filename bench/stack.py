"""The local stack of a benchmark: Kafka and Redis on free ports in a temporary directory,
stopped and deleted when the benchmark is done."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from offers.settings import Settings
from offers.stack import LocalStack


@contextmanager
def temporary_stack() -> Iterator[tuple[Settings, Path]]:
    """Settings pointed at a fresh stack, and the directory that holds its data."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = Settings(
            stack_kafka_port=0, stack_redis_port=0, stack_dir=root, feast_data_dir=root / "feast"
        )
        with LocalStack(settings, root) as stack:
            yield stack.configured(), root
