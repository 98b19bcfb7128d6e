"""Child processes of the local stack: start with a log file, stop cleanly, never orphan."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from offers.errors import StackError

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` different free loopback ports. The sockets stay bound until all are
    chosen: closed one by one, the system may hand out the same port twice."""
    with ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _die_with_parent() -> None:
    """In the child: receive SIGTERM when the parent dies, so no broker is orphaned."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def _spawning_thread() -> ThreadPoolExecutor:
    """The one thread that starts attached children. Linux sends a child its parent-death
    signal when the *thread* that forked it ends, not the process: a child started from a
    short-lived thread would be stopped with that thread. This thread lasts as long as
    the process."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stack-spawner")
        return _spawner


def start_process(
    argv: Sequence[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    unset: Sequence[str] = (),
    cwd: Path | None = None,
    detach: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with stdout and stderr appended to ``log_path``, in this process'
    environment updated with ``env`` and without the variables named in ``unset``.

    Attached children (the default) are tied to this process: they get SIGTERM when it
    dies, even by SIGKILL, and only then (they are started from a thread that lasts as
    long as the process, whichever thread asks). Detached children run in their own
    session and outlive it; they are stopped by pid from the stack's state file.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:

        def spawn() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={
                    name: value
                    for name, value in {**os.environ, **(env or {})}.items()
                    if name not in unset
                },
                cwd=cwd,
                start_new_session=True,
                preexec_fn=None if detach else _die_with_parent,
            )

        try:
            return spawn() if detach else _spawning_thread().submit(spawn).result()
        except OSError as exc:
            raise StackError(f"cannot start {argv[0]}: {exc}") from exc


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def stop_pid(pid: int, *, timeout: float = 20.0, reap: Callable[[], object] | None = None) -> None:
    """SIGTERM the process group of ``pid``, then SIGKILL it if still there after ``timeout``."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if reap is not None:
                reap()
            if not pid_alive(pid):
                return
            time.sleep(0.05)
    raise StackError(f"process {pid} did not stop after SIGKILL")


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, alive: Callable[[], bool]
) -> None:
    """Poll ``check`` until it is true; fail early if the process died, or on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not alive():
            raise StackError(f"{what} exited while starting")
        time.sleep(0.1)
    raise StackError(f"{what} did not become ready within {timeout:.0f} s")
