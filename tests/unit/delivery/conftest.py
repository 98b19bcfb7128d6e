"""A provider sandbox served once per test module, settings that point at it, and no
``OFFERS_*`` variable from the outer environment."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from offers.settings import Settings
from simulators.sandbox import Sandbox, SandboxConfig, running_sandbox

FAST = SandboxConfig(callback_delay_s=0.0, retry_after_s=7)
"""No delivery delays, and a Retry-After that no backoff draw would produce."""


def sandbox_settings(sandbox: Sandbox, **overrides: Any) -> Settings:
    """Settings whose providers are the sandbox, with its credentials; the sandbox's
    host, 127.0.0.1, allowed as an outbound host at a private address."""
    assert sandbox.base_url is not None
    config = sandbox.config
    values: dict[str, Any] = {
        "environment": "test",
        "outbound_allowed_hosts": ["127.0.0.1"],
        "outbound_allow_private": True,
        "twilio_api_base": sandbox.base_url,
        "twilio_account_sid": config.account_sid,
        "twilio_auth_token": SecretStr(config.auth_token),
        "twilio_sender": config.twilio_number,
        "graph_api_base": sandbox.base_url,
        "whatsapp_phone_number_id": config.whatsapp_phone_number_id,
        "whatsapp_access_token": SecretStr(config.whatsapp_token),
        "messenger_page_token": SecretStr(config.messenger_page_token),
        "send_timeout_seconds": 2.0,
    }
    return Settings(**(values | overrides))


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``OFFERS_*`` variable from the outer environment leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("OFFERS_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def served() -> Iterator[Sandbox]:
    with running_sandbox(FAST) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(served: Sandbox) -> Sandbox:
    """The module's sandbox, emptied and reconfigured with :data:`FAST`."""
    served.reset(FAST)
    return served


@pytest.fixture
def settings(sandbox: Sandbox) -> Settings:
    return sandbox_settings(sandbox)
