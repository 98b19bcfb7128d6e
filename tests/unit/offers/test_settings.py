"""Settings: read from OFFERS_* variables, checked, and built once per process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from offers.settings import DEVELOPMENT_SECRET, Settings, get_settings

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_defaults() -> None:
    settings = Settings()
    assert settings.environment == "development"
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.redis_url == "redis://127.0.0.1:16379/0"
    assert settings.topic_partitions == 6
    assert settings.location_retention_hours == 24
    assert settings.max_future_skew_seconds == 300
    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET


def test_environment_variable_overrides_the_default(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OFFERS_KAFKA_BOOTSTRAP", "broker-1:9092,broker-2:9092")
    clean_env.setenv("OFFERS_TOPIC_PARTITIONS", "12")
    clean_env.setenv("OFFERS_ENVIRONMENT", "test")
    settings = Settings()
    assert settings.kafka_bootstrap == "broker-1:9092,broker-2:9092"
    assert settings.topic_partitions == 12
    assert settings.environment == "test"


def test_arguments_take_precedence_over_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OFFERS_KAFKA_BOOTSTRAP", "from-env:9092")
    assert Settings(kafka_bootstrap="from-arg:9092").kafka_bootstrap == "from-arg:9092"


def test_unknown_variables_are_ignored(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OFFERS_NO_SUCH_SETTING", "1")
    assert not hasattr(Settings(), "no_such_setting")


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("OFFERS_TOPIC_PARTITIONS", "0", "topic_partitions"),
        ("OFFERS_TOPIC_PARTITIONS", "many", "topic_partitions"),
        ("OFFERS_LOCATION_RETENTION_HOURS", "721", "location_retention_hours"),
        ("OFFERS_ENVIRONMENT", "staging", "environment"),
        ("OFFERS_STACK_KAFKA_PORT", "70000", "stack_kafka_port"),
        ("OFFERS_MAX_FUTURE_SKEW_SECONDS", "-1", "max_future_skew_seconds"),
    ],
)
def test_invalid_environment_values_are_refused(
    variable: str, value: str, field: str, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(ValidationError) as info:
        Settings()
    assert [err["loc"] for err in info.value.errors()] == [(field,)]


def test_production_refuses_the_default_secret(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="OFFERS_SECRET_KEY must be set"):
        Settings(environment="production")
    clean_env.setenv("OFFERS_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="OFFERS_SECRET_KEY must be set"):
        Settings()
    clean_env.setenv("OFFERS_SECRET_KEY", DEVELOPMENT_SECRET)
    with pytest.raises(ValidationError, match="OFFERS_SECRET_KEY must be set"):
        Settings()


PROVIDER_CREDENTIALS = {
    "OFFERS_TWILIO_AUTH_TOKEN": "tw1l10-token-from-the-vault",
    "OFFERS_TWILIO_ACCOUNT_SID": "AC" + "5e" * 16,
    "OFFERS_TWILIO_SENDER": "MOBY",
    "OFFERS_WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    "OFFERS_WHATSAPP_ACCESS_TOKEN": "wh4ts4pp-token-from-the-vault",
    "OFFERS_MESSENGER_PAGE_TOKEN": "p4ge-token-from-the-vault",
    "OFFERS_REDEMPTION_SECRET": "r3demption-secret-from-the-vault",
    "OFFERS_WHATSAPP_VERIFY_TOKEN": "v3rify-token-from-the-vault",
    "OFFERS_META_APP_SECRET": "m3ta-app-secret-from-the-vault",
}
"""What production needs besides OFFERS_SECRET_KEY: the providers' real credentials."""


def test_production_with_a_real_secret(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OFFERS_ENVIRONMENT", "production")
    clean_env.setenv("OFFERS_SECRET_KEY", "s3cr3t-value-from-the-vault")
    for name, value in PROVIDER_CREDENTIALS.items():
        clean_env.setenv(name, value)
    settings = Settings()
    assert settings.environment == "production"
    assert settings.secret_key.get_secret_value() == "s3cr3t-value-from-the-vault"
    assert "s3cr3t" not in repr(settings)
    assert "s3cr3t" not in str(settings)


@pytest.mark.parametrize("environment", ["development", "test"])
def test_default_secret_is_allowed_outside_production(environment: str) -> None:
    assert Settings(environment=environment).environment == environment


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.topic_partitions = 3


@pytest.mark.usefixtures("fresh_cache")
def test_get_settings_is_cached(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OFFERS_KAFKA_BOOTSTRAP", "first:9092")
    first = get_settings()
    assert first.kafka_bootstrap == "first:9092"
    clean_env.setenv("OFFERS_KAFKA_BOOTSTRAP", "second:9092")
    assert get_settings() is first
    get_settings.cache_clear()
    second = get_settings()
    assert second is not first
    assert second.kafka_bootstrap == "second:9092"


def test_the_validation_clock_takes_its_skew_from_the_settings() -> None:
    from datetime import UTC, datetime, timedelta

    from offers.contracts import EVENT_TYPES, ValidationClock, decode, encode
    from offers.errors import ContractError
    from tests.factories import make_event

    now = datetime(2026, 7, 1, tzinfo=UTC)
    ping = make_event(EVENT_TYPES["location_ping"], event_time=now + timedelta(seconds=90))
    clock = ValidationClock.from_settings(Settings(max_future_skew_seconds=60))
    clock.now = now
    with pytest.raises(ContractError) as rejected:
        decode(encode(ping), clock=clock)
    assert rejected.value.errors[0].field == "event_time"
    wider = ValidationClock.from_settings(Settings(max_future_skew_seconds=120))
    wider.now = now
    assert decode(encode(ping), clock=wider) == ping


def test_settings_pass_to_a_child_process_through_the_environment(
    clean_env: pytest.MonkeyPatch,
) -> None:
    settings = Settings(
        topic_partitions=3,
        redis_url="redis://127.0.0.1:1/2",
        secret_key=SecretStr("s3cret"),
        feast_data_dir=Path("/tmp/feast"),
        worker_session_timeout_seconds=7.5,
    )
    env = settings.as_environment()
    assert env["OFFERS_TOPIC_PARTITIONS"] == "3"
    assert env["OFFERS_SECRET_KEY"] == "s3cret"
    for name, value in env.items():
        clean_env.setenv(name, value)
    assert Settings() == settings


def test_production_refuses_the_development_twilio_token(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in PROVIDER_CREDENTIALS.items():
        if name != "OFFERS_TWILIO_AUTH_TOKEN":
            clean_env.setenv(name, value)
    with pytest.raises(ValidationError, match="OFFERS_TWILIO_AUTH_TOKEN"):
        Settings(environment="production", secret_key=SecretStr("a-real-secret-0123456789"))
    Settings(
        environment="production",
        secret_key=SecretStr("a-real-secret-0123456789"),
        twilio_auth_token=SecretStr("real-token"),
    )
