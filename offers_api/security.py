"""Who is calling and what they may do: access tokens, API keys and role checks.

People (customers in the app, marketers, data scientists, admins) carry a signed JWT
access token (HS256 with ``OFFERS_SECRET_KEY``); machine clients carry an API key, of
which only a SHA-256 hash is stored (:mod:`offers_api.credentials`). Both become a
:class:`Principal`, and every role check goes through :func:`require` or
:func:`require_self_or`.

In routes use the dependencies at the end of this module::

    Marketer = Annotated[Principal, Depends(RequireRole(Role.MARKETER, Role.ADMIN))]

Operators issue tokens and manage API keys with ``python -m offers_api.credentials``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hmac import compare_digest
from typing import Annotated, Any, Protocol

import jwt
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from offers.contracts.base import IDENTIFIER_PATTERN
from offers.errors import OffersError
from offers.roles import Role
from offers.settings import Settings, get_settings

ISSUER = "moby-offers"
AUDIENCE = "moby-offers-api"
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "role", "iat", "exp", "iss", "aud")
CLOCK_SKEW = timedelta(seconds=30)
"""Tolerance between the clocks of the host that issued a token and the one checking it."""
MAX_TOKEN_LIFETIME = timedelta(days=30)

API_KEY_HEADER = "X-API-Key"
API_KEY_PREFIX = "moby_"
"""Public prefix of every key id (and so of every key): lets secret scanners spot leaks."""
API_KEY_ID = re.compile(rf"^{re.escape(API_KEY_PREFIX)}[0-9a-f]{{16}}$")
_MIN_SECRET_CHARS = 43  # secrets.token_urlsafe(32): 32 random bytes, 43 characters


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: ``subject`` is a customer's id for a customer, else the
    operator's or machine client's name."""

    subject: str
    role: Role


class AuthError(OffersError):
    """Authentication failed (401) or the principal may not do this (403, ``forbidden``).

    ``reason`` says precisely why; it never contains a secret, key or token.
    """

    def __init__(self, reason: str, *, forbidden: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.forbidden = forbidden

    @property
    def status_code(self) -> int:
        return status.HTTP_403_FORBIDDEN if self.forbidden else status.HTTP_401_UNAUTHORIZED


# Access tokens


def _signing_key(settings: Settings) -> str:
    return settings.secret_key.get_secret_value()


def is_identifier(text: str) -> bool:
    """Whether ``text`` can name a customer or user (``Identifier``)."""
    return len(text) <= 64 and re.fullmatch(IDENTIFIER_PATTERN, text) is not None


def issue_token(
    settings: Settings,
    subject: str,
    role: Role,
    lifetime: timedelta,
    *,
    now: datetime | None = None,
) -> str:
    """A signed access token for ``subject`` acting as ``role``, valid for ``lifetime``."""
    if not is_identifier(subject):
        raise ValueError(
            f"a token's subject must be an id (1 to 64 letters, digits or _.:-), not {subject!r}"
        )
    if not timedelta(0) < lifetime <= MAX_TOKEN_LIFETIME:
        raise ValueError(f"token lifetime must be positive and at most {MAX_TOKEN_LIFETIME}")
    issued = _current(now)
    claims: dict[str, Any] = {
        "sub": subject,
        "role": Role(role).value,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    return jwt.encode(claims, _signing_key(settings), algorithm=ALGORITHM)


def verify_token(settings: Settings, token: str, now: datetime | None = None) -> Principal:
    """The principal a token was issued to; :class:`AuthError` says why it is refused.

    The signature is checked first, so a token whose payload was altered is refused as
    badly signed before any of its claims is believed. Expiry is checked against ``now``
    (the current time unless given), with :data:`CLOCK_SKEW` of tolerance.

    A token already accepted with the same signing key is not decoded again
    (:data:`VERIFIED_TOKENS`): only its times are checked again, against ``now``, so the
    answer is the same as decoding it afresh.
    """
    key = _signing_key(settings)
    verified = VERIFIED_TOKENS.get(key, token)
    if verified is not None:
        try:
            return verified.check(_current(now))
        except AuthError:
            VERIFIED_TOKENS.forget(key, token)
            raise
    claims = _decoded_claims(token, key)
    verified = _verified_from(claims, _current(now))
    VERIFIED_TOKENS.put(key, token, verified)
    return verified.principal


def _decoded_claims(token: str, key: str) -> dict[str, Any]:
    """The claims of a token signed with ``key`` for this API (issuer, audience and every
    required claim present); :class:`AuthError` says why it is refused."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": list(REQUIRED_CLAIMS),
                # checked by VerifiedToken.check against an injectable clock
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError as error:
        raise AuthError("token signature is invalid") from error
    except jwt.InvalidAlgorithmError as error:
        raise AuthError(f"token is not signed with {ALGORITHM}") from error
    except jwt.MissingRequiredClaimError as error:
        raise AuthError(f"token has no {error.claim!r} claim") from error
    except jwt.InvalidAudienceError as error:
        raise AuthError(f"token audience is not {AUDIENCE!r}") from error
    except jwt.InvalidIssuerError as error:
        raise AuthError(f"token issuer is not {ISSUER!r}") from error
    except jwt.exceptions.InvalidSubjectError as error:
        raise AuthError("token subject is not a string") from error
    except jwt.DecodeError as error:
        raise AuthError("token is malformed") from error
    except jwt.InvalidTokenError as error:
        raise AuthError(f"token is invalid: {error}") from error
    return claims


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """What a genuine token says: who it was issued to, and when it was issued and expires.
    Whether it is valid still depends on the time, so :meth:`check` is asked each time."""

    principal: Principal
    expires: datetime
    issued: datetime

    def check(self, now: datetime) -> Principal:
        """The principal, if the token is valid at ``now``."""
        _check_times(self.expires, self.issued, now)
        return self.principal


def _verified_from(claims: dict[str, Any], now: datetime) -> VerifiedToken:
    """The claims of a genuine token, checked: times (at ``now``), subject and role."""
    expires = _timestamp_claim(claims, "exp")
    issued = _timestamp_claim(claims, "iat")
    _check_times(expires, issued, now)
    subject = claims["sub"]
    if not isinstance(subject, str) or not is_identifier(subject):
        raise AuthError("token subject is not an id (1 to 64 letters, digits or _.:-)")
    try:
        role = Role(claims["role"])
    except ValueError:
        raise AuthError(f"token role {claims['role']!r} is unknown") from None
    return VerifiedToken(Principal(subject=subject, role=role), expires, issued)


def _check_times(expires: datetime, issued: datetime, now: datetime) -> None:
    """:class:`AuthError` unless a token so issued and expiring is valid at ``now``, with
    :data:`CLOCK_SKEW` of tolerance either way."""
    if expires <= now - CLOCK_SKEW:
        raise AuthError(f"token expired at {expires.isoformat()}")
    if issued > now + CLOCK_SKEW:
        raise AuthError(f"token is issued in the future ({issued.isoformat()})")


def _timestamp_claim(claims: dict[str, Any], name: str) -> datetime:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError(f"token claim {name!r} is not a timestamp")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise AuthError(f"token claim {name!r} is out of range") from None


def _current(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return now


TOKEN_CACHE_SIZE = 16_384
"""Tokens kept verified by one process (:data:`VERIFIED_TOKENS`), a few hundred bytes each."""


class VerifiedTokens:
    """The tokens this process has accepted, by signing key and token, so that a token
    presented again is not decoded and its signature not checked again: that is most of
    the work of authenticating a request.

    Only a token that passed every check is kept, with what it says; its times are checked
    again at each use (:meth:`VerifiedToken.check`), so it stops being accepted when it
    expires. The signing key is part of the lookup: a token checked with one secret is
    never accepted under another (a rotated ``OFFERS_SECRET_KEY``). Nothing else revokes
    an access token: it is valid until it expires. At most ``size`` tokens are kept; the
    oldest go first.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a cache of tokens must keep at least one")
        self._size = size
        self._tokens: dict[tuple[str, str], VerifiedToken] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tokens)

    def get(self, key: str, token: str) -> VerifiedToken | None:
        """What ``token``, checked with the signing key ``key``, says; None if not kept."""
        return self._tokens.get((key, token))

    def put(self, key: str, token: str, verified: VerifiedToken) -> None:
        """Keep a token that passed every check with the signing key ``key``."""
        with self._lock:
            if (key, token) not in self._tokens:
                while len(self._tokens) >= self._size:
                    del self._tokens[next(iter(self._tokens))]
            self._tokens[(key, token)] = verified

    def forget(self, key: str, token: str) -> None:
        """Drop a token (one that is no longer valid)."""
        with self._lock:
            self._tokens.pop((key, token), None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


VERIFIED_TOKENS = VerifiedTokens(TOKEN_CACHE_SIZE)
"""The tokens :func:`verify_token` has accepted in this process."""


# API keys

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def new_api_key() -> tuple[str, str]:
    """A new ``(key, key_id)``: the key is shown once to its owner, the id may be logged.

    The key is ``<key_id>.<secret>`` where the secret is 32 random bytes (URL-safe).
    """
    key_id = f"{API_KEY_PREFIX}{secrets.token_hex(8)}"
    return f"{key_id}.{secrets.token_urlsafe(32)}", key_id


def hash_api_key(key: str) -> str:
    """The SHA-256 (hex) of a key, the only form in which a key is stored.

    A plain hash suffices: the secret has 256 bits of entropy, so neither salt nor a slow
    hash adds anything against guessing.
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_key_id(key: str) -> str:
    """The public id inside a presented key; :class:`AuthError` if it is malformed."""
    key_id, separator, secret = key.partition(".")
    if not separator or not API_KEY_ID.fullmatch(key_id) or len(secret) < _MIN_SECRET_CHARS:
        raise AuthError("API key is malformed")
    return key_id


@dataclass(frozen=True, slots=True)
class StoredApiKey:
    key_hash: str
    principal: Principal


class ApiKeyStore(Protocol):
    """Where API keys are kept, by id, as hashes."""

    def add(self, key_id: str, key_hash: str, principal: Principal) -> None: ...

    def revoke(self, key_id: str) -> bool: ...

    def verify(self, key: str) -> Principal:
        """The principal of a presented key; :class:`AuthError` if it is not valid."""
        ...


_NO_HASH = hash_api_key("")  # compared against when the id is unknown: same work either way


def check_api_key(key: str, stored: StoredApiKey | None) -> Principal:
    """The principal of a presented ``key``, given what is ``stored`` under its id (None if
    nothing is); :class:`AuthError` if the key is not the stored one.

    The hashes are compared in constant time, and an unknown id costs the same comparison,
    so the time taken tells nothing of which ids exist.
    """
    presented = hash_api_key(key)
    matches = compare_digest(presented, _NO_HASH if stored is None else stored.key_hash)
    if stored is None or not matches:
        raise AuthError("API key is not valid")
    return stored.principal


# Role checks: the only place where roles are compared


def _names(roles: tuple[Role, ...]) -> str:
    return ", ".join(Role(role).value for role in roles)


def require(principal: Principal, *roles: Role) -> Principal:
    """``principal`` if its role is one of ``roles`` (no role is implied by another)."""
    if not roles:
        raise ValueError("require() needs at least one role")
    if principal.role not in roles:
        raise AuthError(
            f"role {principal.role.value!r} may not do this; allowed: {_names(roles)}",
            forbidden=True,
        )
    return principal


def require_self_or(principal: Principal, customer_id: str, *roles: Role) -> Principal:
    """``principal`` if it is the customer ``customer_id`` itself, or has one of ``roles``.

    For data owned by a customer: a customer reaches only its own id, whatever ``roles``
    say; list the staff roles that may reach anyone's (never ``Role.CUSTOMER``).
    """
    if Role.CUSTOMER in roles:
        raise ValueError("customers are let in by their own id only; do not list Role.CUSTOMER")
    if principal.role is Role.CUSTOMER:
        if principal.subject == customer_id:
            return principal
        raise AuthError("a customer may only reach its own data", forbidden=True)
    if principal.role not in roles:
        allowed = f"the customer itself, {_names(roles)}" if roles else "the customer itself"
        raise AuthError(
            f"role {principal.role.value!r} may not reach this customer's data; allowed: {allowed}",
            forbidden=True,
        )
    return principal


# FastAPI dependencies

_BEARER = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="Access token: `python -m offers_api.credentials issue ...`.",
)
_API_KEY = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="API key of a machine client."
)


async def get_api_key_store(request: Request) -> ApiKeyStore:
    """The API keys the running app accepts: its store in Redis (``ApiState.api_keys``).
    Only looked up, never read here, so a coroutine: FastAPI runs it on the event loop."""
    store: ApiKeyStore = request.app.state.api.api_keys
    return store


async def current_settings() -> Settings:
    """The process-wide settings (:func:`~offers.settings.get_settings`), which tokens are
    checked against. Read once and kept, so getting them never blocks: a coroutine, which
    FastAPI runs on the event loop rather than handing it to a worker thread."""
    return get_settings()


def _unauthorized(detail: str, *, invalid: bool) -> HTTPException:
    challenge = f'Bearer realm="{AUDIENCE}"'
    if invalid:
        challenge += ', error="invalid_token"'
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": challenge},
    )


async def get_principal(
    request: Request,
    settings: Annotated[Settings, Depends(current_settings)],
    store: Annotated[ApiKeyStore, Depends(get_api_key_store)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
    api_key: Annotated[str | None, Security(_API_KEY)],
) -> Principal:
    """The caller, from ``Authorization: Bearer <token>`` or ``X-API-Key: <key>``; 401
    (with ``WWW-Authenticate: Bearer``) saying why if neither identifies one.

    A token is checked on the event loop (CPU only, and mostly answered by
    :data:`VERIFIED_TOKENS`); an API key is looked up in its store, which may block on
    Redis, so in a worker thread."""
    del bearer  # declared for the OpenAPI security scheme; the raw header is read below
    authorization = request.headers.get("Authorization")
    if authorization and api_key:
        raise _unauthorized(
            f"send either an Authorization header or {API_KEY_HEADER}, not both", invalid=True
        )
    if api_key:
        try:
            return await run_in_threadpool(store.verify, api_key)
        except AuthError as error:
            raise _unauthorized(error.reason, invalid=True) from error
    if not authorization:
        raise _unauthorized(
            f"missing credentials: send 'Authorization: Bearer <token>' or "
            f"'{API_KEY_HEADER}: <key>'",
            invalid=False,
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization header must be 'Bearer <token>'", invalid=True)
    try:
        return verify_token(settings, token.strip())
    except AuthError as error:
        raise _unauthorized(error.reason, invalid=True) from error


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def as_http_exception(error: AuthError) -> HTTPException:
    """The HTTP error (401 or 403, by ``error.forbidden``) for an :class:`AuthError`."""
    return HTTPException(status_code=error.status_code, detail=error.reason)


class RequireRole:
    """Dependency: the caller, if its role is one of ``roles``; else 403 saying why.

    ``Annotated[Principal, Depends(RequireRole(Role.MARKETER, Role.ADMIN))]``
    """

    def __init__(self, *roles: Role) -> None:
        if not roles:
            raise ValueError("RequireRole needs at least one role")
        self.roles = roles

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        try:
            return require(principal, *self.roles)
        except AuthError as error:
            raise as_http_exception(error) from error


class RequireSelfOr:
    """Dependency for customer-owned data: the caller if it is the customer named by the
    path parameter ``path_param`` or has one of ``roles``; else 403 saying why."""

    def __init__(self, *roles: Role, path_param: str = "customer_id") -> None:
        if Role.CUSTOMER in roles:
            raise ValueError("customers are let in by their own id only; do not list it")
        self.roles = roles
        self.path_param = path_param

    async def __call__(self, request: Request, principal: CurrentPrincipal) -> Principal:
        customer_id = request.path_params.get(self.path_param)
        if not isinstance(customer_id, str):
            raise RuntimeError(f"route has no path parameter {self.path_param!r}")
        try:
            return require_self_or(principal, customer_id, *self.roles)
        except AuthError as error:
            raise as_http_exception(error) from error
