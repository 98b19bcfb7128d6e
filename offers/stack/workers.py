"""Stream-processor workers as child processes (``faust -A streams.app worker``), their
/metrics page, and how far their consumer group has got through the input topics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from prometheus_client.parser import text_string_to_metric_families

from offers.settings import Settings
from offers.stack.kafka import end_offsets
from offers.stack.process import free_port, start_process
from offers.topics import INPUT_TOPICS, WORKER_TOPICS

STOP_TIMEOUT_S = 20.0
"""How long a worker may take to stop cleanly before it is killed: it commits what it
acknowledged, and what it did not is read again by the next owner."""
PROMETHEUS_MULTIPROCESS_VARIABLES = (
    "PROMETHEUS_MULTIPROCESS_DIR",
    "PROMETHEUS_MULTIPROC_DIR",
    "prometheus_multiproc_dir",
)


class WorkerProcess:
    """One worker process; its output goes to ``<log_dir>/<name>.log``."""

    def __init__(
        self, settings: Settings, name: str, log_dir: Path, *, app: str = "streams.app"
    ) -> None:
        """``app``: the module whose ``app`` the worker runs (``faust -A <app> worker``)."""
        self.name = name
        self.port = free_port()
        self.log_path = log_dir / f"{name}.log"
        env = {**settings.as_environment(), "OFFERS_WORKER_WEB_PORT": str(self.port)}
        # Attached: the worker gets SIGTERM if this process dies, even by SIGKILL.
        # Importing feast sets PROMETHEUS_MULTIPROC_DIR in this process; inherited, it
        # would switch the worker's Prometheus client to files shared between processes.
        self.process = start_process(
            [sys.executable, "-m", "faust", "-A", app, "worker", "-l", "info"],
            self.log_path,
            env=env,
            unset=PROMETHEUS_MULTIPROCESS_VARIABLES,
        )

    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            body: bytes = response.read()
            return body

    def page(self, path: str) -> Any:
        """A JSON page of the worker's web server."""
        return json.loads(self._get(path))

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of the worker's /metrics page, by name and sorted labels."""
        text = self._get("/metrics").decode()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def events(self, outcome: str) -> float:
        """Input records with this outcome, over every topic."""
        return sum(
            value
            for (name, labels), value in self.metrics().items()
            if name == "offers_stream_events_total" and ("outcome", outcome) in labels
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log_tail()}")
            try:
                self.metrics()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready after {timeout} s: {self.log_tail()}")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, then SIGKILL if it has not stopped within ``timeout``."""
        self.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        return self.process.returncode

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM) without waiting."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def stop_all(workers: Iterable[WorkerProcess], timeout: float = STOP_TIMEOUT_S) -> None:
    """Stop several workers at once: SIGTERM to all, then wait for each."""
    stopping = list(workers)
    for worker in stopping:
        worker.terminate()
    deadline = time.monotonic() + timeout
    for worker in stopping:
        worker.stop(max(deadline - time.monotonic(), 0.1))


def group_lag(
    settings: Settings, topics: Iterable[str] | None = None, group: str | None = None
) -> int | None:
    """Records of ``topics`` (by default every topic the workers consume) not yet
    committed by the workers' group (or ``group``), or None while the broker cannot tell
    yet (the group's coordinator is still starting)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        group = group or settings.stream_app_id
        committed = admin.list_group_offsets({group: None}).get(group, {})
    except KafkaError:
        return None
    finally:
        admin.close()
    done: dict[tuple[str, int], int] = {
        (tp.topic, tp.partition): int(meta.offset) for tp, meta in committed.items()
    }
    if topics is None:
        consumed = WORKER_TOPICS if settings.worker_decisions else INPUT_TOPICS
        topics = [spec.name for spec in consumed]
    ends = end_offsets(settings.kafka_bootstrap, topics)
    return sum(end - max(done.get(tp, 0), 0) for tp, end in ends.items())


def wait_caught_up(
    settings: Settings, workers: list[WorkerProcess], timeout: float = 240.0
) -> None:
    """Wait until the group has committed every input record (so every row is written)."""
    deadline = time.monotonic() + timeout
    lag: int | None = None
    while time.monotonic() < deadline:
        for worker in workers:
            if worker.process.poll() is not None:
                raise AssertionError(f"{worker.name} exited: {worker.log_tail()}")
        lag = group_lag(settings)
        if lag == 0:
            return
        time.sleep(0.5)
    tails = "\n".join(w.log_tail() for w in workers)
    raise AssertionError(f"{lag} records still uncommitted after {timeout} s:\n{tails}")
