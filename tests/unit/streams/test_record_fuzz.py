"""Fuzzing the stream processor's readers of Kafka records: whatever key and value a
record has, the feature agents' edge gives the event and its key or a ContractError
naming what is wrong; whatever a changelog holds, a table entry reads back or is a
ContractError; whatever was rejected, its dead letter is a record of the dead-letter
topic that names the source topic, partition and offset and the reason, and fits in a
Kafka message. An event the edge accepts goes through its view's step without error.

The readers fuzzed here (the list of every parser is in
``tests/unit/offers/test_event_fuzz.py``):

- ``streams.processing.read_record``: a record of an input topic at its feature agent
  (``streams.worker.FeatureProcessor._decode``), through ``offers.contracts.decode``
  and the check of the record's key;
- ``streams.processing.Entry.decode``: a table entry, read back from the table's
  changelog topic when a partition is restored, and by every worker's replica of the
  sailing table (``streams.replica``, ``streams.followers.follow_sailings``);
- ``streams.dead_letters.dead_letter_record``: the dead letter of a Faust message, as
  every agent (features, decisions, delivery) sends it.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from faust.types.tuples import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stream_factories import LATENESS

from offers.contracts import DeadLetter, ValidationClock, decode
from offers.errors import ContractError
from streams.dead_letters import MAX_KEY_BYTES, dead_letter_record
from streams.processing import Entry, read_record, step
from streams.views import FEATURE_VIEWS, FeatureView
from tests.factories import NOW, wire
from tests.fuzz.poison import poison_records, with_token

CLOCK = ValidationClock(now=NOW)
KAFKA_MESSAGE_LIMIT = 1_000_000
VIEWS = {view.name: view for view in FEATURE_VIEWS}
VIEW_NAMES = sorted(VIEWS)


def valid_record(view: FeatureView) -> tuple[dict[str, Any], bytes]:
    """A valid record of the view's topic (as a dict) and its key."""
    record = wire(view.event_type.TYPE)
    return record, str(record[view.key_field]).encode()


def message(view: FeatureView, key: bytes | None, value: bytes | None, offset: int = 41) -> Message:
    return Message(view.topic.name, 3, offset, 0.0, 0, None, key, value, None)


def read(view: FeatureView, key: bytes | None, value: bytes | None) -> Any:
    """``read_record``, checked: the event and the record's own key, or a ContractError
    whose entries each name a field and a reason, and whose dead letter fits. Any other
    exception propagates and fails the test."""
    try:
        event, kept = read_record(view, key, value, CLOCK)
    except ContractError as error:
        assert error.errors
        assert all(e.field and e.reason.strip() for e in error.errors), error.errors
        check_dead_letter(view, key, value, error)
        return error
    assert isinstance(event, view.event_type)
    assert kept == key == view.key_of(event).encode()
    stored = step(view, None, event, 7, LATENESS)
    assert stored.entry is not None
    again = step(view, stored.entry.encode(), event, 8, LATENESS)
    assert again.entry is not None and Entry.decode(view, again.entry.encode()) == again.entry
    return event


def check_dead_letter(
    view: FeatureView, key: bytes | None, value: bytes | None, error: Exception
) -> DeadLetter:
    letter_key, letter_value = dead_letter_record(message(view, key, value), error, "decode")
    assert len(letter_value) < KAFKA_MESSAGE_LIMIT
    assert letter_key == (None if key is None else key[:MAX_KEY_BYTES])
    letter = decode(letter_value, expected=DeadLetter, clock=ValidationClock())
    assert isinstance(letter, DeadLetter)
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == (
        view.topic.name,
        3,
        41,
    )
    assert letter.stage == "decode" and letter.reason == str(error)[:4_000]
    assert letter.payload_bytes == len(value or b"")
    return letter


POISON_CASES = [
    pytest.param(name, poison, id=f"{name}-{poison.kind}")
    for name in VIEW_NAMES
    for poison in poison_records(
        valid_record(VIEWS[name])[0],
        valid_record(VIEWS[name])[1],
        VIEWS[name].key_field,
        VIEWS[name].topic.name,
        NOW,
    )
]


@pytest.mark.parametrize(("view_name", "poison"), POISON_CASES)
def test_every_poison_record_is_rejected_with_its_reason(view_name: str, poison: Any) -> None:
    view = VIEWS[view_name]
    error = read(view, poison.key, poison.value)
    assert isinstance(error, ContractError), f"{poison.kind} was accepted"
    assert any(
        item.field == poison.field and poison.reason in item.reason for item in error.errors
    ), f"{poison.kind}: expected {poison.field}: ...{poison.reason}..., got {error}"
    letter = check_dead_letter(view, poison.key, poison.value, error)
    assert poison.reason in letter.reason or len(letter.reason) == 4_000


@pytest.mark.parametrize("view_name", VIEW_NAMES)
def test_a_valid_record_under_its_key_is_read(view_name: str) -> None:
    view = VIEWS[view_name]
    record, key = valid_record(view)
    assert not isinstance(read(view, key, orjson.dumps(record)), ContractError)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(VIEW_NAMES),
    st.none() | st.binary(max_size=80),
    st.none() | st.binary(max_size=400),
)
def test_any_key_and_value(view_name: str, key: bytes | None, value: bytes | None) -> None:
    read(VIEWS[view_name], key, value)


JSON_TOKENS = st.one_of(
    st.sampled_from([b"-0", b"null", b"90", b"-90", b"180", b"-180.0", b"[]", b"{}"]),
    st.integers(min_value=-(2**63), max_value=2**64 - 1).map(lambda n: str(n).encode()),
    st.floats(allow_nan=False, allow_infinity=False).map(orjson.dumps),
    st.text(max_size=80).map(orjson.dumps),
    st.sampled_from(
        [
            "2000-01-01T00:00:00Z",
            "2099-12-31T23:59:59+14:00",
            "2025-06-01T12:05:00Z",
            "2025-06-01T12:05:00.000001Z",
            "1999-12-31T23:59:59-12:00",
        ]
    ).map(orjson.dumps),
)
"""Edge values: coordinates at the poles and the date line, times at the bounds, zero,
the largest integers and floats."""
TOKENS = JSON_TOKENS | st.sampled_from([b"NaN", b"1e400", b"1" + b"0" * 400])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_valid_record_with_values_replaced(data: st.DataObject) -> None:
    """A record with up to three values replaced by edge values or tokens that are not
    JSON is rejected, or its event goes through the view's step."""
    view = VIEWS[data.draw(st.sampled_from(VIEW_NAMES))]
    record, key = valid_record(view)
    names = st.lists(st.sampled_from(sorted(record)), min_size=1, max_size=3, unique=True)
    *earlier, last = data.draw(names)
    for name in earlier:
        record[name] = orjson.loads(data.draw(JSON_TOKENS))
    read(view, key, with_token(record, (last,), data.draw(TOKENS)))


# --- table entries --------------------------------------------------------------------


def stored_entry(view: FeatureView) -> bytes:
    record, key = valid_record(view)
    event, _ = read_record(view, key, orjson.dumps(record), CLOCK)
    entry = step(view, None, event, 7, LATENESS).entry
    assert entry is not None
    return entry.encode()


def read_entry(view: FeatureView, raw: bytes) -> Entry | ContractError:
    try:
        return Entry.decode(view, raw)
    except ContractError as error:
        assert [e.field for e in error.errors] == ["entry"]
        assert f"the stored {view.name} entry is unreadable (" in error.errors[0].reason
        return error


@pytest.mark.parametrize("view_name", VIEW_NAMES)
@pytest.mark.parametrize(
    "raw",
    [b"", b"{not json", b"[]", b"null", b"{}", b'{"o": 1, "s": {}, "t": []}', b'{"o": "x"}'],
    ids=["empty", "not-json", "list", "null", "no-fields", "empty-state", "bad-offset"],
)
def test_an_unreadable_entry_says_so(view_name: str, raw: bytes) -> None:
    view = VIEWS[view_name]
    assert isinstance(read_entry(view, raw), ContractError)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VIEW_NAMES), st.binary(max_size=300))
def test_any_bytes_as_an_entry(view_name: str, raw: bytes) -> None:
    read_entry(VIEWS[view_name], raw)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_stored_entry_with_a_value_replaced(data: st.DataObject) -> None:
    view = VIEWS[data.draw(st.sampled_from(VIEW_NAMES))]
    entry = orjson.loads(stored_entry(view))
    state = entry["s"]
    if data.draw(st.booleans()) and isinstance(state, dict) and state:
        path: tuple[str, ...] = ("s", data.draw(st.sampled_from(sorted(state))))
    else:
        path = (data.draw(st.sampled_from(sorted(entry))),)
    read_entry(view, with_token(entry, path, data.draw(TOKENS)))
