"""Signal handling for long-running commands."""

from __future__ import annotations

import signal
from types import FrameType


def stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so ``with`` blocks stop what they started."""

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)
