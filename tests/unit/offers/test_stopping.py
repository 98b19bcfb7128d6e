"""Signals of the long-running commands (``offers.stopping``), on this process: each test
puts the handlers back as it found them."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from offers.stopping import ignore_interrupts, stop_on_sigterm


@pytest.fixture(autouse=True)
def handlers_restored() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_sigterm_stops_like_ctrl_c() -> None:
    stop_on_sigterm()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)


def test_once_exiting_further_interrupts_are_ignored() -> None:
    stop_on_sigterm()
    ignore_interrupts()
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
