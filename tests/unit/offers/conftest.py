"""Fixtures over the shared example events of ``tests/factories.py``, with a fixed clock."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from offers.contracts import Event, ValidationClock, decode
from offers.errors import ContractError, FieldError
from tests import factories
from tests.factories import NOW, wire

WireFactory = Callable[..., dict[str, Any]]
EventFactory = Callable[..., Event]


@pytest.fixture(scope="session")
def clock() -> ValidationClock:
    return ValidationClock(now=NOW)


@pytest.fixture(scope="session")
def make_wire() -> WireFactory:
    """``make_wire(type_name, **overrides)``: a valid record as a JSON-ready dict."""
    return wire


@pytest.fixture(scope="session")
def make_raw() -> Callable[..., bytes]:
    """``make_raw(type_name, **overrides)``: a valid record as JSON bytes."""

    def build(type_name: str, **overrides: Any) -> bytes:
        return orjson.dumps(wire(type_name, **overrides))

    return build


@pytest.fixture(scope="session")
def make_event(clock: ValidationClock) -> EventFactory:
    """``make_event(cls_or_type_name, **overrides)``: a valid event model."""

    def build(kind: str | type[Event], **overrides: Any) -> Event:
        return factories.make_event(kind, clock=clock, **overrides)

    return build


def _names(error: ContractError, field: str, fragment: str) -> FieldError:
    for item in error.errors:
        if item.field == field and fragment in item.reason:
            return item
    raise AssertionError(
        f"expected a rejection of {field!r} containing {fragment!r}, got {error.errors!r}"
    )


@pytest.fixture(scope="session")
def reject(clock: ValidationClock) -> Callable[..., ContractError]:
    """``reject(raw, field, fragment, **decode_kwargs)``: decode ``raw`` and assert it fails.

    ``raw`` is bytes, text or a dict (sent as JSON). The ContractError must name ``field``
    with a reason containing ``fragment``; it is returned for further checks.
    """

    def check(
        raw: bytes | str | dict[str, Any], field: str, fragment: str, **kwargs: Any
    ) -> ContractError:
        if isinstance(raw, dict):
            raw = orjson.dumps(raw)
        kwargs.setdefault("clock", clock)
        with pytest.raises(ContractError) as info:
            decode(raw, **kwargs)
        _names(info.value, field, fragment)
        return info.value

    return check


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``OFFERS_*`` variable from the outer environment leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("OFFERS_"):
            monkeypatch.delenv(name)
    return monkeypatch
