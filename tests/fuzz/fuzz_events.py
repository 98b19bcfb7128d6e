"""A coverage-guided fuzzer (atheris, on libFuzzer) of the event parser and of the stream
processor's edge: ``python -m tests.fuzz.fuzz_events -runs=20000`` (any libFuzzer
option: ``-max_total_time=60``, ``-artifact_prefix=dir/``, a corpus directory).

Each input says how to build a record: its bytes as they are, a valid record of some
type with the bytes in place of one of its values, or a valid record with the bytes
spliced in. The record is then read as the engine reads it: by ``decode`` for any type
and for its own, by ``read_record`` for the feature agent of its topic; a rejected one
is made into a dead letter, which must read back equal. Any exception but a
ContractError naming a field and a reason is a crash: libFuzzer stops, keeps the input
and exits with a failure.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["offers.contracts", "streams.processing"]):
    import orjson

    from offers.contracts import DeadLetter, Event, ValidationClock, decode, encode
    from offers.contracts.codec import to_dead_letter
    from offers.errors import ContractError
    from streams.processing import read_record
    from streams.views import FEATURE_VIEWS, FeatureView
    from tests.factories import ALL_TYPES, NOW, VALID_WIRE, wire
    from tests.fuzz.poison import with_token

CLOCK = ValidationClock(now=NOW)
TYPE_NAMES = sorted(VALID_WIRE)
VIEW_OF_TYPE: dict[str, FeatureView] = {view.event_type.TYPE: view for view in FEATURE_VIEWS}
KAFKA_MESSAGE_LIMIT = 1_000_000


def build(data: bytes) -> tuple[str, bytes]:
    """The type the record was made from, and the record."""
    provider = atheris.FuzzedDataProvider(data)
    how = provider.ConsumeIntInRange(0, 2)
    type_name = provider.PickValueInList(TYPE_NAMES)
    if how == 0:
        return type_name, provider.ConsumeBytes(provider.remaining_bytes())
    record = wire(type_name)
    if how == 1:
        field = provider.PickValueInList(sorted(record))
        return type_name, with_token(
            record, (field,), provider.ConsumeBytes(provider.remaining_bytes())
        )
    raw = orjson.dumps(record)
    at = provider.ConsumeIntInRange(0, len(raw))
    cut = provider.ConsumeIntInRange(0, 8)
    return type_name, raw[:at] + provider.ConsumeBytes(provider.remaining_bytes()) + raw[at + cut :]


def read(raw: bytes, expected: type[Event] | None) -> None:
    """Decode ``raw``; a rejection must name its fields and make a dead letter that fits,
    an accepted event must read back equal from its encoding."""
    try:
        event = decode(raw, expected=expected, clock=CLOCK)
    except ContractError as error:
        check_rejection(raw, error)
        return
    if decode(encode(event), clock=CLOCK) != event:
        raise AssertionError(f"{event!r} does not read back equal")


def check_rejection(raw: bytes, error: ContractError) -> None:
    if not error.errors or not all(e.field and e.reason.strip() for e in error.errors):
        raise AssertionError(f"a rejection without a field or a reason: {error.errors!r}")
    letter = to_dead_letter(raw, error, source_topic="events.fuzz", source_partition=0, now=NOW)
    value = encode(letter)
    if len(value) >= KAFKA_MESSAGE_LIMIT:
        raise AssertionError(f"a dead letter of {len(value)} bytes")
    if decode(value, expected=DeadLetter, clock=CLOCK) != letter:
        raise AssertionError("a dead letter does not read back equal")


def test_one_input(data: bytes) -> None:
    type_name, raw = build(data)
    read(raw, None)
    read(raw, ALL_TYPES[type_name])
    view = VIEW_OF_TYPE.get(type_name)
    if view is not None:
        for key in (b"cust-1", b"S-2025-07-01-0800", None):
            try:
                read_record(view, key, raw, CLOCK)
            except ContractError as error:
                check_rejection(raw, error)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
