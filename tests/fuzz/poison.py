"""Poison records: every kind of bad input an event parser must reject with a reason.

:func:`poison_values` derives, from one valid record of any type, the record's value
spoilt in every way the wire allows: oversized bodies and strings, JSON nested 10,000
deep, text that is not UTF-8, NaN and Infinity, numbers beyond a double (``1e400``,
``10**400``) and beyond 64 bits, coordinates out of range, timestamps at year 1 and
9999 and as far epoch numbers, an unknown ``type``, unknown and future schema
versions, extra, missing and mistyped fields, null bytes. Each comes with the field its
rejection must name and a fragment of the reason. :func:`poison_records` adds what only
a Kafka record can get wrong: no value, no key, another key, a key that is not UTF-8.

The unit tests decode every one of them; the integration test sends them through a
running worker and finds each in the dead-letter topic.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from offers.contracts.codec import MAX_DEAD_LETTER_BYTES, MAX_RECORD_BYTES

_MARK = "\x1epoison\x1e"
"""Stands for a raw JSON token while the record is written, then is replaced by it."""
DEEP = b"[" * 10_000 + b"]" * 10_000
"""A JSON value nested 10,000 levels deep."""
TEN_TO_THE_400 = b"1" + b"0" * 400


@dataclass(frozen=True, slots=True)
class Poison:
    """One bad record value, the field its rejection names and a fragment of the reason."""

    kind: str
    value: bytes
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class PoisonRecord:
    """One bad Kafka record (key and value) and what its rejection must say."""

    kind: str
    key: bytes | None
    value: bytes | None
    field: str
    reason: str


def with_token(record: dict[str, Any], path: tuple[str, ...], token: bytes) -> bytes:
    """``record`` as JSON with the value at ``path`` replaced by the raw JSON ``token``
    (which orjson could not write: NaN, 1e400, invalid UTF-8, deep nesting)."""
    data = copy.deepcopy(record)
    inner = data
    for name in path[:-1]:
        inner = inner.setdefault(name, {})
    inner[path[-1]] = _MARK
    return orjson.dumps(data).replace(orjson.dumps(_MARK), token, 1)


def with_fields(record: dict[str, Any], **fields: Any) -> bytes:
    """``record`` as JSON with ``fields`` set (``...`` removes one)."""
    data = copy.deepcopy(record)
    for name, value in fields.items():
        if value is ...:
            data.pop(name, None)
        else:
            data[name] = value
    return orjson.dumps(data)


def poison_values(valid: dict[str, Any], now: datetime) -> list[Poison]:
    """Every spoilt form of ``valid`` (a valid record with ``type``, ``schema_version``,
    ``event_id`` and ``event_time``) for a reader whose clock says ``now``."""
    raw = orjson.dumps(valid)
    ten_years = (now + timedelta(days=3_650)).isoformat()
    limit = MAX_DEAD_LETTER_BYTES if valid["type"] == "dead_letter" else MAX_RECORD_BYTES
    found = [
        Poison("oversized-body", raw + b" " * (limit + 1 - len(raw)), "$", "over the limit"),
        Poison(
            "oversized-string",
            with_fields(valid, event_id="e" * limit),
            "$",
            "over the limit",
        ),
        Poison(
            "long-identifier",
            with_fields(valid, event_id="e" * 65),
            "event_id",
            "at most 64 characters",
        ),
        Poison(
            "deep-json-field", with_token(valid, ("event_id",), DEEP), "$", "depth limit exceeded"
        ),
        Poison("deep-json-record", DEEP, "$", "depth limit exceeded"),
        Poison(
            "invalid-utf8", with_token(valid, ("event_id",), b'"e\xff\xfe1"'), "$", "not UTF-8 text"
        ),
        Poison(
            "utf8-surrogate",
            with_token(valid, ("event_id",), b'"e\xed\xa0\x801"'),
            "$",
            "not UTF-8 text",
        ),
        Poison(
            "utf8-overlong",
            with_token(valid, ("event_id",), b'"e\xc0\xaf1"'),
            "$",
            "not UTF-8 text",
        ),
        Poison("nan", with_token(valid, ("schema_version",), b"NaN"), "$", "not valid JSON"),
        Poison(
            "infinity", with_token(valid, ("schema_version",), b"-Infinity"), "$", "not valid JSON"
        ),
        Poison(
            "1e400", with_token(valid, ("schema_version",), b"1e400"), "$", "number is infinity"
        ),
        Poison(
            "10**400",
            with_token(valid, ("schema_version",), TEN_TO_THE_400),
            "$",
            "number is infinity",
        ),
        Poison(
            "year-1",
            with_fields(valid, event_time="0001-01-01T00:00:00Z"),
            "event_time",
            "outside the years",
        ),
        Poison(
            "year-1970",
            with_fields(valid, event_time="1970-01-01T00:00:00Z"),
            "event_time",
            "outside the years",
        ),
        Poison(
            "year-9999",
            with_fields(valid, event_time="9999-12-31T23:59:59Z"),
            "event_time",
            "later than now",
        ),
        Poison(
            "ten-years-ahead",
            with_fields(valid, event_time=ten_years),
            "event_time",
            "later than now",
        ),
        Poison(
            "epoch-far-future",
            with_fields(valid, event_time=253_402_300_800_000),
            "event_time",
            "valid datetime",
        ),
        Poison(
            "epoch-far-past",
            with_fields(valid, event_time=-62_135_596_800),
            "event_time",
            "valid datetime",
        ),
        Poison(
            "naive-time",
            with_fields(valid, event_time="2025-06-01T11:00:00"),
            "event_time",
            "timezone",
        ),
        Poison(
            "unknown-type",
            with_fields(valid, type="teleport"),
            "type",
            "unknown event type 'teleport'",
        ),
        Poison("no-type", with_fields(valid, type=...), "type", "is missing"),
        Poison(
            "future-version",
            with_fields(valid, schema_version=2),
            "schema_version",
            "unsupported schema version 2",
        ),
        Poison(
            "unknown-version",
            with_fields(valid, schema_version=0),
            "schema_version",
            "unsupported schema version 0",
        ),
        Poison(
            "far-version",
            with_fields(valid, schema_version=2**40),
            "schema_version",
            f"unsupported schema version {2**40}",
        ),
        Poison(
            "text-version",
            with_fields(valid, schema_version="1"),
            "schema_version",
            "unsupported schema version '1'",
        ),
        Poison(
            "no-version", with_fields(valid, schema_version=...), "schema_version", "is missing"
        ),
        Poison(
            "extra-field",
            with_fields(valid, colour="blue"),
            "colour",
            "Extra inputs are not permitted",
        ),
        Poison("missing-field", with_fields(valid, event_id=...), "event_id", "Field required"),
        Poison("wrong-type", with_fields(valid, event_id=12_345), "event_id", "valid string"),
        Poison(
            "null-in-identifier",
            with_fields(valid, event_id="e\x001"),
            "event_id",
            "should match pattern",
        ),
        Poison(
            "raw-null-byte", with_token(valid, ("event_id",), b'"e\x001"'), "$", "not valid JSON"
        ),
        Poison("not-an-object", b"[" + raw + b"]", "$", "must be a JSON object, got list"),
        Poison("truncated", raw[: len(raw) // 2], "$", "not valid JSON"),
        Poison("empty", b"", "$", "the record is empty"),
    ]
    return found + [
        Poison(kind, value, field, reason)
        for kind, value, field, reason in _OWN_POISON.get(valid["type"], _nothing)(valid)
    ]


def _nothing(valid: dict[str, Any]) -> list[tuple[str, bytes, str, str]]:
    return []


def _location(valid: dict[str, Any]) -> list[tuple[str, bytes, str, str]]:
    return [
        ("lat-91", with_fields(valid, lat=91.0), "lat", "less than or equal to 90"),
        ("lat-minus-91", with_fields(valid, lat=-91.0), "lat", "greater than or equal to -90"),
        ("lon-181", with_fields(valid, lon=181.0), "lon", "less than or equal to 180"),
        ("lon-minus-181", with_fields(valid, lon=-181.0), "lon", "greater than or equal to -180"),
        ("lat-nan", with_token(valid, ("lat",), b"NaN"), "$", "not valid JSON"),
        ("lat-nan-text", with_fields(valid, lat="NaN"), "lat", "valid number"),
        ("lat-1e400", with_token(valid, ("lat",), b"1e400"), "$", "number is infinity"),
        ("accuracy-10**400", with_token(valid, ("accuracy_m",), TEN_TO_THE_400), "$", "infinity"),
    ]


def _social(valid: dict[str, Any]) -> list[tuple[str, bytes, str, str]]:
    return [
        ("long-text", with_fields(valid, text="t" * 2_001), "text", "at most 2000 characters"),
        ("empty-text", with_fields(valid, text=""), "text", "at least 1 character"),
    ]


def _booking(valid: dict[str, Any]) -> list[tuple[str, bytes, str, str]]:
    departure = "9999-12-31T00:00:00Z"
    return [
        (
            "departure-9999",
            with_fields(valid, departure_date=departure),
            "departure_date",
            "outside the years",
        ),
        ("price-1e400", with_token(valid, ("price_eur",), b"1e400"), "$", "number is infinity"),
        (
            "passengers-10**30",
            with_token(valid, ("passengers",), b"1" + b"0" * 30),
            "passengers",
            "less than or equal to 20",
        ),
    ]


def _sailing(valid: dict[str, Any]) -> list[tuple[str, bytes, str, str]]:
    return [
        (
            "departure-year-1",
            with_fields(valid, departure_time="0001-01-01T00:00:00Z"),
            "departure_time",
            "outside the years",
        ),
        (
            "capacity-10**30",
            with_token(valid, ("capacity_passengers",), b"1" + b"0" * 30),
            "capacity_passengers",
            "less than or equal to 10000",
        ),
        (
            "fare-negative",
            with_fields(valid, fare_eur=-1.0),
            "fare_eur",
            "greater than or equal to 0",
        ),
    ]


def _campaign(valid: dict[str, Any]) -> list[tuple[str, bytes, str, str]]:
    huge = b"1" + b"0" * 30
    return [
        (
            "campaign-int-10**30",
            with_token(valid, ("campaign", "discount_pct"), huge),
            "campaign",
            "beyond the signed 64-bit range",
        ),
        (
            "revision-2**63",
            with_fields(valid, revision=2**63),
            "revision",
            "beyond the signed 64-bit range",
        ),
    ]


def _decision(valid: dict[str, Any]) -> list[tuple[str, bytes, str, str]]:
    return [
        (
            "expiry-year-1",
            with_fields(valid, expires_at="0001-01-01T00:00:00Z"),
            "expires_at",
            "outside the years",
        ),
    ]


_OWN_POISON: dict[str, Callable[[dict[str, Any]], list[tuple[str, bytes, str, str]]]] = {
    "location_ping": _location,
    "social_post": _social,
    "booking": _booking,
    "sailing_update": _sailing,
    "campaign_change": _campaign,
    "offer_decision": _decision,
}


def poison_records(
    valid: dict[str, Any], key: bytes, key_field: str, topic: str, now: datetime
) -> list[PoisonRecord]:
    """Every spoilt Kafka record of ``valid`` (whose right key is ``key``, its
    ``key_field``) on ``topic``: each spoilt value under the right key, and the valid
    value without a key, under another key, under a key that is not UTF-8, and no value
    at all."""
    raw = orjson.dumps(valid)
    keyed = f"{topic} records are keyed by {key_field}"
    return [
        PoisonRecord(p.kind, key, p.value, p.field, p.reason) for p in poison_values(valid, now)
    ] + [
        PoisonRecord("no-key", None, raw, key_field, "the record has no key"),
        PoisonRecord("other-key", key + b"-other", raw, key_field, keyed),
        PoisonRecord("non-utf8-key", b"\xff\xfe" + key, raw, key_field, keyed),
        PoisonRecord("huge-key", key * (20_000 // len(key) + 1), raw, key_field, keyed),
        PoisonRecord("tombstone", key, None, "$", "no value"),
    ]
