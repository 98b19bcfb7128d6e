"""Waiting for what a running worker or API will show: a check polled until it finds it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T | None], what: str, timeout: float = 180.0) -> T:
    """What ``check`` first returns other than None, polled every second; an
    AssertionError naming ``what`` when ``timeout`` seconds pass without it."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(1.0)
