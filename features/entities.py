"""The entities features are keyed by: customers, sailings and ports (string ids)."""

from __future__ import annotations

from feast import Entity, ValueType

customer = Entity(
    name="customer",
    join_keys=["customer_id"],
    value_type=ValueType.STRING,
    description="A customer of the ferry operator.",
)

sailing = Entity(
    name="sailing",
    join_keys=["sailing_id"],
    value_type=ValueType.STRING,
    description="One scheduled departure of a route.",
)

port = Entity(
    name="port",
    join_keys=["port_id"],
    value_type=ValueType.STRING,
    description="A port of the network, e.g. LIV (Livorno).",
)

ALL_ENTITIES: tuple[Entity, ...] = (customer, sailing, port)
