"""The official Twilio client, pointed at a sandbox instead of ``api.twilio.com``.

The engine's own :class:`~streams.delivery.providers.TwilioHttpClient` does the
redirection; this module only names it for the sandbox.
"""

from __future__ import annotations

from typing import Any

from twilio.rest import Client

from streams.delivery.providers import TwilioHttpClient, twilio_rest_client


class SandboxHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client (``requests``), with requests for ``api.twilio.com`` sent
    to the sandbox at ``base_url``. A request for any other Twilio host fails rather than
    go out."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)

    @property
    def base_url(self) -> str:
        return self.api_base


def twilio_client(base_url: str, account_sid: str, auth_token: str, **http_options: Any) -> Client:
    """A :class:`twilio.rest.Client` whose Messages API calls reach the sandbox at
    ``base_url``; ``http_options`` go to :class:`TwilioHttpClient` (``timeout``, …)."""
    return twilio_rest_client(account_sid, auth_token, SandboxHttpClient(base_url, **http_options))
