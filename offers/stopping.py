"""Signal handling for long-running commands."""

from __future__ import annotations

import signal
from types import FrameType


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so ``with`` blocks stop what they started."""

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)


def ignore_interrupts() -> None:
    """Once a command has stopped what it started and is exiting: a further Ctrl-C or
    SIGTERM (a second press, a supervisor repeating itself) no longer cuts the exit short,
    so the command still ends with its own exit code and message."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
