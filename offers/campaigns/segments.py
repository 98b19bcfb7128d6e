"""Segment rules: conditions on online features that a customer must meet.

A rule names a feature of ``features/fields.py`` (customer location, social and booking
features, the sailing's state and the request-time features), an operator and a value of
the feature's type. Which operators apply depends on the type:

========== ================================ ===================================
type       operators                        value
========== ================================ ===================================
int        eq ne lt le gt ge, in            an int; for ``in`` a list of ints
float      eq ne lt le gt ge                a number
str        eq ne, in                        a string; for ``in`` a list of them
str_list   contains                         a string (one of the list's items)
int_list   contains                         an int
========== ================================ ===================================
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from features.fields import (
    CUSTOMER_BOOKING,
    CUSTOMER_LOCATION,
    CUSTOMER_SOCIAL,
    REQUEST_TIME,
    SAILING_STATE,
    ValueType,
)
from offers.campaigns.errors import field_problem

MAX_IN_VALUES = 100


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    CONTAINS = "contains"


_ORDERED = (Operator.EQ, Operator.NE, Operator.LT, Operator.LE, Operator.GT, Operator.GE)

OPERATORS_BY_TYPE: dict[ValueType, tuple[Operator, ...]] = {
    "int": (*_ORDERED, Operator.IN),
    "float": _ORDERED,
    "str": (Operator.EQ, Operator.NE, Operator.IN),
    "str_list": (Operator.CONTAINS,),
    "int_list": (Operator.CONTAINS,),
}
"""The operators a rule may use on a feature of each type."""


def _feature_types() -> dict[str, ValueType]:
    types: dict[str, ValueType] = {}
    for group in (
        CUSTOMER_LOCATION,
        CUSTOMER_SOCIAL,
        CUSTOMER_BOOKING,
        SAILING_STATE,
        REQUEST_TIME,
    ):
        for feature in group:
            if types.setdefault(feature.name, feature.type) != feature.type:
                raise RuntimeError(f"feature {feature.name!r} is declared with two types")
    return types


FEATURE_TYPES: Mapping[str, ValueType] = _feature_types()
"""Every feature a segment rule may name, with its value type."""

Scalar = StrictInt | StrictFloat | StrictStr


def _rule_value(raw: object) -> object:
    """Refuse what no rule can compare with, before the union reports each member."""
    if isinstance(raw, list | tuple):
        for i, item in enumerate(raw):
            if not _is_scalar(item):
                raise field_problem(str(i), f"must be a number or a string (got {item!r})")
        return raw
    if not _is_scalar(raw):
        raise ValueError(f"must be a number, a string or a list of them (got {raw!r})")
    return raw


def _is_scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int | str) and not isinstance(value, bool)


RuleValue = Annotated[Scalar | tuple[Scalar, ...], BeforeValidator(_rule_value)]
"""A number, a string, or a list of them (stored as a tuple); never a bool or null."""


class SegmentRule(BaseModel):
    """``feature op value``: e.g. ``{"feature": "bookings_total", "op": "ge", "value": 2}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature: StrictStr = Field(description="A feature name from features/fields.py.")
    op: Operator = Field(description="eq, ne, lt, le, gt, ge, in or contains.")
    value: RuleValue = Field(
        description="A value of the feature's type; a non-empty list for 'in'."
    )

    @field_validator("feature")
    @classmethod
    def _known_feature(cls, name: str) -> str:
        if name not in FEATURE_TYPES:
            known = ", ".join(sorted(FEATURE_TYPES))
            raise ValueError(f"unknown feature {name!r}; known features: {known}")
        return name

    @model_validator(mode="after")
    def _typed(self) -> SegmentRule:
        kind = FEATURE_TYPES[self.feature]
        allowed = OPERATORS_BY_TYPE[kind]
        if self.op not in allowed:
            names = ", ".join(op.value for op in allowed)
            raise field_problem(
                "op",
                f"'{self.op.value}' does not apply to the {kind} feature {self.feature!r}; "
                f"use {names}",
            )
        element = _element_type(kind)
        if self.op is Operator.IN:
            _check_list(self.value, element, self.feature)
        elif not _is_a(self.value, element):
            raise field_problem(
                "value",
                f"must be {_ARTICLE[element]} for the {kind} feature {self.feature!r} "
                f"with '{self.op.value}' (got {self.value!r})",
            )
        return self

    def matches(self, features: Mapping[str, Any]) -> bool:
        """Whether a customer with these feature values meets the rule.

        A feature that is missing or None never matches.
        """
        actual = features.get(self.feature)
        if actual is None:
            return False
        op, value = self.op, self.value
        if op is Operator.CONTAINS:
            return isinstance(actual, list | tuple) and value in actual
        if op is Operator.IN:
            return isinstance(value, tuple) and actual in value
        if op is Operator.EQ:
            return bool(actual == value)
        if op is Operator.NE:
            return bool(actual != value)
        if isinstance(actual, int | float) and isinstance(value, int | float):
            return _ORDER_CHECKS[op](actual, value)
        return False


_ORDER_CHECKS: dict[Operator, Callable[[float, float], bool]] = {
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
}

_ARTICLE = {"int": "an int", "float": "a number", "str": "a string"}


def _element_type(kind: ValueType) -> str:
    return {"str_list": "str", "int_list": "int"}.get(kind, kind)


def _is_a(value: object, element: str) -> bool:
    if isinstance(value, bool):
        return False
    if element == "int":
        return isinstance(value, int)
    if element == "float":
        return isinstance(value, int | float)
    return isinstance(value, str)


def _check_list(value: object, element: str, feature: str) -> None:
    if not isinstance(value, tuple):
        raise field_problem("value", f"must be a list of values for 'in' (got {value!r})")
    if not value:
        raise field_problem("value", "must list at least one value for 'in'")
    if len(value) > MAX_IN_VALUES:
        raise field_problem("value", f"may list at most {MAX_IN_VALUES} values for 'in'")
    for i, item in enumerate(value):
        if not _is_a(item, element):
            raise field_problem(
                f"value.{i}", f"must be {_ARTICLE[element]} for the feature {feature!r}"
            )
        if item in value[:i]:
            raise field_problem(f"value.{i}", f"{item!r} is listed twice")
