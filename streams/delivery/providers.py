"""Where each message provider is reached, and with which credentials.

Three providers, each an API with its own credentials and its own throughput:

- Twilio's Messages API sends SMS (:class:`TwilioAccount`);
- Meta's WhatsApp Cloud API and Messenger Send API, both under the Graph API, send
  WhatsApp and Messenger messages (:class:`GraphAccount`).

All of it comes from the settings: production reaches the real hosts
(``https://api.twilio.com``, ``https://graph.facebook.com``), the demo and the tests the
provider sandbox, by setting ``OFFERS_TWILIO_API_BASE`` and ``OFFERS_GRAPH_API_BASE`` to
its URL. The Graph API takes any base URL as it is; the official ``twilio`` client always
builds ``https://api.twilio.com/...`` URLs, so :class:`TwilioHttpClient` moves them onto
the configured base, and leaves them alone when the base is the real one.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx
from pydantic import SecretStr
from twilio.http import http_client as twilio_http
from twilio.rest import Client

from offers.contracts import Channel
from offers.settings import GRAPH_API_BASE, TWILIO_API_BASE, Settings

__all__ = [
    "GRAPH_API_BASE",
    "PROVIDER_OF",
    "TWILIO_API_BASE",
    "GraphAccount",
    "Provider",
    "TwilioAccount",
    "TwilioHttpClient",
    "graph_http_client",
    "send_rates",
    "twilio_rest_client",
]


class Provider(StrEnum):
    """An API messages are sent through; each has its own credentials and rate limit."""

    TWILIO = "twilio"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"


PROVIDER_OF: Mapping[Channel, Provider] = {
    Channel.SMS: Provider.TWILIO,
    Channel.WHATSAPP: Provider.WHATSAPP,
    Channel.MESSENGER: Provider.MESSENGER,
}
"""The provider each channel is sent through. Push notifications have none here: the
mobile app's push service is not a message provider of this package."""


class TwilioHttpClient(twilio_http.TwilioHttpClient):  # type: ignore[misc]
    """Twilio's own HTTP client (``requests``), sending the API's requests to ``api_base``.

    With the real base nothing is changed. With any other base (the provider sandbox), a
    request for ``https://api.twilio.com/...`` goes to the same path under ``api_base``,
    and a request for any other Twilio host fails rather than go out.

    The headers of the last answer each thread received are kept (:meth:`last_headers`):
    the ``twilio`` client drops them from its errors, and a 429's ``Retry-After`` is
    among them.
    """

    def __init__(self, api_base: str = TWILIO_API_BASE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_base = api_base.rstrip("/")
        self._answers = threading.local()

    @property
    def rebased(self) -> bool:
        """Whether requests are moved off ``api.twilio.com``."""
        return self.api_base != TWILIO_API_BASE

    def rebase(self, url: str) -> str:
        """Where a request the client built for ``url`` is sent."""
        if not self.rebased:
            return url
        if url != TWILIO_API_BASE and not url.startswith(TWILIO_API_BASE + "/"):
            raise ValueError(f"{self.api_base} serves only {TWILIO_API_BASE}, not {url}")
        return self.api_base + url[len(TWILIO_API_BASE) :]

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._answers.headers = {}
        response = super().request(method, self.rebase(url), *args, **kwargs)
        self._answers.headers = response.headers
        return response

    def last_headers(self) -> Mapping[str, str]:
        """Headers of the last answer this thread received (names in any case), or an
        empty mapping when the last request got none."""
        headers: Mapping[str, str] = getattr(self._answers, "headers", {})
        return headers


def twilio_rest_client(account_sid: str, auth_token: str, http_client: TwilioHttpClient) -> Client:
    """The official :class:`twilio.rest.Client` for an account, over ``http_client``.

    When requests are rebased, ``TWILIO_EDGE`` and ``TWILIO_REGION`` in the environment
    are ignored: they would name other hosts than ``api.twilio.com``.
    """
    client = Client(account_sid, auth_token, http_client=http_client)
    if http_client.rebased:
        client.edge = None
        client.region = None
    return client


@dataclass(frozen=True, slots=True)
class TwilioAccount:
    """The Twilio account SMS are sent from, and where its API is reached."""

    api_base: str
    account_sid: str
    auth_token: SecretStr = field(repr=False)
    sender: str
    """An E.164 number, a short code, an alphanumeric sender ID, or a Messaging Service
    SID (``MG...``)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioAccount:
        return cls(
            api_base=settings.twilio_api_base,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            sender=settings.twilio_sender,
        )

    @property
    def sender_is_service(self) -> bool:
        """Whether the sender is a Messaging Service (sent as ``MessagingServiceSid``)."""
        return self.sender.startswith("MG")

    def http_client(self, timeout_s: float) -> TwilioHttpClient:
        """A new HTTP client for this account's API; no retries of its own."""
        return TwilioHttpClient(self.api_base, timeout=timeout_s)

    def rest_client(self, http_client: TwilioHttpClient) -> Client:
        return twilio_rest_client(self.account_sid, self.auth_token.get_secret_value(), http_client)


@dataclass(frozen=True, slots=True)
class GraphAccount:
    """The WhatsApp phone number and the Messenger page offers are sent from, and where
    the Graph API is reached."""

    api_base: str
    version: str
    whatsapp_phone_number_id: str
    whatsapp_token: SecretStr = field(repr=False)
    messenger_token: SecretStr = field(repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> GraphAccount:
        return cls(
            api_base=settings.graph_api_base,
            version=settings.graph_api_version,
            whatsapp_phone_number_id=settings.whatsapp_phone_number_id,
            whatsapp_token=settings.whatsapp_access_token,
            messenger_token=settings.messenger_page_token,
        )

    @property
    def whatsapp_url(self) -> str:
        """The Cloud API's send endpoint of the phone number."""
        return f"{self.api_base}/{self.version}/{self.whatsapp_phone_number_id}/messages"

    @property
    def messenger_url(self) -> str:
        """The Send API's endpoint of the page the token belongs to."""
        return f"{self.api_base}/{self.version}/me/messages"


def graph_http_client(timeout_s: float) -> httpx.AsyncClient:
    """An HTTP client for the Graph API: ``timeout_s`` for connecting and for each read
    and write, no redirects followed (an API answer is never a redirect)."""
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False)


def send_rates(settings: Settings) -> dict[Provider, float]:
    """Messages per second one worker may send to each provider."""
    return {
        Provider.TWILIO: settings.twilio_send_rate,
        Provider.WHATSAPP: settings.whatsapp_send_rate,
        Provider.MESSENGER: settings.messenger_send_rate,
    }
