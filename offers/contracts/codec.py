"""The wire format: one JSON object per record, with ``type`` and ``schema_version``.

:func:`encode` writes an event; :func:`decode` validates bytes at the topic edge and
raises :class:`~offers.errors.ContractError` naming each rejected field and the reason;
:func:`to_dead_letter` turns a rejected record into the record kept in the dead-letter
topic.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from offers.contracts.base import SCHEMA_VERSION, Event, ValidationClock
from offers.contracts.dead_letter import DeadLetter, RejectedField
from offers.contracts.events import EVENT_TYPES
from offers.errors import ContractError, FieldError

MAX_RECORD_BYTES = 64 * 1024
_ALL_TYPES: dict[str, type[Event]] = {**EVENT_TYPES, DeadLetter.TYPE: DeadLetter}
_FIELD_PREFIX = re.compile(r"^(?:Value error, )?([a-z_][a-z0-9_]*): (.+)$", re.DOTALL)


def encode(event: Event) -> bytes:
    """The event as compact JSON bytes (UTC timestamps in RFC 3339)."""
    return orjson.dumps(event.model_dump(mode="python", exclude_none=True))


def decode(
    raw: bytes | str,
    *,
    expected: type[Event] | tuple[type[Event], ...] | None = None,
    clock: ValidationClock | None = None,
) -> Event:
    """Parse and validate one record; raise ContractError with each field's reason."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_RECORD_BYTES:
        raise ContractError(
            [FieldError("$", f"record is {len(raw)} bytes, over the limit of {MAX_RECORD_BYTES}")]
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ContractError([FieldError("$", f"not valid JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise ContractError([FieldError("$", f"must be a JSON object, got {_json_kind(data)}")])
    cls = _event_class(data, expected)
    try:
        # Strict JSON validation: no true for 1.0, no number for a timestamp.
        return cls.model_validate_json(
            raw, strict=True, context={"clock": clock or ValidationClock()}
        )
    except ValidationError as exc:
        raise ContractError(_field_errors(exc)) from None


def to_dead_letter(
    raw: bytes | None,
    error: Exception,
    *,
    source_topic: str,
    source_partition: int | None = None,
    source_offset: int | None = None,
    source_key: bytes | str | None = None,
    stage: str = "decode",
    now: datetime | None = None,
) -> DeadLetter:
    """The dead-letter record for ``raw``, which failed with ``error``."""
    raw = raw or b""
    try:
        payload, encoding = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    if isinstance(source_key, bytes):
        source_key = source_key.decode("utf-8", errors="replace")
    errors = error.errors if isinstance(error, ContractError) else ()
    where = f"{source_topic}:{source_partition}:{source_offset}:"
    digest = hashlib.sha256(where.encode() + raw).hexdigest()[:32]
    return DeadLetter(
        event_id=f"dl-{digest}",
        event_time=now or datetime.now(UTC),
        source_topic=source_topic,
        source_partition=source_partition,
        source_offset=source_offset,
        source_key=source_key or "",
        payload=payload,
        payload_encoding=encoding,
        stage=stage,
        reason=(str(error) or type(error).__name__)[:4_000],
        errors=tuple(RejectedField(field=e.field[:200], reason=e.reason[:2_000]) for e in errors),
    )


def _event_class(
    data: dict[str, Any], expected: type[Event] | tuple[type[Event], ...] | None
) -> type[Event]:
    kind = data.get("type")
    if kind is None:
        raise ContractError([FieldError("type", "is missing")])
    cls = _ALL_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(_ALL_TYPES))
        raise ContractError([FieldError("type", f"unknown event type {kind!r}; known: {known}")])
    allowed = (expected,) if isinstance(expected, type) else expected
    if allowed is not None and cls not in allowed:
        names = ", ".join(c.TYPE for c in allowed)
        raise ContractError(
            [FieldError("type", f"{kind!r} does not belong here; expected {names}")]
        )
    version = data.get("schema_version")
    if version is None:
        raise ContractError([FieldError("schema_version", "is missing")])
    if version != SCHEMA_VERSION:
        raise ContractError(
            [
                FieldError(
                    "schema_version",
                    f"unsupported version {version!r}; this reader knows {SCHEMA_VERSION}",
                )
            ]
        )
    return cls


def _field_errors(exc: ValidationError) -> list[FieldError]:
    found: list[FieldError] = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(part) for part in err["loc"])
        reason = str(err["msg"])
        match = _FIELD_PREFIX.match(reason)
        if match and not field:
            found.append(FieldError(match.group(1), match.group(2)))
            continue
        reason = reason.removeprefix("Value error, ")
        if field and err["type"] not in ("missing", "extra_forbidden"):
            reason = f"{reason} (got {_short(err['input'])})"
        found.append(FieldError(field or "$", reason))
    return found


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_kind(value: Any) -> str:
    return type(value).__name__ if value is not None else "null"
