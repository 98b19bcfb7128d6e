"""The offers API as a child process (``uvicorn offers_api.main:app``) on a free port,
for the demo and the tests that need it over HTTP: the provider sandbox posts webhooks
to it, and simulated customers open their redemption links."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path
from types import TracebackType

from offers.settings import Settings
from offers.stack.process import free_port, start_process, stop_pid, wait_until

HOST = "127.0.0.1"


def api_base_url(port: int) -> str:
    return f"http://{HOST}:{port}"


GRACEFUL_SHUTDOWN_S = 5
"""How long a stopping API waits for open requests: the web page's live stream stays
open until its page goes away, and would hold the shutdown otherwise."""


class ApiProcess:
    """The API serving ``settings`` (its public base URL should be :attr:`base_url`, so
    links and callbacks point at it); its output goes to ``<log_dir>/api.log``."""

    def __init__(self, settings: Settings, log_dir: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base_url = api_base_url(self.port)
        self.log_path = log_dir / "api.log"
        argv = [
            sys.executable, "-m", "uvicorn", "offers_api.main:app",
            "--host", HOST, "--port", str(self.port), "--log-level", "warning",
            "--no-access-log", "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_S),
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] = start_process(
            argv, self.log_path, env=settings.as_environment()
        )

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/openapi.json", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_until(
            self.ready,
            timeout=timeout,
            what=f"the API (log {self.log_path})",
            alive=lambda: self.process.poll() is None,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            stop_pid(self.process.pid, timeout=10.0, reap=self.process.poll)
        self.process.wait(timeout=5)

    def __enter__(self) -> ApiProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["ApiProcess", "api_base_url"]
