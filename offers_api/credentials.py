"""Credentials handed out and kept: the stores of API keys (hashed; in Redis for the
running API) and the operators' command line for access tokens and API keys::

    python -m offers_api.credentials issue --subject alice --role marketer --hours 8
    python -m offers_api.credentials api-key issue --subject crm-sync --role marketer
    python -m offers_api.credentials api-key list
    python -m offers_api.credentials api-key revoke moby_0123456789abcdef
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, cast

import typer
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from offers.redis_values import redis_text
from offers.roles import Role
from offers.settings import get_settings
from offers_api.security import (
    API_KEY_ID,
    API_KEY_PREFIX,
    MAX_TOKEN_LIFETIME,
    SHA256_HEX,
    Principal,
    StoredApiKey,
    api_key_id,
    check_api_key,
    hash_api_key,
    is_identifier,
    issue_token,
    new_api_key,
)

API_KEY_REDIS_KEY = "offers:api-key:{key_id}"
"""The Redis hash of one API key: ``sha256`` (of the whole key), ``subject``, ``role`` and
``created_at`` (ISO 8601, UTC). The key itself is never stored."""


def _checked_entry(key_id: str, key_hash: str, principal: Principal) -> StoredApiKey:
    if not API_KEY_ID.fullmatch(key_id):
        raise ValueError(f"not an API key id: {key_id!r}")
    if not SHA256_HEX.fullmatch(key_hash):
        raise ValueError("an API key is stored as its SHA-256 (64 hex digits), never as itself")
    if not is_identifier(principal.subject):
        raise ValueError(
            "an API key's subject must be an id (1 to 64 letters, digits or _.:-), "
            f"not {principal.subject!r}"
        )
    return StoredApiKey(key_hash, Principal(principal.subject, Role(principal.role)))


class HashedApiKeyStore(ABC):
    """What every :class:`ApiKeyStore` does alike: checking an entry before it is kept,
    issuing keys and verifying presented ones. A subclass only keeps the entries."""

    def add(self, key_id: str, key_hash: str, principal: Principal) -> None:
        """Keep ``key_hash`` for ``principal`` under ``key_id`` (replacing an entry of that
        id); :class:`ValueError` if the id, the hash or the subject is not one."""
        self._put(key_id, _checked_entry(key_id, key_hash, principal))

    def issue(self, principal: Principal) -> str:
        """Create, store (hashed) and return a new key for ``principal``."""
        key, key_id = new_api_key()
        self.add(key_id, hash_api_key(key), principal)
        return key

    def verify(self, key: str) -> Principal:
        """The principal of a presented key; :class:`AuthError` if it is not valid."""
        return check_api_key(key, self._get(api_key_id(key)))

    @abstractmethod
    def revoke(self, key_id: str) -> bool:
        """Forget the key ``key_id``; whether there was one."""

    @abstractmethod
    def list_keys(self) -> list[tuple[str, Principal]]:
        """The ids of the keys and their principals, by id (never their hashes)."""

    @abstractmethod
    def _get(self, key_id: str) -> StoredApiKey | None: ...

    @abstractmethod
    def _put(self, key_id: str, entry: StoredApiKey) -> None: ...


class InMemoryApiKeyStore(HashedApiKeyStore):
    """An :class:`ApiKeyStore` in a dict: key id → (hash, principal)."""

    def __init__(self) -> None:
        self._keys: dict[str, StoredApiKey] = {}

    def revoke(self, key_id: str) -> bool:
        return self._keys.pop(key_id, None) is not None

    def list_keys(self) -> list[tuple[str, Principal]]:
        return [(key_id, self._keys[key_id].principal) for key_id in sorted(self._keys)]

    def _get(self, key_id: str) -> StoredApiKey | None:
        return self._keys.get(key_id)

    def _put(self, key_id: str, entry: StoredApiKey) -> None:
        self._keys[key_id] = entry


def _principal_or_none(subject: bytes | str | None, role: bytes | str | None) -> Principal | None:
    if subject is None or role is None or not is_identifier(redis_text(subject)):
        return None
    try:
        return Principal(redis_text(subject), Role(redis_text(role)))
    except ValueError:  # a role this version does not know: the key grants nothing
        return None


class RedisApiKeyStore(HashedApiKeyStore):
    """An :class:`ApiKeyStore` in Redis, one hash per key (:data:`API_KEY_REDIS_KEY`).

    Every API process reads the same keys, so a key issued or revoked from the command
    line counts at once everywhere. An entry with a field missing, a subject that is not an
    id or an unknown role verifies no key and is not listed.
    """

    def __init__(self, redis: Redis, clock: Callable[[], datetime] | None = None) -> None:
        self._redis = redis
        self._clock = clock or (lambda: datetime.now(UTC))

    @staticmethod
    def _name(key_id: str) -> str:
        return API_KEY_REDIS_KEY.format(key_id=key_id)

    def revoke(self, key_id: str) -> bool:
        return cast("int", self._redis.delete(self._name(key_id))) > 0

    def list_keys(self) -> list[tuple[str, Principal]]:
        found = self._redis.scan_iter(match=self._name("*"), count=500)
        names = sorted(redis_text(name) for name in found)
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.hmget(name, ["subject", "role"])
        listed: list[tuple[str, Principal]] = []
        for name, (subject, role) in zip(names, pipe.execute(), strict=True):
            principal = _principal_or_none(subject, role)
            if principal is not None:  # else revoked since the scan, or unreadable
                listed.append((name.removeprefix(self._name("")), principal))
        return listed

    def _get(self, key_id: str) -> StoredApiKey | None:
        fields = ["sha256", "subject", "role"]
        stored = cast("list[bytes | None]", self._redis.hmget(self._name(key_id), fields))
        key_hash, subject, role = stored
        principal = _principal_or_none(subject, role)
        if key_hash is None or principal is None:
            return None
        return StoredApiKey(redis_text(key_hash), principal)

    def _put(self, key_id: str, entry: StoredApiKey) -> None:
        name = self._name(key_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(name)
        pipe.hset(
            name,
            mapping={
                "sha256": entry.key_hash,
                "subject": entry.principal.subject,
                "role": entry.principal.role.value,
                "created_at": self._clock().astimezone(UTC).isoformat(),
            },
        )
        pipe.execute()


# Command line for operators

cli = typer.Typer(help="Access tokens and API keys of the offers API.", no_args_is_help=True)
api_key_cli = typer.Typer(
    help="API keys of machine clients, kept as hashes in Redis (OFFERS_REDIS_URL).",
    no_args_is_help=True,
)
cli.add_typer(api_key_cli, name="api-key")


@cli.callback()
def _main() -> None:
    """Access tokens and API keys of the offers API."""


def _identifier(subject: str) -> str:
    if not is_identifier(subject):
        raise typer.BadParameter(
            f"must be an id (1 to 64 letters, digits or _.:-, starting with a letter or "
            f"digit), not {subject!r}"
        )
    return subject


@cli.command("issue")
def issue_command(
    subject: Annotated[
        str,
        typer.Option("--subject", callback=_identifier, help="Customer id, or operator name."),
    ],
    role: Annotated[Role, typer.Option("--role", help="Role the token grants.")],
    hours: Annotated[
        float,
        typer.Option(
            "--hours", min=0.01, max=MAX_TOKEN_LIFETIME.total_seconds() / 3600, help="Lifetime."
        ),
    ] = 8.0,
) -> None:
    """Print an access token signed with OFFERS_SECRET_KEY."""
    typer.echo(issue_token(get_settings(), subject, role, timedelta(hours=hours)))


@contextmanager
def _redis_api_keys() -> Iterator[RedisApiKeyStore]:
    redis = Redis.from_url(get_settings().redis_url)
    try:
        yield RedisApiKeyStore(redis)
    except RedisConnectionError as error:
        typer.echo(f"cannot reach Redis (OFFERS_REDIS_URL): {error}", err=True)
        raise typer.Exit(1) from error
    finally:
        redis.close()


@api_key_cli.command("issue")
def issue_api_key_command(
    subject: Annotated[
        str,
        typer.Option("--subject", callback=_identifier, help="Name of the machine client."),
    ],
    role: Annotated[Role, typer.Option("--role", help="Role the key grants.")],
) -> None:
    """Create a key and store its hash; print its id and the key, which is shown only once."""
    with _redis_api_keys() as store:
        key = store.issue(Principal(subject, role))
    typer.echo(f"key_id: {api_key_id(key)}")
    typer.echo(f"key:    {key}")
    typer.echo("Give the key to its owner now: it cannot be shown again.", err=True)


def _key_id(key_id: str) -> str:
    if not API_KEY_ID.fullmatch(key_id):  # not echoed: it may be a whole key, secret included
        raise typer.BadParameter(f"must be a key id ({API_KEY_PREFIX} and 16 hex digits)")
    return key_id


@api_key_cli.command("revoke")
def revoke_api_key_command(
    key_id: Annotated[
        str,
        typer.Argument(callback=_key_id, help="The key's id (moby_...), not the key."),
    ],
) -> None:
    """Revoke a key: from now on every API process refuses it."""
    with _redis_api_keys() as store:
        revoked = store.revoke(key_id)
    if not revoked:
        typer.echo(f"no API key has the id {key_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@api_key_cli.command("list")
def list_api_keys_command() -> None:
    """List the keys: id, subject and role (never a key or its hash)."""
    with _redis_api_keys() as store:
        keys = store.list_keys()
    for key_id, principal in keys:
        typer.echo(f"{key_id}  {principal.subject}  {principal.role.value}")


if __name__ == "__main__":
    cli()
