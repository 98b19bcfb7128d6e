"""Schemathesis against the app's own OpenAPI spec: the app served by uvicorn on the real
broker and Redis, and for generated requests to every operation, no 5xx and no response
that breaks the spec.

Every built-in check runs but ``positive_data_acceptance``: a campaign has rules across
fields (a schedule's end after its start, an upgrade offer naming its upgrade) that JSON
Schema cannot state, so data valid by the schema alone may rightly get a 422.

The activity's event stream is left out: its answer never ends, so it cannot be read
whole (tests/integration/test_api_activity.py reads it).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from offers.roles import Role
from offers.settings import Settings
from offers_api.main import create_app
from offers_api.security import issue_token

ENDLESS = "/v1/activity/stream"
SCHEMA = schemathesis.openapi.from_dict(create_app().openapi()).exclude(path=ENDLESS)
"""The spec as the app publishes it at /openapi.json (it does not depend on settings),
but the endless stream."""


@pytest.fixture(scope="module")
def base_url(stack_settings: Settings) -> Iterator[str]:
    """The app on a free port, with a rate limit high enough not to throttle the run."""
    unlimited = stack_settings.model_copy(update={"api_rate_per_minute": 1_000_000})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(unlimited), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def admin(stack_settings: Settings) -> dict[str, str]:
    """An admin may call every operation, so requests get past access checks."""
    token = issue_token(stack_settings, "u-schema", Role.ADMIN, timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_to_its_spec(
    case: schemathesis.Case, base_url: str, admin: dict[str, str]
) -> None:
    case.headers = {  # the admin's token, not generated credentials
        name: value
        for name, value in (case.headers or {}).items()
        if name.lower() not in {"authorization", "x-api-key"}
    }
    case.call_and_validate(
        base_url=base_url, headers=admin, excluded_checks=[positive_data_acceptance]
    )
