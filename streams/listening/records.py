"""The listening topics' records: events of :data:`offers.contracts.LISTENING_EVENT_TYPES`
as the same compact JSON as every other event, read by :func:`offers.contracts.decode`."""

from __future__ import annotations

from typing import TypeVar, cast

from offers.contracts import Event, ValidationClock, decode

E = TypeVar("E", bound=Event)


def decode_record(raw: bytes | None, expected: type[E], clock: ValidationClock | None = None) -> E:
    """The event of type ``expected`` in ``raw``; ContractError naming each bad field."""
    return cast(E, decode(raw, expected=expected, clock=clock))
