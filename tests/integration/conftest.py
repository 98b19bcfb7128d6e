"""A real Kafka broker and a real Redis, started once per test run by the project's own
stack code, on free ports, in a temporary directory; stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from offers.settings import Settings
from offers.stack import LocalStack
from tests.integration.stacks import stack_settings_in


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    root: Path = tmp_path_factory.mktemp("stack")
    with LocalStack(stack_settings_in(root), root) as stack:
        yield stack


@pytest.fixture(scope="session")
def stack_settings(local_stack: LocalStack) -> Settings:
    """Settings pointed at the running test stack."""
    return local_stack.configured()


@pytest.fixture
def redis(stack_settings: Settings) -> Iterator[Redis]:
    """A client of the stack's Redis, closed after the test."""
    client = Redis.from_url(stack_settings.redis_url)
    yield client
    client.close()
