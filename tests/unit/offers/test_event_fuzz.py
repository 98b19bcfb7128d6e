"""Fuzzing the event parser: whatever bytes arrive, the outcome is an event that keeps
every contract, or a ContractError (the only exception) whose every entry names the
field at fault and says what is wrong; and every rejected record makes a dead letter
that fits in a Kafka message.

Where bytes from Kafka or a file become an event or a record (``decode(``,
``orjson.loads``, ``json.loads``, ``model_validate`` across the packages):

- ``offers.contracts.codec.decode``, the one parser of events, fuzzed here. Every
  reader of a topic calls it: the feature agents (``streams.worker`` through
  ``streams.processing.read_record``), the decision agents (``streams.decisions.agent``:
  geofence transitions, trigger signals, the input topics, sailing updates), the
  delivery agent (``streams.delivery.agent``: decisions, and the scheduled sends it
  keeps in Redis), the state followers (``offers.state.consent.decode_consent``,
  ``offers.state.campaigns.decode_change``), the reports (``offers.reports.source``),
  the decision memo in Redis (``streams.decisions.memo.plan_from_json``, for the
  decision it holds), the demo and the closed loop (``offers.demo``,
  ``offers.demo_setup``, ``offers.closed_loop``).
- ``offers.contracts.codec.to_dead_letter``: the dead letter of any record, fuzzed here.
- ``streams.processing.read_record`` (a record's key and value at the feature agents),
  ``streams.processing.Entry.decode`` (table entries, read back from changelog topics)
  and ``streams.dead_letters.dead_letter_record``: fuzzed in
  ``tests/unit/streams/test_record_fuzz.py``.
- State that the engine alone writes and reads back, not an input of anyone else:
  ``streams.decisions.agent._sailing_row_from`` (its own table),
  ``streams.decisions.quotes`` (quote watches in Redis), ``offers.offer_book``
  (``StoredOffer`` in Redis), ``features.online`` (feature values in Redis); model
  files (``models.registry``, ``models.training``) and the stack's state file
  (``offers.stack``); and HTTP bodies (``offers_api``), which the API's own tests cover.

Bounds the contracts set (``offers.contracts.base``): a record is at most
``MAX_RECORD_BYTES``; every timestamp lies in 2000..2099 (UTC), and ``event_time`` no
later than the reader's clock plus the allowed skew; every integer, nested ones
included, within the signed 64-bit range; floats finite; ``schema_version`` is 1, and
any other is "unsupported schema version N". A null character is refused in
identifiers (their pattern), and kept in free text, where it is valid Unicode.
"""

from __future__ import annotations

import base64
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offers.contracts import (
    EVENT_TYPES,
    DeadLetter,
    Event,
    LocationPing,
    SocialPost,
    decode,
    encode,
)
from offers.contracts.base import EARLIEST_TIME, INT_LIMIT, LATEST_TIME, ValidationClock
from offers.contracts.codec import (
    MAX_DEAD_LETTER_PAYLOAD_BYTES,
    MAX_RECORD_BYTES,
    to_dead_letter,
)
from offers.errors import ContractError, FieldError
from tests.factories import ALL_TYPES, NOW, VALID_WIRE, wire
from tests.fuzz.poison import DEEP, poison_values, with_fields, with_token

CLOCK = ValidationClock(now=NOW)
TYPE_NAMES = sorted(VALID_WIRE)
"""Every type with a valid example (the dead letter included)."""
KAFKA_MESSAGE_LIMIT = 1_000_000
"""The producer's default ``max.request.size``: no dead letter may be larger."""
KNOWN_FIELDS = frozenset(
    name for cls in ALL_TYPES.values() for name in cls.model_fields
) | frozenset(["$", "type", "schema_version"])
WHOLE_RECORD_REASONS = (
    "the record has no value",
    "record is ",
    "not valid JSON",
    "must be a JSON object",
    "Invalid JSON",
)
"""How a reason about the record as a whole (field ``$``) begins."""
ROOT = Path(__file__).resolve().parents[3]


# --- what every outcome must satisfy ------------------------------------------------------


def outcome(raw: bytes | str | None, expected: type[Event] | None = None) -> Event | ContractError:
    """Decode ``raw`` and check the outcome; any exception but ContractError propagates
    and fails the test."""
    try:
        event = decode(raw, expected=expected, clock=CLOCK)
    except ContractError as error:
        check_rejection(error, raw)
        return error
    check_event(event, expected)
    return event


def check_rejection(error: ContractError, raw: bytes | str | None) -> None:
    """Every entry names a field (one the input or a contract has, or ``$`` for the
    record as a whole) and a non-empty reason; the dead letter of ``raw`` fits."""
    assert error.errors, "a rejection without a reason"
    names = KNOWN_FIELDS | _top_level_keys(raw)
    for item in error.errors:
        assert item.field and item.reason.strip(), item
        assert any(item.field == n or item.field.startswith(f"{n}.") for n in names), item
        if item.field == "$":
            assert item.reason.startswith(WHOLE_RECORD_REASONS), item
    check_dead_letter(
        raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw or b"", error
    )


def check_event(event: Event, expected: type[Event] | None) -> None:
    """An accepted event keeps every bound and reads back equal from its encoding."""
    assert type(event) in ALL_TYPES.values()
    if expected is not None:
        assert isinstance(event, expected)
    assert event.event_time <= NOW + CLOCK.max_future_skew
    for value in _leaves(event.model_dump(mode="python")):
        if isinstance(value, datetime):
            assert EARLIEST_TIME <= value < LATEST_TIME, value
        elif isinstance(value, float):
            assert math.isfinite(value), value
        elif isinstance(value, int):
            assert -INT_LIMIT <= value < INT_LIMIT, value
    if isinstance(event, LocationPing):
        assert -90 <= event.lat <= 90 and -180 <= event.lon <= 180
    assert decode(encode(event), clock=CLOCK) == event


def check_dead_letter(raw: bytes, error: Exception) -> DeadLetter:
    """The dead letter of ``raw`` is a valid record under Kafka's limit that keeps the
    reason and as much of the record as the limit allows."""
    letter = to_dead_letter(
        raw,
        error,
        source_topic="events.location",
        source_partition=5,
        source_offset=2**62,
        source_key=b"cust-1",
        now=NOW,
    )
    value = encode(letter)
    assert len(value) < KAFKA_MESSAGE_LIMIT
    assert decode(value, expected=DeadLetter, clock=CLOCK) == letter
    assert letter.reason.strip() and letter.payload_bytes == len(raw)
    kept = (
        base64.b64decode(letter.payload)
        if letter.payload_encoding == "base64"
        else letter.payload.encode("utf-8")
    )
    if len(raw) <= MAX_DEAD_LETTER_PAYLOAD_BYTES:
        assert kept == raw
    else:  # the start, less a character the limit cut in two
        assert raw.startswith(kept) and len(kept) >= MAX_DEAD_LETTER_PAYLOAD_BYTES - 3
    return letter


def _top_level_keys(raw: bytes | str | None) -> frozenset[str]:
    if raw is None:
        return frozenset()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return frozenset()
    if not isinstance(data, dict):
        return frozenset()
    # a key "" or "$" is named quoted, apart from the record as a whole
    return frozenset(repr(name) if name in ("", "$") else name for name in data)


def _leaves(value: Any) -> list[Any]:
    pending, found = [value], []
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        else:
            found.append(item)
    return found


# --- every kind of poison, by type ------------------------------------------------------------

POISON_CASES = [
    pytest.param(type_name, poison, id=f"{type_name}-{poison.kind}")
    for type_name in TYPE_NAMES
    for poison in poison_values(wire(type_name), NOW)
]


@pytest.mark.parametrize(("type_name", "poison"), POISON_CASES)
def test_every_poison_is_rejected_with_its_reason(type_name: str, poison: Any) -> None:
    for expected in (None, ALL_TYPES[type_name]):
        error = outcome(poison.value, expected)
        assert isinstance(error, ContractError), f"{poison.kind} was accepted"
        assert any(
            item.field == poison.field and poison.reason in item.reason for item in error.errors
        ), f"{poison.kind}: expected {poison.field}: ...{poison.reason}..., got {error}"


def test_every_input_type_has_poison_of_its_own() -> None:
    plain = {p.kind for p in poison_values(wire("consent_change"), NOW)}
    for type_name in ("location_ping", "social_post", "booking", "sailing_update"):
        assert {p.kind for p in poison_values(wire(type_name), NOW)} - plain


@pytest.mark.parametrize("type_name", TYPE_NAMES)
def test_a_valid_record_at_the_edges_of_the_bounds_is_accepted(type_name: str) -> None:
    earliest = EARLIEST_TIME.isoformat()
    assert isinstance(outcome(with_fields(wire(type_name), event_time=earliest)), Event)
    ahead = (NOW + CLOCK.max_future_skew).isoformat()
    assert isinstance(outcome(with_fields(wire(type_name), event_time=ahead)), Event)


@pytest.mark.parametrize(
    ("type_name", "field", "partner", "apart"),
    [
        ("booking", "departure_date", None, timedelta(0)),
        ("sailing_update", "departure_time", "arrival_time", timedelta(hours=1)),
        ("sailing_update", "arrival_time", "departure_time", timedelta(hours=-1)),
        ("offer_decision", "expires_at", None, timedelta(0)),
        ("offer_decision", "send_at", None, timedelta(0)),
        ("offer_decision", "decided_at", None, timedelta(0)),
    ],
)
def test_every_timestamp_field_is_bounded(
    type_name: str, field: str, partner: str | None, apart: timedelta
) -> None:
    for wrong in (
        EARLIEST_TIME - timedelta(seconds=1),
        LATEST_TIME,
        datetime.max.replace(tzinfo=UTC),
    ):
        error = outcome(with_fields(wire(type_name), **{field: wrong.isoformat()}))
        assert isinstance(error, ContractError)
        assert error.errors[0].field == field and "outside the years" in error.errors[0].reason
    for right in (EARLIEST_TIME + timedelta(hours=2), LATEST_TIME - timedelta(hours=2)):
        fields = {field: right.isoformat()}
        if partner:
            fields[partner] = (right + apart).isoformat()
        assert isinstance(outcome(with_fields(wire(type_name), **fields)), Event)


def test_every_timestamp_field_of_the_contracts_is_covered() -> None:
    covered = {
        ("booking", "departure_date"),
        ("sailing_update", "departure_time"),
        ("sailing_update", "arrival_time"),
        ("offer_decision", "expires_at"),
        ("offer_decision", "send_at"),
        ("offer_decision", "decided_at"),
    }
    found = {
        (name, field)
        for name in TYPE_NAMES
        for field, schema in ALL_TYPES[name].model_json_schema()["properties"].items()
        if field != "event_time" and "date-time" in orjson.dumps(schema).decode()
    }
    assert found == covered


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(TYPE_NAMES + ["teleport"]),
    st.integers(min_value=-(2**63), max_value=2**64 - 1).filter(lambda v: v != 1),
)
def test_any_other_schema_version_is_unsupported(type_name: str, version: int) -> None:
    record = wire(type_name) if type_name in VALID_WIRE else wire("booking", type=type_name)
    error = outcome(with_fields(record, schema_version=version))
    assert isinstance(error, ContractError)
    assert [(e.field, e.reason) for e in error.errors] == [
        ("schema_version", f"unsupported schema version {version}; this reader knows version 1")
    ]


def test_a_record_without_a_value_is_rejected() -> None:
    error = outcome(None)
    assert isinstance(error, ContractError)
    assert [(e.field, e.reason) for e in error.errors] == [
        ("$", "the record has no value (a tombstone)")
    ]


def test_null_characters_are_kept_in_free_text() -> None:
    event = outcome(with_fields(wire("social_post"), text="before\x00after"))
    assert isinstance(event, SocialPost) and event.text == "before\x00after"


@pytest.mark.parametrize("name", ["", "$"])
def test_an_unknown_field_named_like_the_record_is_quoted(name: str) -> None:
    error = outcome(with_fields(wire("social_post"), **{name: 1}))
    assert isinstance(error, ContractError)
    assert [(e.field, e.reason) for e in error.errors] == [
        (repr(name), "Extra inputs are not permitted")
    ]


def test_a_dead_letter_keeps_the_start_of_an_oversized_record() -> None:
    raw = orjson.dumps(wire("social_post")) + "è".encode() * 500_000
    error = outcome(raw)
    assert isinstance(error, ContractError)
    letter = check_dead_letter(raw, error)
    assert letter.payload_encoding == "utf-8"
    assert len(letter.payload.encode()) in range(
        MAX_DEAD_LETTER_PAYLOAD_BYTES - 3, MAX_RECORD_BYTES + 1
    )
    assert letter.payload_bytes == len(raw)


def test_a_dead_letter_of_anything_fits_in_a_kafka_message() -> None:
    worst = b"\x00" * 1_000_000  # valid UTF-8, six bytes each once escaped in JSON
    letter = to_dead_letter(
        worst,
        RuntimeError("\ud800" + "r" * 100_000),
        source_topic="events.social",
        source_key=b"\xff" * 900_000,
        source_partition=0,
        source_offset=0,
    )
    value = encode(letter)
    assert len(value) < KAFKA_MESSAGE_LIMIT
    assert decode(value, expected=DeadLetter, clock=ValidationClock()) == letter
    many = ContractError([FieldError(f"field_{i}", "r" * 2_000) for i in range(5_000)])
    letter = to_dead_letter(b"{}", many, source_topic="events.social")
    assert letter.errors[0].field == "field_0" and len(letter.errors) < 100
    assert len(encode(letter)) < KAFKA_MESSAGE_LIMIT


# --- properties: arbitrary input --------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=15,
)
TIMESTAMPS = st.builds(
    lambda year, rest, offset: f"{year:04d}-{rest}{offset}",
    st.integers(min_value=1, max_value=9999),
    st.sampled_from(
        ["01-01T00:00:00", "06-01T11:59:00.123456", "12-31T23:59:59", "02-29T12:00:00"]
    ),
    st.sampled_from(["Z", "+00:00", "+14:00", "-12:00", "+23:59", "", "+25:00"]),
) | st.integers(min_value=-(10**15), max_value=10**15)
RAW_TOKENS = st.one_of(
    st.sampled_from(
        [
            b"NaN",
            b"Infinity",
            b"-Infinity",
            b"1e400",
            b"-1e400",
            b"1e-400",
            b"-0",
            b"null",
            b"true",
            b'"\\u0000"',
            b'"\\ud800"',
            b'"\x00"',
            b'"\xff"',
            b'"\xed\xa0\x80"',
            b"{}",
            b"[]",
            b'""',
        ]
    ),
    st.integers(min_value=19, max_value=500).map(lambda n: b"9" * n),
    st.integers(min_value=1, max_value=10_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=1, max_value=70_000).map(lambda n: b'"' + b"x" * n + b'"'),
    st.binary(max_size=20),
    JSON_VALUES.map(orjson.dumps),
    TIMESTAMPS.map(orjson.dumps),
)
"""JSON tokens and near-JSON bytes, poison among them, to put in place of a value."""
FIELD_NAMES = st.sampled_from(sorted(KNOWN_FIELDS - {"$"})) | st.text(max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes(raw: bytes) -> None:
    outcome(raw)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_with_lone_surrogates(text: str) -> None:
    outcome(text)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES, st.sampled_from([None, *sorted(EVENT_TYPES)]))
def test_arbitrary_json(value: Any, expected: str | None) -> None:
    outcome(orjson.dumps(value), ALL_TYPES[expected] if expected else None)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_valid_record_with_any_value_replaced_by_any_token(data: st.DataObject) -> None:
    record = wire(data.draw(st.sampled_from(TYPE_NAMES)))
    path: tuple[str, ...] = (data.draw(st.sampled_from(sorted(record)) | FIELD_NAMES),)
    inner = record.get(path[0])
    if isinstance(inner, dict) and inner:
        path += (data.draw(st.sampled_from(sorted(inner))),)
    outcome(with_token(record, path, data.draw(RAW_TOKENS)))


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_a_valid_record_with_fields_dropped_changed_and_added(data: st.DataObject) -> None:
    type_name = data.draw(st.sampled_from(TYPE_NAMES))
    record = wire(type_name)
    for name in data.draw(st.lists(st.sampled_from(sorted(record)), max_size=4, unique=True)):
        change = data.draw(st.sampled_from(["drop", "value", "time", "text"]))
        if change == "drop":
            del record[name]
        elif change == "time":
            record[name] = data.draw(TIMESTAMPS)
        elif change == "text":
            record[name] = data.draw(st.text(max_size=3_000))
        else:
            record[name] = data.draw(JSON_VALUES)
    record.update(data.draw(st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=2)))
    outcome(orjson.dumps(record), data.draw(st.sampled_from([None, ALL_TYPES[type_name]])))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_valid_record_with_its_bytes_spoilt(data: st.DataObject) -> None:
    raw = bytearray(orjson.dumps(wire(data.draw(st.sampled_from(TYPE_NAMES)))))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(raw)))
        cut = data.draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        piece = data.draw(
            st.binary(min_size=1, max_size=8) | st.sampled_from([DEEP[:2_000], b"\xff"])
        )
        if cut == "insert":
            raw[at:at] = piece
        elif cut == "delete":
            del raw[at : at + len(piece)]
        elif cut == "replace":
            raw[at : at + len(piece)] = piece
        else:
            del raw[at:]
    outcome(bytes(raw))


# --- the fuzzer -------------------------------------------------------------------------------


def test_the_coverage_guided_fuzzer_finds_no_crash(tmp_path: Path) -> None:
    """atheris (libFuzzer) runs the harness of ``tests/fuzz/fuzz_events.py`` for 20,000
    inputs; any exception but a well-formed ContractError ends it with a failure."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.fuzz_events",
            "-runs=20000",
            "-seed=1",
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-3_000:]
    assert "Done 20000 runs" in done.stderr, done.stderr[-3_000:]
