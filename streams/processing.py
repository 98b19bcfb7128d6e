"""One event through one feature view, as a pure step over the key's stored entry.

A key's entry is what its table holds: the view's state, the source offset of the last
event applied to it and the geofence transitions that event caused. The offset makes
processing idempotent: after a crash, Kafka redelivers the events after the last
committed offset, but the table (restored from its changelog) may already include some
of them; those are recognised by their offset and not applied twice. Their row is
written again, in case the crash came after the table was written but before the row
was; the key's last applied event also sends its geofence transitions again, under the
same ids, for the same reason (consumers of transitions deduplicate on the id).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson

from offers.contracts import Event, GeofenceAction, GeofenceTransition, LocationPing
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
        data = orjson.loads(raw)
        return cls(
            view.state_from_dict(data["s"]),
            int(data["o"]),
            tuple((str(port), str(action)) for port, action in data["t"]),
        )


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
