"""Where the providers are reached: settings, production checks, the Twilio HTTP client,
and the outbound policy the clients obey."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from pydantic import SecretStr, ValidationError

from offers.contracts import Channel
from offers.errors import OutboundUrlRefused
from offers.outbound import OutboundPolicy
from offers.settings import Settings
from simulators.sandbox import Sandbox
from streams.delivery.adapters import SmsAdapter, WhatsAppAdapter, channel_adapters
from streams.delivery.messages import OutboundMessage
from streams.delivery.providers import (
    GRAPH_API_BASE,
    PROVIDER_OF,
    TWILIO_API_BASE,
    GraphAccount,
    Provider,
    TwilioAccount,
    TwilioHttpClient,
    graph_http_client,
    send_rates,
    twilio_rest_client,
    vet_base,
)
from streams.delivery.results import SendResult
from tests.unit.delivery.conftest import sandbox_settings

PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "secret_key": SecretStr("a-real-secret-0123456789"),
    "twilio_auth_token": SecretStr("real-twilio-token"),
    "twilio_account_sid": "AC" + "1f" * 16,
    "twilio_sender": "MOBY",
    "whatsapp_phone_number_id": "106540352242922",
    "whatsapp_access_token": SecretStr("real-whatsapp-token"),
    "messenger_page_token": SecretStr("real-page-token"),
    "redemption_secret": SecretStr("a-real-redemption-secret"),
    "whatsapp_verify_token": SecretStr("a-real-verify-token"),
    "meta_app_secret": SecretStr("a-real-app-secret"),
}
"""Production settings with every credential set."""

MESSAGES = f"{TWILIO_API_BASE}/2010-04-01/Accounts/AC{'0' * 32}/Messages.json"


def test_by_default_the_real_providers_are_reached() -> None:
    settings = Settings(environment="test")
    twilio = TwilioAccount.from_settings(settings)
    graph = GraphAccount.from_settings(settings)
    assert twilio.api_base == TWILIO_API_BASE == "https://api.twilio.com"
    assert graph.whatsapp_url == f"{GRAPH_API_BASE}/v21.0/{graph.whatsapp_phone_number_id}/messages"
    assert graph.messenger_url == "https://graph.facebook.com/v21.0/me/messages"
    assert "development-only" not in repr(twilio) + repr(graph)


def test_the_sandbox_is_reached_by_setting_the_api_bases() -> None:
    settings = Settings(
        twilio_api_base="http://127.0.0.1:8099/",
        graph_api_base="http://127.0.0.1:8099",
        graph_api_version="v19.0",
        whatsapp_phone_number_id="42",
        outbound_allowed_hosts=["127.0.0.1"],
        outbound_allow_private=True,
    )
    assert TwilioAccount.from_settings(settings).api_base == "http://127.0.0.1:8099"
    graph = GraphAccount.from_settings(settings)
    assert graph.whatsapp_url == "http://127.0.0.1:8099/v19.0/42/messages"


def test_the_real_twilio_base_is_left_alone() -> None:
    client = TwilioHttpClient()
    assert not client.rebased
    assert client.rebase(MESSAGES) == MESSAGES
    assert client.rebase("https://messaging.twilio.com/v1/Services") == (
        "https://messaging.twilio.com/v1/Services"
    )
    assert client.last_headers() == {}


def test_another_twilio_base_moves_requests_there() -> None:
    client = TwilioHttpClient("http://127.0.0.1:8099/")
    assert client.rebased
    assert client.rebase(MESSAGES) == MESSAGES.replace(TWILIO_API_BASE, "http://127.0.0.1:8099")
    with pytest.raises(ValueError, match="serves only https://api.twilio.com"):
        client.rebase("https://messaging.twilio.com/v1/Services")
    rest = twilio_rest_client("AC" + "0" * 32, "token", client)
    assert (rest.edge, rest.region) == (None, None)


def test_a_messaging_service_is_told_from_a_number() -> None:
    def account(sender: str) -> TwilioAccount:
        return TwilioAccount.from_settings(Settings(twilio_sender=sender))

    assert account("MG" + "0" * 32).sender_is_service
    assert not account("+393331234567").sender_is_service
    assert not account("MOBY").sender_is_service


def test_every_channel_but_push_has_a_provider_with_a_rate() -> None:
    rates = send_rates(Settings(twilio_send_rate=1.5))
    assert set(PROVIDER_OF.values()) == set(rates) == set(Provider)
    assert rates[Provider.TWILIO] == 1.5
    assert "push" not in {channel.value for channel in PROVIDER_OF}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("twilio_account_sid", "AC123"),
        ("twilio_sender", "12"),
        ("twilio_sender", "MOBY FERRIES"),
        ("twilio_sender", "+0123"),
        ("twilio_api_base", "api.twilio.com"),
        ("graph_api_base", "ftp://graph.facebook.com"),
        ("graph_api_base", "https://graph.facebook.com/?x=1"),
        ("graph_api_version", "21.0"),
        ("whatsapp_phone_number_id", "abc"),
        ("twilio_send_rate", 0),
        ("send_timeout_seconds", 0),
        ("send_max_attempts", 0),
    ],
)
def test_invalid_provider_settings_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(**{field: value})
    assert [error["loc"] for error in refused.value.errors()] == [(field,)]


def test_production_with_every_credential_set() -> None:
    settings = Settings(**PRODUCTION)
    assert settings.environment == "production"
    assert "real" not in repr(settings)


@pytest.mark.parametrize(
    ("field", "variable"),
    [
        ("twilio_account_sid", "OFFERS_TWILIO_ACCOUNT_SID"),
        ("twilio_sender", "OFFERS_TWILIO_SENDER"),
        ("whatsapp_phone_number_id", "OFFERS_WHATSAPP_PHONE_NUMBER_ID"),
        ("whatsapp_access_token", "OFFERS_WHATSAPP_ACCESS_TOKEN"),
        ("messenger_page_token", "OFFERS_MESSENGER_PAGE_TOKEN"),
        ("redemption_secret", "OFFERS_REDEMPTION_SECRET"),
        ("whatsapp_verify_token", "OFFERS_WHATSAPP_VERIFY_TOKEN"),
        ("meta_app_secret", "OFFERS_META_APP_SECRET"),
    ],
)
def test_production_refuses_each_development_default(field: str, variable: str) -> None:
    values = {name: value for name, value in PRODUCTION.items() if name != field}
    with pytest.raises(ValidationError, match=f"{variable} must be set") as refused:
        Settings(**values)
    assert str(refused.value).count("must be set") == 1


def test_production_names_every_missing_credential_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production")
    assert str(refused.value).count("must be set") == 10


def test_production_reaches_providers_over_https_only() -> None:
    with pytest.raises(ValidationError, match="OFFERS_TWILIO_API_BASE must be an https URL"):
        Settings(**PRODUCTION, twilio_api_base="http://api.twilio.com")
    with pytest.raises(ValidationError, match="OFFERS_GRAPH_API_BASE must be an https URL"):
        Settings(**PRODUCTION, graph_api_base="http://graph.facebook.com")


def test_production_never_reaches_a_private_address() -> None:
    with pytest.raises(ValidationError, match="OFFERS_OUTBOUND_ALLOW_PRIVATE must be false"):
        Settings(**PRODUCTION, outbound_allow_private=True)


# the outbound policy, against the sandbox ------------------------------------------------

SANDBOX_NAME = "graph.sandbox.test"
"""A name no DNS knows: the policies below resolve it themselves, to the sandbox."""


class Answers:
    """A resolver that answers ``first`` to the first lookup and ``then`` to the others,
    as a name rebound after its first answer would."""

    def __init__(self, first: str, then: str) -> None:
        self.answers = [first]
        self.then = then
        self.lookups = 0

    def __call__(self, host: str, port: int) -> Sequence[str]:
        assert host == SANDBOX_NAME
        self.lookups += 1
        return [self.answers.pop()] if self.answers else [self.then]


def named_settings(sandbox: Sandbox, **overrides: Any) -> Settings:
    """The sandbox's settings with its API bases under :data:`SANDBOX_NAME`."""
    assert sandbox.base_url is not None
    named = sandbox.base_url.replace("127.0.0.1", SANDBOX_NAME)
    return sandbox_settings(
        sandbox,
        twilio_api_base=named,
        graph_api_base=named,
        outbound_allowed_hosts=[SANDBOX_NAME, "127.0.0.1"],
        **overrides,
    )


def send_whatsapp(account: GraphAccount, timeout_s: float) -> SendResult:
    async def go() -> SendResult:
        async with graph_http_client(timeout_s, account.policy) as http:
            return await WhatsAppAdapter(account, http).send(outbound(Channel.WHATSAPP))

    return asyncio.run(go())


def outbound(channel: Channel) -> OutboundMessage:
    return OutboundMessage(
        decision_id="dec-1",
        channel=channel,
        address="+393331234567",
        body="Ciao! -20% su Livorno-Olbia stasera",
        valid_until=datetime.now(UTC) + timedelta(hours=1),
    )


def test_the_graph_client_connects_to_the_address_it_checked(sandbox: Sandbox) -> None:
    settings = named_settings(sandbox)
    answers = Answers("127.0.0.1", "127.0.0.1")
    policy = replace(OutboundPolicy.from_settings(settings), resolve=answers)
    account = replace(GraphAccount.from_settings(settings), policy=policy)
    result = send_whatsapp(account, settings.send_timeout_seconds)
    assert result.sent, result
    assert answers.lookups == 1
    assert [m.channel for m in sandbox.messages()] == ["whatsapp"]


def test_a_name_rebound_to_a_private_address_is_refused_on_connection(sandbox: Sandbox) -> None:
    """The name's first answer is public, so the client is built; its connection then
    finds it resolving to 127.0.0.1 and is refused."""
    settings = named_settings(sandbox, outbound_allow_private=False)
    answers = Answers("93.184.215.14", "127.0.0.1")
    policy = replace(OutboundPolicy.from_settings(settings), resolve=answers)
    account = replace(GraphAccount.from_settings(settings), policy=policy)
    vet_base(policy, account.api_base)
    result = send_whatsapp(account, settings.send_timeout_seconds)
    assert result.failure is not None and result.failure.code == "outbound_refused"
    assert not result.failure.transient
    assert f"host {SANDBOX_NAME} resolves to 127.0.0.1, a loopback address" in (
        result.failure.message
    )
    assert answers.lookups == 2
    assert sandbox.messages() == []


def test_the_twilio_client_checks_each_request(sandbox: Sandbox) -> None:
    settings = named_settings(sandbox, outbound_allow_private=False)
    answers = Answers("93.184.215.14", "127.0.0.1")
    policy = replace(OutboundPolicy.from_settings(settings), resolve=answers)
    adapter = SmsAdapter(
        replace(TwilioAccount.from_settings(settings), policy=policy), timeout_s=2.0
    )
    try:
        result = adapter.send_blocking(outbound(Channel.SMS))
    finally:
        adapter.close()
    assert result.failure is not None and result.failure.code == "outbound_refused"
    assert "resolves to 127.0.0.1, a loopback address" in result.failure.message
    assert "?" not in result.failure.message
    assert sandbox.messages() == []


def test_a_client_for_a_refused_base_is_not_built(sandbox: Sandbox) -> None:
    allowed = sandbox_settings(sandbox)
    refusing = allowed.model_copy(update={"outbound_allow_private": False})
    with pytest.raises(OutboundUrlRefused, match="127.0.0.1 of http://127.0.0.1:.* loopback"):
        TwilioAccount.from_settings(refusing).http_client(1.0)

    async def build() -> None:
        async with graph_http_client(1.0) as http:
            channel_adapters(refusing, http)

    with pytest.raises(OutboundUrlRefused, match="loopback address"):
        asyncio.run(build())


def test_a_base_that_does_not_resolve_yet_is_checked_on_each_call() -> None:
    """A name that does not resolve when the client is built (DNS down) does not stop
    the worker: each request checks it again."""
    policy = OutboundPolicy(("api.twilio.invalid",))
    client = TwilioAccount(
        "https://api.twilio.invalid", "AC" + "0" * 32, SecretStr("t"), "MOBY", policy
    ).http_client(1.0)
    with pytest.raises(requests.ConnectionError, match="api.twilio.invalid"):
        client.request("GET", MESSAGES)
