"""Children of the local stack die with this process, and only with it: not with the
thread that happened to start them."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from offers.stack.process import pid_alive, start_process, stop_pid


def test_a_child_started_from_a_thread_outlives_that_thread(tmp_path: Path) -> None:
    started: list[int] = []

    def start() -> None:
        proc = start_process(
            [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "c.log"
        )
        started.append(proc.pid)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    time.sleep(0.5)  # the parent-death signal, were it sent, arrives at once
    try:
        assert pid_alive(started[0])
    finally:
        stop_pid(started[0], timeout=5)
    assert not pid_alive(started[0])
