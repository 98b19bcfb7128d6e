"""A tiny HTTP server for sandbox tests: records what it is posted and answers every
request with a fixed body (TwiML, JSON or nothing)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Posted:
    path: str
    headers: dict[str, str]
    body: bytes


class AnsweringServer:
    """Serves on a free local port until :meth:`close`; answers ``answer`` with
    ``content_type`` to every POST."""

    def __init__(self, answer: bytes = b"", content_type: str = "text/plain") -> None:
        self.answer = answer
        self.content_type = content_type
        self.posted: list[Posted] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with server._lock:
                    server.posted.append(Posted(self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Type", server.content_type)
                self.send_header("Content-Length", str(len(server.answer)))
                self.end_headers()
                self.wfile.write(server.answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def wait(self, count: int, timeout_s: float = 5.0) -> list[Posted]:
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                if len(self.posted) >= count:
                    return list(self.posted)
            assert time.monotonic() < deadline, f"got {len(self.posted)} of {count} posts"
            time.sleep(0.01)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
