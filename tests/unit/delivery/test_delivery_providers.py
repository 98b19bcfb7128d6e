"""Where the providers are reached: settings, production checks, the Twilio HTTP client."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from offers.settings import Settings
from streams.delivery.providers import (
    GRAPH_API_BASE,
    PROVIDER_OF,
    TWILIO_API_BASE,
    GraphAccount,
    Provider,
    TwilioAccount,
    TwilioHttpClient,
    send_rates,
    twilio_rest_client,
)

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
        Settings(**PRODUCTION, twilio_api_base="http://127.0.0.1:8099")
    with pytest.raises(ValidationError, match="OFFERS_GRAPH_API_BASE must be an https URL"):
        Settings(**PRODUCTION, graph_api_base="http://127.0.0.1:8099")
