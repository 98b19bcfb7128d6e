"""The API on the session's real stack, through FastAPI's TestClient, with tokens per role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from fastapi.testclient import TestClient

from offers.roles import Role
from offers.settings import Settings
from offers_api.main import create_app
from offers_api.security import issue_token


def bearer(settings: Settings, subject: str, role: Role) -> dict[str, str]:
    token = issue_token(settings, subject, role, timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def api(settings: Settings) -> Iterator[TestClient]:
    """A running app (its lifespan started and stopped around the block)."""
    with TestClient(create_app(settings)) as client:
        yield client
