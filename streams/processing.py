"""One event through one feature view, as a pure step over the key's stored entry.

A key's entry is what its table holds: the view's state, the source offset of the last
event applied to it and the geofence transitions that event caused. The offset makes
processing idempotent: after a crash, Kafka redelivers the events after the last
committed offset, but the table (restored from its changelog) may already include some
of them; those are recognised by their offset and not applied twice. Their row is
written again, in case the crash came after the table was written but before the row
was; the key's last applied event also sends its geofence transitions again, under the
same ids, for the same reason (consumers of transitions deduplicate on the id).

:func:`read_record` is the edge before the step: a record becomes an event, or a
ContractError with the reason, which the worker sends to the dead-letter topic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson

from offers.contracts import (
    Event,
    GeofenceAction,
    GeofenceTransition,
    LocationPing,
    ValidationClock,
    decode,
)
from offers.errors import ContractError, FieldError
from streams.features.rows import LocationUpdate, Row
from streams.views import FeatureView

Transition = tuple[str, str]
"""(port, action) of one geofence transition."""


def kept(raw: bytes) -> bytes:
    """``raw`` copied into a bytes object of its own size, for a value kept in memory for
    long (a table entry lives as long as its key). orjson returns its output in the buffer
    it wrote it in, at least 4 KiB, never shrunk: a table of 140-byte entries held 4 KiB
    for each (the worker's memory grew by 3 KiB per new key)."""
    return bytes(memoryview(raw))


@dataclass(frozen=True, slots=True)
class Entry:
    """A key's stored state, and the last event applied to it."""

    state: Any
    offset: int
    transitions: tuple[Transition, ...] = ()

    def encode(self) -> bytes:
        return kept(
            orjson.dumps(
                {
                    "o": self.offset,
                    "s": self.state.to_dict(),
                    "t": [list(t) for t in self.transitions],
                }
            )
        )

    @classmethod
    def decode(cls, view: FeatureView, raw: bytes) -> Entry:
        """The entry stored as ``raw``; ContractError saying why when it cannot be read
        (a changelog is a topic like any other, and anything may have been written to
        it)."""
        try:
            data = orjson.loads(raw)
            return cls(
                view.state_from_dict(data["s"]),
                int(data["o"]),
                tuple((str(port), str(action)) for port, action in data["t"]),
            )
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise ContractError(
                [FieldError("entry", f"the stored {view.name} entry is unreadable ({problem})")]
            ) from None


@dataclass(frozen=True, slots=True)
class Step:
    """What processing one event produced."""

    row: Row | None
    """The key's row to write, or None when the event changed no feature (a late event)."""
    entry: Entry | None
    """The entry to store, or None when the event had already been applied (a replay)."""
    transitions: list[GeofenceTransition] = field(default_factory=list)
    late: bool = False

    @property
    def replayed(self) -> bool:
        return self.entry is None


def read_record(
    view: FeatureView, key: bytes | None, value: bytes | None, clock: ValidationClock
) -> tuple[Event, bytes]:
    """The event of one record of the view's topic, and its key, which must be the
    record's key: the edge of the feature agents. Anything else, whatever the record
    holds, is a ContractError naming what is wrong (a record without a value, a value
    :func:`offers.contracts.decode` rejects, a missing or different key)."""
    event = decode(value, expected=view.event_type, clock=clock)
    expected_key = view.key_of(event)
    if key is None or key != expected_key.encode():
        shown = "no key" if key is None else f"key {key[:100].decode(errors='replace')!r}"
        raise ContractError(
            [
                FieldError(
                    view.key_field,
                    f"the record has {shown}, but {view.topic.name} records are keyed "
                    f"by {view.key_field} ({expected_key!r})",
                )
            ]
        )
    return event, key


def step(
    view: FeatureView,
    stored: bytes | None,
    event: Event,
    offset: int,
    allowed_lateness: timedelta,
) -> Step:
    """Apply ``event`` (read at source ``offset``) to the key's ``stored`` entry."""
    key = view.key_of(event)
    if stored is not None:
        entry = Entry.decode(view, stored)
        if offset <= entry.offset:
            # only the stored (last applied) event's own transitions are kept
            caused = entry.transitions if offset == entry.offset else ()
            return Step(view.row(entry.state, key), None, _transitions(event, caused))
        state = entry.state
    else:
        state = view.new_state()
    update = view.update(state, event, allowed_lateness)
    moved: tuple[Transition, ...] = ()
    if isinstance(update, LocationUpdate):
        moved = tuple(
            (port, action.value)
            for port, action in (
                (update.exited, GeofenceAction.EXIT),
                (update.entered, GeofenceAction.ENTER),
            )
            if port
        )
    return Step(
        None if update.late else update.row,
        Entry(update.state, offset, moved),
        _transitions(event, moved),
        update.late,
    )


def _transitions(event: Event, moved: tuple[Transition, ...]) -> list[GeofenceTransition]:
    if not moved or not isinstance(event, LocationPing):
        return []
    return [
        GeofenceTransition(
            event_id=transition_id(event.event_id, port, action),
            event_time=event.event_time,
            customer_id=event.customer_id,
            port=port,
            action=GeofenceAction(action),
            ping_event_id=event.event_id,
        )
        for port, action in moved
    ]


def transition_id(ping_event_id: str, port: str, action: str) -> str:
    """The id of a transition: the same for the same ping, port and action."""
    digest = hashlib.blake2b(f"{ping_event_id}|{port}|{action}".encode(), digest_size=12)
    return f"geo-{digest.hexdigest()}"
