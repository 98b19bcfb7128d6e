"""Access tokens, API keys, role checks and the FastAPI dependencies (offers_api.security),
and the key stores and operators' command line (offers_api.credentials)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hmac
import itertools
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Annotated, Any

import jwt
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from offers.roles import Role
from offers.settings import Settings, get_settings
from offers_api import credentials, security
from offers_api.credentials import InMemoryApiKeyStore
from offers_api.security import (
    AUDIENCE,
    CLOCK_SKEW,
    ISSUER,
    REQUIRED_CLAIMS,
    VERIFIED_TOKENS,
    AuthError,
    CurrentPrincipal,
    Principal,
    RequireRole,
    RequireSelfOr,
    StoredApiKey,
    VerifiedToken,
    VerifiedTokens,
    check_api_key,
    current_settings,
    get_api_key_store,
    hash_api_key,
    issue_token,
    new_api_key,
    require,
    require_self_or,
    verify_token,
)

SECRET = "unit-test-secret-0123456789-abcdefghijklmnop"
OTHER_SECRET = "another-secret-0123456789-abcdefghijklmnopqr"
NOW = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test", secret_key=SecretStr(SECRET))


def forge(secret: str = SECRET, /, **overrides: Any) -> str:
    """A token signed with ``secret`` whose claims are the valid ones with ``overrides``
    (a value of None removes the claim)."""
    claims: dict[str, Any] = {
        "sub": "c-001",
        "role": "customer",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + HOUR).timestamp()),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, secret, algorithm="HS256")


def refused(settings: Settings, token: str, now: datetime = NOW) -> AuthError:
    with pytest.raises(AuthError) as info:
        verify_token(settings, token, now=now)
    error = info.value
    assert error.status_code == 401
    assert SECRET not in str(error)
    assert not token or token not in str(error)
    return error


# Access tokens


def test_token_round_trip(settings: Settings) -> None:
    token = issue_token(settings, "c-001", Role.CUSTOMER, HOUR, now=NOW)
    assert verify_token(settings, token, now=NOW + timedelta(minutes=59)) == Principal(
        subject="c-001", role=Role.CUSTOMER
    )


def test_token_carries_the_agreed_claims(settings: Settings) -> None:
    token = issue_token(settings, "alice", Role.MARKETER, 8 * HOUR, now=NOW)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert set(claims) == set(REQUIRED_CLAIMS)
    assert claims["sub"] == "alice" and claims["role"] == "marketer"
    assert claims["iss"] == "moby-offers" and claims["aud"] == "moby-offers-api"
    assert claims["exp"] - claims["iat"] == 8 * 3600


def test_token_is_valid_within_the_clock_skew(settings: Settings) -> None:
    token = issue_token(settings, "c-001", Role.CUSTOMER, HOUR, now=NOW)
    verify_token(settings, token, now=NOW + HOUR + CLOCK_SKEW - timedelta(seconds=1))
    verify_token(settings, token, now=NOW - CLOCK_SKEW)


def test_expired_token(settings: Settings) -> None:
    token = issue_token(settings, "c-001", Role.CUSTOMER, HOUR, now=NOW)
    error = refused(settings, token, now=NOW + HOUR + CLOCK_SKEW)
    assert error.reason == "token expired at 2025-06-01T09:00:00+00:00"


def test_token_issued_in_the_future(settings: Settings) -> None:
    token = issue_token(settings, "c-001", Role.CUSTOMER, HOUR, now=NOW)
    error = refused(settings, token, now=NOW - CLOCK_SKEW - timedelta(seconds=1))
    assert error.reason.startswith("token is issued in the future")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_tampered_payload_is_a_bad_signature(settings: Settings) -> None:
    token = issue_token(settings, "c-001", Role.CUSTOMER, HOUR, now=NOW)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    tampered = ".".join((header, _b64(json.dumps(claims).encode()), signature))
    assert refused(settings, tampered).reason == "token signature is invalid"


def test_token_signed_with_another_secret(settings: Settings) -> None:
    other = Settings(environment="test", secret_key=SecretStr(OTHER_SECRET))
    token = issue_token(other, "c-001", Role.CUSTOMER, HOUR, now=NOW)
    error = refused(settings, token)
    assert error.reason == "token signature is invalid"
    assert OTHER_SECRET not in str(error)


def test_wrong_audience(settings: Settings) -> None:
    error = refused(settings, forge(aud="another-api"))
    assert error.reason == "token audience is not 'moby-offers-api'"


def test_wrong_issuer(settings: Settings) -> None:
    error = refused(settings, forge(iss="someone-else"))
    assert error.reason == "token issuer is not 'moby-offers'"


def test_unknown_role(settings: Settings) -> None:
    assert refused(settings, forge(role="pirate")).reason == "token role 'pirate' is unknown"


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_missing_claim(settings: Settings, claim: str) -> None:
    assert refused(settings, forge(**{claim: None})).reason == f"token has no {claim!r} claim"


@pytest.mark.parametrize("subject", ["", "ops@example.com", "a b", "x" * 65])
def test_a_subject_that_is_not_an_id_is_refused(settings: Settings, subject: str) -> None:
    reason = refused(settings, forge(sub=subject)).reason
    assert reason == "token subject is not an id (1 to 64 letters, digits or _.:-)"


def test_unsigned_token(settings: Settings) -> None:
    claims = jwt.decode(forge(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert refused(settings, unsigned).reason == "token is not signed with HS256"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x.y.z"])
def test_malformed_token(settings: Settings, garbage: str) -> None:
    assert refused(settings, garbage).reason == "token is malformed"


def test_issue_refuses_nonsense(settings: Settings) -> None:
    with pytest.raises(ValueError, match="subject"):
        issue_token(settings, "", Role.ADMIN, HOUR)
    with pytest.raises(ValueError, match="lifetime"):
        issue_token(settings, "alice", Role.ADMIN, timedelta(0))
    with pytest.raises(ValueError, match="lifetime"):
        issue_token(settings, "alice", Role.ADMIN, timedelta(days=31))
    with pytest.raises(ValueError, match="timezone-aware"):
        issue_token(settings, "alice", Role.ADMIN, HOUR, now=NOW.replace(tzinfo=None))


# Tokens already verified


@pytest.fixture
def verified() -> Iterator[VerifiedTokens]:
    """The process' cache of verified tokens, empty at the start and end of a test."""
    VERIFIED_TOKENS.clear()
    yield VERIFIED_TOKENS
    VERIFIED_TOKENS.clear()


def test_an_accepted_token_is_kept(settings: Settings, verified: VerifiedTokens) -> None:
    token = issue_token(settings, "c-001", Role.CUSTOMER, HOUR, now=NOW)
    assert verify_token(settings, token, now=NOW) == Principal("c-001", Role.CUSTOMER)
    assert verified.get(SECRET, token) is not None
    assert verify_token(settings, token, now=NOW) == Principal("c-001", Role.CUSTOMER)
    assert len(verified) == 1


def test_a_kept_token_still_expires(settings: Settings, verified: VerifiedTokens) -> None:
    token = issue_token(settings, "c-001", Role.CUSTOMER, HOUR, now=NOW)
    verify_token(settings, token, now=NOW)
    error = refused(settings, token, now=NOW + HOUR + CLOCK_SKEW)
    assert error.reason == "token expired at 2025-06-01T09:00:00+00:00"
    assert verified.get(SECRET, token) is None  # dropped once expired


def test_a_kept_token_is_checked_against_each_moment(
    settings: Settings, verified: VerifiedTokens
) -> None:
    token = issue_token(settings, "c-001", Role.CUSTOMER, HOUR, now=NOW)
    verify_token(settings, token, now=NOW)
    error = refused(settings, token, now=NOW - CLOCK_SKEW - timedelta(seconds=1))
    assert error.reason == "token is issued in the future (2025-06-01T08:00:00+00:00)"


def test_a_kept_token_is_refused_under_a_rotated_secret(
    settings: Settings, verified: VerifiedTokens
) -> None:
    token = issue_token(settings, "c-001", Role.CUSTOMER, HOUR, now=NOW)
    verify_token(settings, token, now=NOW)
    rotated = Settings(environment="test", secret_key=SecretStr(OTHER_SECRET))
    with pytest.raises(AuthError, match="^token signature is invalid$"):
        verify_token(rotated, token, now=NOW)
    assert verified.get(OTHER_SECRET, token) is None


def test_an_altered_copy_of_a_kept_token_is_refused(
    settings: Settings, verified: VerifiedTokens
) -> None:
    token = issue_token(settings, "c-001", Role.CUSTOMER, HOUR, now=NOW)
    verify_token(settings, token, now=NOW)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    tampered = ".".join((header, _b64(json.dumps(claims).encode()), signature))
    assert refused(settings, tampered).reason == "token signature is invalid"


def test_refused_tokens_are_not_kept(settings: Settings, verified: VerifiedTokens) -> None:
    expired = issue_token(settings, "c-001", Role.CUSTOMER, HOUR, now=NOW - 2 * HOUR)
    for token in (expired, forge(role="pirate"), forge(sub="a b"), "a.b.c"):
        with pytest.raises(AuthError):
            verify_token(settings, token, now=NOW)
    assert len(verified) == 0


def test_the_cache_keeps_at_most_its_size_dropping_the_oldest() -> None:
    cache = VerifiedTokens(2)
    entry = VerifiedToken(Principal("c-001", Role.CUSTOMER), NOW + HOUR, NOW)
    for token in ("t1", "t2", "t3"):
        cache.put(SECRET, token, entry)
    assert len(cache) == 2
    assert cache.get(SECRET, "t1") is None
    assert cache.get(SECRET, "t3") is entry
    cache.put(SECRET, "t3", entry)  # kept again: nothing else is dropped
    assert cache.get(SECRET, "t2") is entry
    with pytest.raises(ValueError):
        VerifiedTokens(0)


# API keys


def test_new_api_key_shape() -> None:
    key, key_id = new_api_key()
    other_key, other_id = new_api_key()
    assert key_id.startswith("moby_") and key.startswith(key_id + ".")
    assert len(key.split(".", 1)[1]) >= 43  # 32 random bytes
    assert key != other_key and key_id != other_id
    assert security.api_key_id(key) == key_id


def test_only_the_hash_is_stored() -> None:
    assert {field.name for field in dataclasses.fields(StoredApiKey)} == {
        "key_hash",
        "principal",
    }
    store = InMemoryApiKeyStore()
    key = store.issue(Principal("crm-sync", Role.DATA_SCIENTIST))
    key_id = security.api_key_id(key)
    stored = store._keys[key_id]
    assert stored.key_hash == hash_api_key(key) and len(stored.key_hash) == 64
    assert key not in repr(store._keys) and key.split(".")[1] not in repr(store._keys)


def test_api_key_verifies_and_wrong_keys_are_refused() -> None:
    store = InMemoryApiKeyStore()
    principal = Principal("crm-sync", Role.MARKETER)
    key = store.issue(principal)
    key_id, _, secret = key.partition(".")
    assert store.verify(key) == principal

    wrong_secret = f"{key_id}.{'A' * len(secret)}"
    unknown_id = f"moby_{'0' * 16}.{secret}"
    for wrong in (wrong_secret, unknown_id):
        with pytest.raises(AuthError, match="^API key is not valid$"):
            store.verify(wrong)
    for malformed in (
        "",
        "moby_123",
        key_id,
        f"{key_id}.short",
        f"other_{key}",
        f"{key_id}\n.{secret}",
    ):
        with pytest.raises(AuthError, match="^API key is malformed$"):
            store.verify(malformed)

    assert store.revoke(key_id) is True
    with pytest.raises(AuthError, match="not valid"):
        store.verify(key)
    assert store.revoke(key_id) is False


def test_api_key_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security, "compare_digest", spy)
    store = InMemoryApiKeyStore()
    key = store.issue(Principal("crm-sync", Role.MARKETER))
    store.verify(key)
    with pytest.raises(AuthError):
        store.verify(key[:-4] + "AAAA")
    with pytest.raises(AuthError):
        store.verify(f"moby_{'0' * 16}.{key.split('.')[1]}")  # unknown id: same work
    assert len(calls) == 3
    assert calls[0] == (hash_api_key(key), hash_api_key(key))


def test_check_api_key_against_what_is_stored() -> None:
    key, _ = new_api_key()
    principal = Principal("crm-sync", Role.ADMIN)
    assert check_api_key(key, StoredApiKey(hash_api_key(key), principal)) == principal
    other, _ = new_api_key()
    for stored in (None, StoredApiKey(hash_api_key(other), principal)):
        with pytest.raises(AuthError, match="^API key is not valid$"):
            check_api_key(key, stored)
    with pytest.raises(AuthError, match="not valid"):  # the hash of "" stands in for no entry
        check_api_key("", None)


def test_a_store_keeps_only_well_formed_entries() -> None:
    store = InMemoryApiKeyStore()
    key, key_id = new_api_key()
    marketer = Principal("crm-sync", Role.MARKETER)
    with pytest.raises(ValueError, match="not an API key id"):
        store.add("crm-sync", hash_api_key(key), marketer)
    with pytest.raises(ValueError, match="SHA-256") as info:
        store.add(key_id, key, marketer)
    assert key not in str(info.value)
    for subject in ("", "ops@example.com", "a b", "x" * 65):
        with pytest.raises(ValueError, match="subject must be an id"):
            store.add(key_id, hash_api_key(key), Principal(subject, Role.MARKETER))
    assert store.list_keys() == []


def test_a_store_lists_ids_and_principals_by_id() -> None:
    store = InMemoryApiKeyStore()
    principals = [Principal("crm-sync", Role.MARKETER), Principal("c-001", Role.CUSTOMER)]
    ids = [security.api_key_id(store.issue(principal)) for principal in principals]
    assert store.list_keys() == sorted(zip(ids, principals, strict=True))
    store.revoke(ids[0])
    assert store.list_keys() == [(ids[1], principals[1])]


# Role checks

ALLOWED_SETS: list[tuple[Role, ...]] = [
    (Role.CUSTOMER,),
    (Role.MARKETER,),
    (Role.DATA_SCIENTIST,),
    (Role.ADMIN,),
    (Role.MARKETER, Role.ADMIN),
    (Role.MARKETER, Role.DATA_SCIENTIST, Role.ADMIN),
]


@pytest.mark.parametrize(("role", "allowed"), list(itertools.product(Role, ALLOWED_SETS)))
def test_require_matrix(role: Role, allowed: tuple[Role, ...]) -> None:
    principal = Principal("someone", role)
    if role in allowed:
        assert require(principal, *allowed) is principal
        return
    with pytest.raises(AuthError) as info:
        require(principal, *allowed)
    assert info.value.status_code == 403
    names = ", ".join(r.value for r in allowed)
    assert info.value.reason == f"role {role.value!r} may not do this; allowed: {names}"


def test_no_admin_bypass() -> None:
    with pytest.raises(AuthError):
        require(Principal("root", Role.ADMIN), Role.MARKETER)


def test_require_needs_roles() -> None:
    with pytest.raises(ValueError):
        require(Principal("alice", Role.ADMIN))


CUSTOMER_A = Principal("c-A", Role.CUSTOMER)
CUSTOMER_B = Principal("c-B", Role.CUSTOMER)
SELF_OR_SETS: list[tuple[Role, ...]] = [
    (),
    (Role.ADMIN,),
    (Role.MARKETER, Role.ADMIN),
    (Role.DATA_SCIENTIST,),
]
PRINCIPALS = [
    CUSTOMER_A,
    CUSTOMER_B,
    Principal("alice", Role.MARKETER),
    Principal("dora", Role.DATA_SCIENTIST),
    Principal("root", Role.ADMIN),
]


@pytest.mark.parametrize(("principal", "roles"), list(itertools.product(PRINCIPALS, SELF_OR_SETS)))
def test_require_self_or_matrix(principal: Principal, roles: tuple[Role, ...]) -> None:
    expected = principal == CUSTOMER_A or (
        principal.role is not Role.CUSTOMER and principal.role in roles
    )
    if expected:
        assert require_self_or(principal, "c-A", *roles) is principal
        return
    with pytest.raises(AuthError) as info:
        require_self_or(principal, "c-A", *roles)
    assert info.value.status_code == 403
    if principal.role is Role.CUSTOMER:
        assert info.value.reason == "a customer may only reach its own data"
    else:
        assert info.value.reason.startswith(
            f"role {principal.role.value!r} may not reach this customer's data; "
            "allowed: the customer itself"
        )


def test_require_self_or_refuses_listing_customers() -> None:
    with pytest.raises(ValueError):
        require_self_or(CUSTOMER_A, "c-A", Role.CUSTOMER)
    with pytest.raises(ValueError):
        RequireSelfOr(Role.CUSTOMER)
    with pytest.raises(ValueError):
        RequireRole()


# FastAPI dependencies, through a tiny app

Marketer = Annotated[Principal, Depends(RequireRole(Role.MARKETER, Role.ADMIN))]
CustomerData = Annotated[Principal, Depends(RequireSelfOr(Role.ADMIN))]


@pytest.fixture
def store() -> InMemoryApiKeyStore:
    return InMemoryApiKeyStore()


@pytest.fixture
def client(settings: Settings, store: InMemoryApiKeyStore) -> Iterator[TestClient]:
    app = FastAPI()

    @app.get("/whoami")
    def whoami(principal: CurrentPrincipal) -> dict[str, str]:
        return {"subject": principal.subject, "role": principal.role.value}

    @app.get("/campaigns")
    def campaigns(principal: Marketer) -> dict[str, str]:
        return {"by": principal.subject}

    @app.get("/customers/{customer_id}/offers")
    def offers(customer_id: str, principal: CustomerData) -> dict[str, str]:
        return {"customer": customer_id, "by": principal.subject}

    app.dependency_overrides[current_settings] = lambda: settings
    app.dependency_overrides[get_api_key_store] = lambda: store
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def bearer(settings: Settings) -> Callable[..., dict[str, str]]:
    def headers(subject: str, role: Role, **kwargs: Any) -> dict[str, str]:
        token = issue_token(settings, subject, role, HOUR, **kwargs)
        return {"Authorization": f"Bearer {token}"}

    return headers


def assert_401(response: Any, detail: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == detail
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_401_with_challenge(client: TestClient) -> None:
    response = client.get("/campaigns")
    assert_401(
        response,
        "missing credentials: send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'",
    )
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="moby-offers-api"'


def test_bad_token_is_401(client: TestClient) -> None:
    other = Settings(environment="test", secret_key=SecretStr(OTHER_SECRET))
    token = issue_token(other, "alice", Role.MARKETER, HOUR)
    response = client.get("/campaigns", headers={"Authorization": f"Bearer {token}"})
    assert_401(response, "token signature is invalid")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_expired_token_is_401(client: TestClient, bearer: Callable[..., dict[str, str]]) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=2)
    response = client.get("/whoami", headers=bearer("alice", Role.MARKETER, now=long_ago))
    assert response.status_code == 401
    assert response.json()["detail"].startswith("token expired at ")


@pytest.mark.parametrize("value", ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer   ", "Token abc"])
def test_wrong_authorization_scheme_is_401(client: TestClient, value: str) -> None:
    response = client.get("/whoami", headers={"Authorization": value})
    assert_401(response, "Authorization header must be 'Bearer <token>'")


def test_wrong_role_is_403(client: TestClient, bearer: Callable[..., dict[str, str]]) -> None:
    response = client.get("/campaigns", headers=bearer("dora", Role.DATA_SCIENTIST))
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "role 'data_scientist' may not do this; allowed: marketer, admin"
    )


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ADMIN])
def test_right_role_is_200(
    client: TestClient, bearer: Callable[..., dict[str, str]], role: Role
) -> None:
    response = client.get("/campaigns", headers=bearer("alice", role))
    assert response.status_code == 200
    assert response.json() == {"by": "alice"}


def test_bearer_scheme_is_case_insensitive(client: TestClient, settings: Settings) -> None:
    token = issue_token(settings, "alice", Role.MARKETER, HOUR)
    response = client.get("/whoami", headers={"Authorization": f"bearer {token}"})
    assert response.json() == {"subject": "alice", "role": "marketer"}


def test_api_key(client: TestClient, store: InMemoryApiKeyStore) -> None:
    key = store.issue(Principal("crm-sync", Role.MARKETER))
    assert client.get("/campaigns", headers={"X-API-Key": key}).json() == {"by": "crm-sync"}

    wrong = client.get("/campaigns", headers={"X-API-Key": key[:-4] + "AAAA"})
    assert_401(wrong, "API key is not valid")


def test_api_key_and_token_together_is_401(
    client: TestClient, store: InMemoryApiKeyStore, bearer: Callable[..., dict[str, str]]
) -> None:
    key = store.issue(Principal("crm-sync", Role.MARKETER))
    response = client.get("/whoami", headers={"X-API-Key": key, **bearer("alice", Role.ADMIN)})
    assert_401(response, "send either an Authorization header or X-API-Key, not both")


@pytest.mark.parametrize(
    ("subject", "role", "status"),
    [
        ("c-A", Role.CUSTOMER, 200),
        ("c-B", Role.CUSTOMER, 403),
        ("root", Role.ADMIN, 200),
        ("alice", Role.MARKETER, 403),
        ("dora", Role.DATA_SCIENTIST, 403),
    ],
)
def test_customer_owned_data(
    client: TestClient,
    bearer: Callable[..., dict[str, str]],
    subject: str,
    role: Role,
    status: int,
) -> None:
    response = client.get("/customers/c-A/offers", headers=bearer(subject, role))
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json() == {"customer": "c-A", "by": subject}


def test_openapi_declares_both_schemes(client: TestClient) -> None:
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "API key of a machine client.",
    }


def test_a_token_accepted_before_is_refused_once_it_expires(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = issue_token(settings, "alice", Role.MARKETER, HOUR)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/whoami", headers=headers).status_code == 200
    assert client.get("/whoami", headers=headers).status_code == 200  # from the cache
    later = datetime.now(UTC) + HOUR + CLOCK_SKEW
    monkeypatch.setattr(security, "_current", lambda now: later)
    response = client.get("/whoami", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("token expired at ")


def test_a_token_accepted_before_is_refused_once_the_secret_rotates(
    client: TestClient, settings: Settings
) -> None:
    token = issue_token(settings, "alice", Role.MARKETER, HOUR)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/whoami", headers=headers).status_code == 200
    rotated = Settings(environment="test", secret_key=SecretStr(OTHER_SECRET))
    app = client.app
    assert isinstance(app, FastAPI)
    app.dependency_overrides[current_settings] = lambda: rotated
    assert_401(client.get("/whoami", headers=headers), "token signature is invalid")
    fresh = issue_token(rotated, "alice", Role.MARKETER, HOUR)
    assert client.get("/whoami", headers={"Authorization": f"Bearer {fresh}"}).json() == {
        "subject": "alice",
        "role": "marketer",
    }


def test_the_key_store_is_the_running_apps(settings: Settings) -> None:
    store = InMemoryApiKeyStore()
    app = FastAPI()
    app.state.api = SimpleNamespace(api_keys=store)  # what the lifespan sets: an ApiState
    assert asyncio.run(get_api_key_store(Request({"type": "http", "app": app}))) is store

    @app.get("/whoami")
    def whoami(principal: CurrentPrincipal) -> dict[str, str]:
        return {"subject": principal.subject}

    app.dependency_overrides[current_settings] = lambda: settings
    key = store.issue(Principal("crm-sync", Role.MARKETER))
    with TestClient(app) as client:
        assert client.get("/whoami", headers={"X-API-Key": key}).json() == {"subject": "crm-sync"}
        store.revoke(security.api_key_id(key))
        assert client.get("/whoami", headers={"X-API-Key": key}).status_code == 401


# Command line


@pytest.fixture
def operator_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OFFERS_SECRET_KEY", SECRET)
    monkeypatch.setenv("OFFERS_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("operator_env")
def test_cli_issues_a_token(settings: Settings) -> None:
    result = CliRunner().invoke(
        credentials.cli, ["issue", "--subject", "alice", "--role", "marketer", "--hours", "8"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert verify_token(settings, token) == Principal("alice", Role.MARKETER)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 8 * 3600


@pytest.mark.usefixtures("operator_env")
def test_cli_refuses_unknown_role_and_long_lifetime() -> None:
    runner = CliRunner()
    assert runner.invoke(credentials.cli, ["issue", "--subject", "x", "--role", "pirate"]).exit_code
    assert runner.invoke(
        credentials.cli, ["issue", "--subject", "x", "--role", "admin", "--hours", "100000"]
    ).exit_code


@pytest.mark.usefixtures("operator_env")
@pytest.mark.parametrize("command", [["issue"], ["api-key", "issue"]])
@pytest.mark.parametrize("subject", ["", "ops@example.com", "a b", "x" * 65])
def test_cli_refuses_a_subject_that_is_not_an_id(command: list[str], subject: str) -> None:
    result = CliRunner().invoke(
        credentials.cli, [*command, "--subject", subject, "--role", "admin"]
    )
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--subject'" in result.output
    assert "must be an id" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_revokes_by_id_and_never_echoes_a_whole_key() -> None:
    key, _ = new_api_key()
    for argument in (key, "crm-sync"):
        result = CliRunner().invoke(credentials.cli, ["api-key", "revoke", argument])
        assert result.exit_code == 2, result.output
        assert "must be a key id (moby_ and 16 hex digits)" in result.output
        assert key.partition(".")[2] not in result.output


@pytest.mark.usefixtures("operator_env")
@pytest.mark.parametrize(
    "command",
    [
        ["api-key", "issue", "--subject", "crm-sync", "--role", "marketer"],
        ["api-key", "list"],
        ["api-key", "revoke", "moby_0123456789abcdef"],
    ],
)
def test_cli_says_when_redis_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("OFFERS_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    get_settings.cache_clear()
    result = CliRunner().invoke(credentials.cli, command)
    assert result.exit_code == 1, result.output
    assert "cannot reach Redis (OFFERS_REDIS_URL)" in result.output
    assert "key:" not in result.output


@pytest.mark.usefixtures("operator_env")
def test_module_runs_as_a_command(settings: Settings) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "offers_api.credentials",
            "issue",
            "--subject",
            "ops",
            "--role",
            "admin",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert verify_token(settings, completed.stdout.strip()) == Principal("ops", Role.ADMIN)
