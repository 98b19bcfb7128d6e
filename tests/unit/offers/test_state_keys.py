"""A state topic's reader skips a record whose key it cannot read, and says so."""

from __future__ import annotations

import logging

import pytest

from offers.state.compacted import key_text


def test_a_utf8_key_is_its_text() -> None:
    assert key_text("state.consent", b"c0000001|sms") == "c0000001|sms"
    assert key_text("state.consent", "cliente-è".encode()) == "cliente-è"


def test_no_key_or_one_not_utf8_is_none_and_only_the_bad_one_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="offers.state.compacted"):
        assert key_text("state.consent", None) is None
        assert not caplog.records
        assert key_text("state.consent", b"\xff\xfe") is None
    assert [r.getMessage() for r in caplog.records] == [
        "state.consent: skipping a record whose key is not UTF-8: b'\\xff\\xfe'"
    ]
