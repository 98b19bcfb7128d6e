"""The roles of the people and services that call the engine: one list for the API's
access checks and for the audit trail."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    MARKETER = "marketer"
    DATA_SCIENTIST = "data_scientist"
    ADMIN = "admin"
