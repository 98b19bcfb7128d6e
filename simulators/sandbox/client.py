"""The official Twilio client, pointed at a sandbox instead of ``api.twilio.com``."""

from __future__ import annotations

from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TWILIO_API_ORIGIN = "https://api.twilio.com"


class SandboxHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Twilio's own HTTP client (``requests``), with requests for ``api.twilio.com`` sent
    to the sandbox. A request for any other Twilio host fails rather than go out."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url != TWILIO_API_ORIGIN and not url.startswith(TWILIO_API_ORIGIN + "/"):
            raise ValueError(f"the sandbox serves only {TWILIO_API_ORIGIN}, not {url}")
        return super().request(
            method, self.base_url + url[len(TWILIO_API_ORIGIN) :], *args, **kwargs
        )


def twilio_client(base_url: str, account_sid: str, auth_token: str, **http_options: Any) -> Client:
    """A :class:`twilio.rest.Client` whose Messages API calls reach the sandbox at
    ``base_url``; ``http_options`` go to :class:`TwilioHttpClient` (``timeout``, …)."""
    client = Client(
        account_sid, auth_token, http_client=SandboxHttpClient(base_url, **http_options)
    )
    client.edge = None  # TWILIO_EDGE / TWILIO_REGION in the environment would change the host
    client.region = None
    return client
