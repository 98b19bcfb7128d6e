"""The listening topics' records: events of :data:`offers.contracts.LISTENING_EVENT_TYPES`
as the same compact JSON as every other event, validated strictly when read."""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError

from offers.contracts import Event, ValidationClock
from offers.errors import ContractError, FieldError

E = TypeVar("E", bound=Event)


def decode_record(raw: bytes | None, expected: type[E], clock: ValidationClock | None = None) -> E:
    """The event of type ``expected`` in ``raw``; ContractError naming each bad field."""
    if raw is None:
        raise ContractError([FieldError("$", "the record has no value (a tombstone)")])
    try:
        return expected.model_validate_json(
            raw, strict=True, context={"clock": clock or ValidationClock()}
        )
    except ValidationError as exc:
        raise ContractError(
            [
                FieldError(".".join(str(p) for p in error["loc"]) or "$", error["msg"])
                for error in exc.errors()
            ]
        ) from None
