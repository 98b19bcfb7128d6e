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
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from offers.contracts.base import SCHEMA_VERSION, Event, ValidationClock
from offers.contracts.dead_letter import DeadLetter, RejectedField
from offers.contracts.events import EVENT_TYPES, LISTENING_EVENT_TYPES
from offers.errors import ContractError, FieldError

MAX_RECORD_BYTES = 64 * 1024
MAX_DEAD_LETTER_PAYLOAD_BYTES = MAX_RECORD_BYTES
"""How much of a rejected record its dead letter keeps: all of any record that was not
rejected for its size. A larger one keeps its first bytes; ``payload_bytes`` says how
large it was, and the whole record stays at its source offset for the topic's
retention."""
MAX_DEAD_LETTER_KEY_CHARS = 1_000
MAX_DEAD_LETTER_ERRORS = 100
MAX_DEAD_LETTER_ERROR_CHARS = 20_000
"""The rejected fields a dead letter lists: at most so many, with so many characters in
all (the reason, shortened to 4,000 characters, still names the others)."""
MAX_DEAD_LETTER_BYTES = 1_000_000
"""A dead letter holds a whole rejected record and why, so it may be larger than the
record (a character of the payload takes up to six bytes once escaped in JSON): up to
Kafka's default message size, which :func:`to_dead_letter` never exceeds. A reader of
the dead-letter topic (``expected=DeadLetter``) accepts records up to this size."""
_ALL_TYPES: dict[str, type[Event]] = {
    **EVENT_TYPES,
    **LISTENING_EVENT_TYPES,
    DeadLetter.TYPE: DeadLetter,
}
_FIELD_PREFIX = re.compile(r"^(?:Value error, )?([a-z_][a-z0-9_]*): (.+)$", re.DOTALL)


def encode(event: Event) -> bytes:
    """The event as compact JSON bytes (UTC timestamps in RFC 3339)."""
    return orjson.dumps(event.model_dump(mode="python", exclude_none=True))


def decode(
    raw: bytes | str | None,
    *,
    expected: type[Event] | tuple[type[Event], ...] | None = None,
    clock: ValidationClock | None = None,
) -> Event:
    """Parse and validate one record; raise ContractError with each field's reason.

    Whatever ``raw`` holds, the outcome is an event or a ContractError with at least one
    reason: a record over :data:`MAX_RECORD_BYTES`, text that is not UTF-8, JSON nested
    deeper than the parsers allow, numbers beyond a double, an unknown ``type`` or
    ``schema_version``, and every field that breaks its contract are all named; so is a
    record without a value (None: a Kafka tombstone)."""
    if raw is None:
        raise ContractError([FieldError("$", "the record has no value (a tombstone)")])
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogatepass")
    limit = MAX_DEAD_LETTER_BYTES if expected is DeadLetter else MAX_RECORD_BYTES
    if len(raw) > limit:
        raise ContractError(
            [FieldError("$", f"record is {len(raw)} bytes, over the limit of {limit}")]
        )
    data = _parsed(raw)
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


def _parsed(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ContractError(
            [FieldError("$", f"not valid JSON: {_json_problem(raw, exc)}")]
        ) from None


def _json_problem(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """What is wrong with ``raw``, in words: orjson calls text that is not UTF-8 a
    "surrogate" problem, and an empty record an "empty document"."""
    if not raw.strip():
        return "the record is empty" if not raw else "the record holds only white space"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not UTF-8 text (byte 0x{raw[bad.start]:02x} at position {bad.start})"
    return str(exc)


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
    """The dead-letter record for ``raw``, which failed with ``error``.

    Whatever ``raw``, ``error`` and the key hold, the record is valid and encodes to
    under :data:`MAX_DEAD_LETTER_BYTES`: the payload keeps the first
    :data:`MAX_DEAD_LETTER_PAYLOAD_BYTES` (the whole of any record :func:`decode` would
    read), the key its first :data:`MAX_DEAD_LETTER_KEY_CHARS`, the reason and the
    rejected fields are shortened, and text that is not valid Unicode is replaced.
    """
    raw = raw or b""
    payload, encoding = _kept_payload(raw)
    if isinstance(source_key, bytes):
        source_key = source_key[: MAX_DEAD_LETTER_KEY_CHARS * 4].decode("utf-8", errors="replace")
    errors = error.errors if isinstance(error, ContractError) else ()
    where = f"{source_topic}:{source_partition}:{source_offset}:"
    digest = hashlib.sha256(_text(where).encode() + raw).hexdigest()[:32]
    return DeadLetter(
        event_id=f"dl-{digest}",
        event_time=now or datetime.now(UTC),
        source_topic=_text(source_topic)[:249],
        source_partition=source_partition,
        source_offset=source_offset,
        source_key=_text(source_key or "")[:MAX_DEAD_LETTER_KEY_CHARS],
        payload=payload,
        payload_encoding=encoding,
        payload_bytes=len(raw),
        stage=_text(stage)[:100],
        reason=_text(str(error) or type(error).__name__)[:4_000],
        errors=_rejected_fields(errors),
    )


def _rejected_fields(errors: tuple[FieldError, ...]) -> tuple[RejectedField, ...]:
    kept: list[RejectedField] = []
    budget = MAX_DEAD_LETTER_ERROR_CHARS
    for error in errors[:MAX_DEAD_LETTER_ERRORS]:
        field, reason = _text(error.field)[:200], _text(error.reason)[:2_000]
        budget -= len(field) + len(reason)
        if budget < 0:
            break
        kept.append(RejectedField(field=field, reason=reason))
    return tuple(kept)


def _kept_payload(raw: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    """The first :data:`MAX_DEAD_LETTER_PAYLOAD_BYTES` of ``raw``: as text when they are
    UTF-8 (a character cut in two by the limit is dropped), else as base64."""
    kept = raw[:MAX_DEAD_LETTER_PAYLOAD_BYTES]
    cuts = range(4) if len(kept) < len(raw) else range(1)
    for cut in cuts:
        try:
            return kept[: len(kept) - cut].decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            if exc.reason != "unexpected end of data":
                break
    return base64.b64encode(kept).decode("ascii"), "base64"


def _text(value: str) -> str:
    """``value`` with any lone surrogate (not encodable as UTF-8) replaced."""
    return value.encode("utf-8", errors="replace").decode("utf-8")


def _event_class(
    data: dict[str, Any], expected: type[Event] | tuple[type[Event], ...] | None
) -> type[Event]:
    # the version first: a later version may bring types this reader does not know
    version = data.get("schema_version")
    if version is not None and (type(version) is not int or version != SCHEMA_VERSION):
        raise ContractError(
            [
                FieldError(
                    "schema_version",
                    f"unsupported schema version {_short(version)}; "
                    f"this reader knows version {SCHEMA_VERSION}",
                )
            ]
        )
    kind = data.get("type")
    if kind is None:
        raise ContractError([FieldError("type", "is missing")])
    cls = _ALL_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(_ALL_TYPES))
        raise ContractError(
            [FieldError("type", f"unknown event type {_short(kind)}; known: {known}")]
        )
    allowed = (expected,) if isinstance(expected, type) else expected
    if allowed is not None and cls not in allowed:
        names = ", ".join(c.TYPE for c in allowed)
        raise ContractError(
            [FieldError("type", f"{_short(kind)} does not belong here; expected {names}")]
        )
    if version is None:
        raise ContractError([FieldError("schema_version", "is missing")])
    return cls


def _field_errors(exc: ValidationError) -> list[FieldError]:
    found: list[FieldError] = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(part) for part in err["loc"])
        if err["loc"] and field in ("", "$"):  # an unknown key, not the record as a whole
            field = repr(field)
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
