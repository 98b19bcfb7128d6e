"""How the value types of ``features.fields`` map to Feast and Arrow types."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from feast import Field
from feast.types import Array, Float64, Int64, String

from features.fields import FeatureField, ValueType

FEAST_TYPES: dict[ValueType, Any] = {
    "float": Float64,
    "int": Int64,
    "str": String,
    "str_list": Array(String),
    "int_list": Array(Int64),
}

ARROW_TYPES: dict[ValueType, pa.DataType] = {
    "float": pa.float64(),
    "int": pa.int64(),
    "str": pa.string(),
    "str_list": pa.list_(pa.string()),
    "int_list": pa.list_(pa.int64()),
}


def feast_type(value_type: ValueType) -> Any:
    """The Feast type of a field type (Feast types are untyped, hence ``Any``)."""
    return FEAST_TYPES[value_type]


def pyarrow_type(value_type: ValueType) -> pa.DataType:
    return ARROW_TYPES[value_type]


def feast_field(field: FeatureField) -> Field:
    return Field(name=field.name, dtype=feast_type(field.type), description=field.description)
