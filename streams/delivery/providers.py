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

Both clients obey the outbound policy (:mod:`offers.outbound`): the settings refuse a
base whose host is not allowed, the clients resolve it when they are built and refuse
it if any of its addresses is not public (unless ``OFFERS_OUTBOUND_ALLOW_PRIVATE``), and
check again as they go, because a name may resolve elsewhere later (DNS rebinding):

- the Graph API client (``httpx``) checks on each new connection, and connects to the
  very address it checked (:class:`VettedTransport`): a rebinding is caught at no cost
  but one lookup per connection, and connections are pooled;
- Twilio's client (``requests``, inside the official ``twilio`` package) checks the
  host's addresses before each request (:meth:`TwilioHttpClient.request`), one lookup
  per request, which the resolver's cache answers; ``urllib3`` then resolves the name
  again to connect, so an answer changed within those milliseconds is not seen.
  Checking at the connection itself would mean replacing ``urllib3``'s private
  connection code, for an API called at ``OFFERS_TWILIO_SEND_RATE`` (ten requests a
  second by default).

Neither client uses the proxies of the environment (``HTTPS_PROXY``): the policy judges
the addresses the engine connects to, which a proxy would hide.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio.to_thread
import httpcore
import httpx
import requests
from pydantic import SecretStr
from twilio.http import http_client as twilio_http
from twilio.rest import Client

from offers.contracts import Channel
from offers.outbound import OutboundPolicy
from offers.settings import DEFAULT_OUTBOUND_HOSTS, GRAPH_API_BASE, TWILIO_API_BASE, Settings

__all__ = [
    "GRAPH_API_BASE",
    "PROVIDER_OF",
    "TWILIO_API_BASE",
    "GraphAccount",
    "Provider",
    "TwilioAccount",
    "TwilioHttpClient",
    "VettedTransport",
    "graph_http_client",
    "send_rates",
    "twilio_rest_client",
    "vet_base",
]

log = logging.getLogger(__name__)

DEFAULT_POLICY = OutboundPolicy(DEFAULT_OUTBOUND_HOSTS)
"""Twilio's and Meta's hosts at public addresses: what an account obeys by default."""


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

    With a ``policy``, the host of every request is checked against it, its addresses
    resolved, before the request goes out (see the module's docstring), and the
    environment's proxies are not used.

    The headers of the last answer each thread received are kept (:meth:`last_headers`):
    the ``twilio`` client drops them from its errors, and a 429's ``Retry-After`` is
    among them. Requests are logged at debug level, without their query (a message
    lookup names the recipient's number there).
    """

    def __init__(
        self,
        api_base: str = TWILIO_API_BASE,
        policy: OutboundPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.api_base = api_base.rstrip("/")
        self.policy = policy
        if policy is not None and self.session is not None:
            self.session.trust_env = False
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
        target = self.rebase(url)
        if self.policy is not None:
            shown = _without_query(target)
            try:
                self.policy.check_url(shown)
            except OSError as error:  # as requests reports a name that does not resolve
                raise requests.ConnectionError(f"{shown}: {error}") from error
        response = super().request(method, target, *args, **kwargs)
        self._answers.headers = response.headers
        return response

    def log_request(self, kwargs: dict[str, Any]) -> None:
        self.logger.debug("%s %s", kwargs["method"], _without_query(kwargs["url"]))

    def log_response(self, status_code: int, response: Any) -> None:
        self.logger.debug("answered HTTP %s", status_code)

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
    policy: OutboundPolicy = DEFAULT_POLICY
    """The hosts and addresses the API may be reached at."""

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioAccount:
        return cls(
            api_base=settings.twilio_api_base,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            sender=settings.twilio_sender,
            policy=OutboundPolicy.from_settings(settings),
        )

    @property
    def sender_is_service(self) -> bool:
        """Whether the sender is a Messaging Service (sent as ``MessagingServiceSid``)."""
        return self.sender.startswith("MG")

    def http_client(self, timeout_s: float) -> TwilioHttpClient:
        """A new HTTP client for this account's API, its base checked against the policy
        (:func:`vet_base`); no retries of its own."""
        vet_base(self.policy, self.api_base)
        return TwilioHttpClient(self.api_base, self.policy, timeout=timeout_s)

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
    policy: OutboundPolicy = DEFAULT_POLICY
    """The hosts and addresses the API may be reached at."""

    @classmethod
    def from_settings(cls, settings: Settings) -> GraphAccount:
        return cls(
            api_base=settings.graph_api_base,
            version=settings.graph_api_version,
            whatsapp_phone_number_id=settings.whatsapp_phone_number_id,
            whatsapp_token=settings.whatsapp_access_token,
            messenger_token=settings.messenger_page_token,
            policy=OutboundPolicy.from_settings(settings),
        )

    @property
    def whatsapp_url(self) -> str:
        """The Cloud API's send endpoint of the phone number."""
        return f"{self.api_base}/{self.version}/{self.whatsapp_phone_number_id}/messages"

    @property
    def messenger_url(self) -> str:
        """The Send API's endpoint of the page the token belongs to."""
        return f"{self.api_base}/{self.version}/me/messages"


def vet_base(policy: OutboundPolicy, api_base: str) -> None:
    """Check ``api_base`` against ``policy`` as a client for it is built: its host
    allowed, and each address it resolves to. Raises
    :class:`~offers.errors.OutboundUrlRefused`; a name that does not resolve now is only
    logged, since every connection checks it again."""
    try:
        policy.check_url(api_base)
    except OSError as error:
        log.warning("%s does not resolve now (%s); checked again on each call", api_base, error)


class _VettedBackend(httpcore.AsyncNetworkBackend):
    """Opens connections only to addresses the policy allows: the host is resolved,
    every address checked, and the connection made to a checked address, never to the
    name (which could resolve elsewhere by then). TLS still verifies the certificate
    against the name: ``httpcore`` passes it as the server name after connecting."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await anyio.to_thread.run_sync(self._policy.vetted_addresses, host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"{host}: {error}") from error
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._network.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as error:
                failure = error
        assert failure is not None  # vetted_addresses returns one address at least
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError(f"no Unix socket is called: {path}")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


class VettedTransport(httpx.AsyncHTTPTransport):
    """``httpx``'s own transport, whose connections go through the outbound policy (see
    :class:`_VettedBackend`); a refused host raises
    :class:`~offers.errors.OutboundUrlRefused` from the request. No proxy of the
    environment is used."""

    def __init__(self, policy: OutboundPolicy) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(limits=limits, trust_env=False)
        # httpx takes no network backend; its pool is replaced by one that has ours
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_VettedBackend(policy),
        )


def graph_http_client(timeout_s: float, policy: OutboundPolicy | None = None) -> httpx.AsyncClient:
    """An HTTP client for the Graph API: ``timeout_s`` for connecting and for each read
    and write, no redirects followed (an API answer is never a redirect); with a
    ``policy``, every connection is checked against it (:class:`VettedTransport`)."""
    transport = VettedTransport(policy) if policy is not None else None
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s), follow_redirects=False, transport=transport
    )


def send_rates(settings: Settings) -> dict[Provider, float]:
    """Messages per second one worker may send to each provider."""
    return {
        Provider.TWILIO: settings.twilio_send_rate,
        Provider.WHATSAPP: settings.whatsapp_send_rate,
        Provider.MESSENGER: settings.messenger_send_rate,
    }


def _without_query(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query="", fragment=""))
