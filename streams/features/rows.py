"""What every view's ``apply`` returns: the new state, the feature row and flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

FeatureValue = float | int | str | list[str] | list[int] | datetime
Row = dict[str, FeatureValue]
"""A feature row: the key, ``event_timestamp`` and the fields of its view."""

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Update(Generic[S]):
    """The result of applying one event to a key's state.

    ``late`` is true when the event was older than the watermark: it was counted in the
    state's ``late_events`` and otherwise ignored (``row`` is then the unchanged row).
    """

    state: S
    row: Row
    late: bool


@dataclass(frozen=True, slots=True)
class LocationUpdate(Update[S]):
    """A location update, with the geofence transitions it caused (trigger events)."""

    entered: str | None = None
    """Port whose geofence the customer is now in, if it changed with this ping."""
    exited: str | None = None
    """Port whose geofence the customer left with this ping, if any."""
