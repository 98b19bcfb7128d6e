"""Value types shared by the campaign models.

Scalars are strict (no ``"5"`` for 5, no ``true`` for 1) while datetimes and enum values
are read from their JSON text, so that ``model_validate(model_dump(mode="json"))``
returns an equal model. Sets of enum values are tuples kept in the enum's order, without
repeats, so that a campaign always serialises to the same JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field, Strict, StringConstraints

E = TypeVar("E", bound=Enum)

Euros = Annotated[float, Strict(), Field(ge=0.0, le=10_000_000.0, allow_inf_nan=False)]
"""An amount of money in EUR, zero or more."""

PositiveEuros = Annotated[float, Strict(), Field(gt=0.0, le=10_000_000.0, allow_inf_nan=False)]
"""An amount of money in EUR, more than zero."""

StrictLatitude = Annotated[float, Strict(), Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
StrictLongitude = Annotated[float, Strict(), Field(ge=-180.0, le=180.0, allow_inf_nan=False)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Name = Annotated[
    str, Strict(), StringConstraints(min_length=1, max_length=120), AfterValidator(_not_blank)
]
"""A short human name: 1 to 120 characters, not only blanks."""

Description = Annotated[str, Strict(), StringConstraints(max_length=2_000)]


def canonical(enum: type[E]) -> Callable[[tuple[E, ...]], tuple[E, ...]]:
    """An after-validator that keeps a set of ``enum`` values in the enum's own order."""

    def order(values: tuple[E, ...]) -> tuple[E, ...]:
        chosen = set(values)
        return tuple(member for member in enum if member in chosen)

    return order
