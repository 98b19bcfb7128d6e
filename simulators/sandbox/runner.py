"""Serving the sandbox with uvicorn on a background thread, for tests and the demo."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from simulators.sandbox.app import create_app
from simulators.sandbox.config import SandboxConfig
from simulators.sandbox.state import Sandbox

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 10.0


@contextmanager
def running_sandbox(
    config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[Sandbox]:
    """Serves a new sandbox on ``host:port`` (0: a free port) while the block runs.

    The sandbox yielded has ``base_url`` set (``http://127.0.0.1:<port>``) and offers the
    inspection API. On exit the server stops, deliveries under way are cancelled and the
    thread is joined.
    """
    sandbox = Sandbox(config)
    app = create_app(sandbox=sandbox)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family)
    bound_port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="provider-sandbox", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the provider sandbox failed to start")
            if time.monotonic() > deadline:
                raise RuntimeError("the provider sandbox did not start in time")
            time.sleep(0.005)
        authority = f"[{host}]" if family == socket.AF_INET6 else host
        sandbox.base_url = f"http://{authority}:{bound_port}"
        yield sandbox
    finally:
        server.should_exit = True
        thread.join(timeout=SHUTDOWN_TIMEOUT_S)
        listener.close()
        sandbox.base_url = None
