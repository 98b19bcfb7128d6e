"""API keys on the real Redis and the API: only a hash is kept, a key lets its principal in
and no further, revoked and forged keys are refused, and operators issue, list and revoke
keys from the command line."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from typer.testing import CliRunner

from offers.roles import Role
from offers.settings import Settings, get_settings
from offers_api import credentials
from offers_api.credentials import API_KEY_REDIS_KEY, RedisApiKeyStore
from offers_api.security import (
    AuthError,
    Principal,
    api_key_id,
    hash_api_key,
    new_api_key,
)
from tests.integration.api_client import api, bearer

NOW = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def client(stack_settings: Settings) -> Iterator[TestClient]:
    with api(stack_settings) as running:
        yield running


@pytest.fixture
def keys(redis: Redis) -> RedisApiKeyStore:
    return RedisApiKeyStore(redis, clock=lambda: NOW)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def with_key(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_only_the_hash_is_kept_in_redis(keys: RedisApiKeyStore, redis: Redis) -> None:
    subject = unique("crm")
    key = keys.issue(Principal(subject, Role.MARKETER))
    name = API_KEY_REDIS_KEY.format(key_id=api_key_id(key))
    stored = cast("dict[bytes, bytes]", redis.hgetall(name))
    assert {name.decode(): value.decode() for name, value in stored.items()} == {
        "sha256": hash_api_key(key),
        "subject": subject,
        "role": "marketer",
        "created_at": "2025-06-01T08:00:00+00:00",
    }
    secret = key.partition(".")[2]
    assert not any(secret.encode() in value for value in stored.values())


def test_a_marketer_key_lists_campaigns(client: TestClient, keys: RedisApiKeyStore) -> None:
    key = keys.issue(Principal(unique("crm"), Role.MARKETER))
    response = client.get("/v1/campaigns", headers=with_key(key))
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)


def test_a_customer_key_reaches_its_own_data_only(
    client: TestClient, keys: RedisApiKeyStore
) -> None:
    me = unique("c")
    key = keys.issue(Principal(me, Role.CUSTOMER))
    own = client.get(f"/v1/customers/{me}/consent", headers=with_key(key))
    assert own.status_code == 200, own.text
    other = client.get(f"/v1/customers/{unique('c')}/consent", headers=with_key(key))
    assert other.status_code == 403, other.text
    assert other.json()["detail"] == "a customer may only reach its own data"


def test_a_revoked_key_is_refused(client: TestClient, keys: RedisApiKeyStore) -> None:
    key = keys.issue(Principal(unique("crm"), Role.MARKETER))
    assert client.get("/v1/campaigns", headers=with_key(key)).status_code == 200
    assert keys.revoke(api_key_id(key)) is True
    response = client.get("/v1/campaigns", headers=with_key(key))
    assert response.status_code == 401
    assert response.json()["detail"] == "API key is not valid"
    assert keys.revoke(api_key_id(key)) is False


def test_forged_and_malformed_keys_are_refused(client: TestClient, keys: RedisApiKeyStore) -> None:
    key = keys.issue(Principal(unique("crm"), Role.ADMIN))
    forged = f"{api_key_id(key)}.{secrets.token_urlsafe(32)}"
    unknown, _ = new_api_key()
    for wrong, detail in (
        (forged, "API key is not valid"),
        (unknown, "API key is not valid"),
        (key.partition(".")[0], "API key is malformed"),
    ):
        response = client.get("/v1/campaigns", headers=with_key(wrong))
        assert response.status_code == 401, response.text
        assert response.json()["detail"] == detail
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_key_and_a_token_together_are_refused(
    client: TestClient, keys: RedisApiKeyStore, stack_settings: Settings
) -> None:
    key = keys.issue(Principal(unique("crm"), Role.MARKETER))
    headers = {**with_key(key), **bearer(stack_settings, "u-marta", Role.MARKETER)}
    response = client.get("/v1/campaigns", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"] == (
        "send either an Authorization header or X-API-Key, not both"
    )


def test_the_store_lists_keys_and_ignores_unreadable_entries(
    keys: RedisApiKeyStore, redis: Redis
) -> None:
    principal = Principal(unique("crm"), Role.DATA_SCIENTIST)
    key_id = api_key_id(keys.issue(principal))
    assert (key_id, principal) in keys.list_keys()

    unreadable, unreadable_id = new_api_key()
    redis.hset(
        API_KEY_REDIS_KEY.format(key_id=unreadable_id),
        mapping={"sha256": hash_api_key(unreadable), "subject": "crm", "role": "pirate"},
    )
    try:
        assert unreadable_id not in {listed for listed, _ in keys.list_keys()}
        with pytest.raises(AuthError, match="^API key is not valid$"):
            keys.verify(unreadable)
    finally:
        keys.revoke(unreadable_id)
        keys.revoke(key_id)
    assert key_id not in {listed for listed, _ in keys.list_keys()}


def test_the_store_refuses_a_subject_that_is_not_an_id(keys: RedisApiKeyStore) -> None:
    with pytest.raises(ValueError, match="subject must be an id"):
        keys.issue(Principal("ops@example.com", Role.ADMIN))


@pytest.fixture
def operator(stack_settings: Settings) -> Iterator[CliRunner]:
    """A command line whose settings point at the test stack's Redis."""
    get_settings.cache_clear()
    yield CliRunner(env={"OFFERS_REDIS_URL": stack_settings.redis_url})
    get_settings.cache_clear()


def test_the_command_line_issues_lists_and_revokes_keys(
    operator: CliRunner, client: TestClient
) -> None:
    subject = unique("crm")
    issued = operator.invoke(
        credentials.cli, ["api-key", "issue", "--subject", subject, "--role", "marketer"]
    )
    assert issued.exit_code == 0, issued.output
    lines = dict(line.split(":", 1) for line in issued.stdout.splitlines())
    key, key_id = lines["key"].strip(), lines["key_id"].strip()
    assert api_key_id(key) == key_id
    assert client.get("/v1/campaigns", headers=with_key(key)).status_code == 200

    listed = operator.invoke(credentials.cli, ["api-key", "list"])
    assert listed.exit_code == 0, listed.output
    assert f"{key_id}  {subject}  marketer" in listed.stdout.splitlines()
    assert key.partition(".")[2] not in listed.output
    assert hash_api_key(key) not in listed.output

    revoked = operator.invoke(credentials.cli, ["api-key", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/v1/campaigns", headers=with_key(key)).status_code == 401
    assert key_id not in operator.invoke(credentials.cli, ["api-key", "list"]).stdout

    again = operator.invoke(credentials.cli, ["api-key", "revoke", key_id])
    assert again.exit_code == 1
    assert f"no API key has the id {key_id!r}" in again.output
