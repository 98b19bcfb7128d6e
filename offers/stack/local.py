"""The local stack: one Kafka broker and one Redis, started together, stopped together.

Used by ``offers stack up|down|status``, by ``make demo`` and by the integration test
fixtures. State (pids, ports, log paths) is kept in ``<stack_dir>/state.json`` so a later
command can stop a detached stack.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Literal

from offers.errors import StackError
from offers.settings import Settings
from offers.stack.kafka import (
    BrokerLayout,
    broker_answers,
    broker_jars,
    create_topics,
    format_storage,
    start_broker,
    write_broker_config,
)
from offers.stack.process import free_ports, pid_alive, port_is_open, stop_pid, wait_until
from offers.stack.redis import RedisLayout, redis_answers, start_redis

log = logging.getLogger(__name__)

KAFKA_START_TIMEOUT = 90.0
REDIS_START_TIMEOUT = 15.0

Service = Literal["kafka", "redis"]


@dataclass(frozen=True, slots=True)
class StackState:
    root: str
    kafka_pid: int
    kafka_port: int
    controller_port: int
    kafka_log: str
    redis_pid: int
    redis_port: int
    redis_log: str
    started_at: float

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def alive(self) -> bool:
        """Both processes still run."""
        return pid_alive(self.kafka_pid) and pid_alive(self.redis_pid)

    def pointed_at(self, settings: Settings) -> Settings:
        """``settings`` with Kafka and Redis pointed at this stack."""
        return settings.model_copy(
            update={"kafka_bootstrap": self.kafka_bootstrap, "redis_url": self.redis_url}
        )

    def environment(self) -> dict[str, str]:
        """The variables that point the engine's settings at this stack."""
        return {"OFFERS_KAFKA_BOOTSTRAP": self.kafka_bootstrap, "OFFERS_REDIS_URL": self.redis_url}


def state_path(root: Path) -> Path:
    return root / "state.json"


def read_state(root: Path) -> StackState | None:
    try:
        return StackState(**json.loads(state_path(root).read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise StackError(f"unreadable stack state {state_path(root)}: {exc}") from exc


class LocalStack:
    """Start a broker and Redis as children; a context manager that always stops them.

    ``detach=True`` leaves them running after this process exits (``offers stack up``);
    otherwise they die with it, even when it is killed.
    """

    def __init__(self, settings: Settings, root: Path | None = None, *, detach: bool = False):
        self.settings = settings
        self.root = (root or settings.stack_dir).resolve()
        self.detach = detach
        self.state: StackState | None = None
        self._children: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> LocalStack:
        self.up()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.down()

    def configured(self) -> Settings:
        """The settings, pointed at this running stack."""
        if self.state is None:
            raise StackError("the stack is not running")
        return self.state.pointed_at(self.settings)

    def up(self) -> StackState:
        running = read_state(self.root)
        if running is not None and running.alive():
            raise StackError(
                f"a stack is already running from {self.root} "
                f"(Kafka {running.kafka_bootstrap}, Redis {running.redis_url}); "
                "stop it with 'offers stack down'"
            )
        libs = broker_jars(self.settings)
        spare = iter(free_ports(3))  # chosen together, so never twice the same
        broker = BrokerLayout(
            self.root / "kafka",
            _port(self.settings.stack_kafka_port, "Kafka", spare),
            next(spare),
        )
        cache = RedisLayout(
            self.root / "redis", _port(self.settings.stack_redis_port, "Redis", spare)
        )
        write_broker_config(broker, self.settings)
        format_storage(libs, self.settings, broker)
        try:
            redis_proc = self._spawn(start_redis(cache, detach=self.detach))
            kafka_proc = self._spawn(start_broker(libs, self.settings, broker, detach=self.detach))
            self.state = StackState(
                root=str(self.root),
                kafka_pid=kafka_proc.pid, kafka_port=broker.port,
                controller_port=broker.controller_port, kafka_log=str(broker.log_path),
                redis_pid=redis_proc.pid, redis_port=cache.port, redis_log=str(cache.log_path),
                started_at=time.time(),
            )  # fmt: skip
            state_path(self.root).write_text(json.dumps(asdict(self.state), indent=2))
            wait_until(lambda: redis_answers(cache.url), timeout=REDIS_START_TIMEOUT,
                       what=f"Redis (log: {cache.log_path})",
                       alive=lambda: redis_proc.poll() is None)  # fmt: skip
            wait_until(lambda: broker_answers(broker.bootstrap), timeout=KAFKA_START_TIMEOUT,
                       what=f"the Kafka broker (log: {broker.log_path})",
                       alive=lambda: kafka_proc.poll() is None)  # fmt: skip
            create_topics(broker.bootstrap, self.settings)
            _apply_feature_repo(self.configured())
        except BaseException:
            self.down()
            raise
        return self.state

    def stop_service(self, service: Service, *, kill: bool = False) -> None:
        """Stop the broker or Redis alone (SIGTERM, or SIGKILL with ``kill``), keeping its
        data and its port, until :meth:`start_service` starts it again: a fault to live
        through, as a crash or a restart of that service would be."""
        state = self._running()
        pid = state.kafka_pid if service == "kafka" else state.redis_pid
        proc = next((p for p in self._children if p.pid == pid), None)
        if kill:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        stop_pid(pid, reap=proc.poll if proc is not None else None)
        if proc is not None:
            proc.wait()
            self._children.remove(proc)

    def start_service(self, service: Service) -> float:
        """Start the broker or Redis again on its port and data, after
        :meth:`stop_service`; the seconds until it answered."""
        state = self._running()
        started = time.monotonic()
        if service == "kafka":
            layout = BrokerLayout(self.root / "kafka", state.kafka_port, state.controller_port)
            proc = self._spawn(
                start_broker(broker_jars(self.settings), self.settings, layout, detach=self.detach)
            )
            self.state = replace(state, kafka_pid=proc.pid)
            wait_until(lambda: broker_answers(layout.bootstrap), timeout=KAFKA_START_TIMEOUT,
                       what=f"the Kafka broker (log: {layout.log_path})",
                       alive=lambda: proc.poll() is None)  # fmt: skip
        else:
            cache = RedisLayout(self.root / "redis", state.redis_port)
            proc = self._spawn(start_redis(cache, detach=self.detach))
            self.state = replace(state, redis_pid=proc.pid)
            wait_until(lambda: redis_answers(cache.url), timeout=REDIS_START_TIMEOUT,
                       what=f"Redis (log: {cache.log_path})",
                       alive=lambda: proc.poll() is None)  # fmt: skip
        state_path(self.root).write_text(json.dumps(asdict(self.state), indent=2))
        return time.monotonic() - started

    def _running(self) -> StackState:
        if self.state is None:
            raise StackError("the stack is not running")
        return self.state

    def _spawn(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self._children.append(proc)
        return proc

    def down(self) -> None:
        """Stop the broker first (it flushes), then Redis; forget the state."""
        state = self.state or read_state(self.root)
        procs = {p.pid: p for p in self._children}
        if state is not None:
            for pid in (state.kafka_pid, state.redis_pid):
                proc = procs.get(pid)
                stop_pid(pid, reap=proc.poll if proc is not None else None)
        for proc in self._children:
            if proc.poll() is None:
                stop_pid(proc.pid, reap=proc.poll)
        self._children.clear()
        state_path(self.root).unlink(missing_ok=True)
        self.state = None

    def wipe(self) -> None:
        """Delete the stack's data (topics, Redis file); only when it is stopped."""
        if read_state(self.root) is not None:
            raise StackError("stop the stack before wiping its data")
        for sub in ("kafka", "redis"):
            shutil.rmtree(self.root / sub, ignore_errors=True)


def _apply_feature_repo(settings: Settings) -> None:
    """Register the Feast feature repository on this stack's Redis (idempotent)."""
    from features.store import apply_feature_repo  # Feast is slow to import: only here

    apply_feature_repo(settings)


def _port(configured: int, what: str, spare: Iterator[int]) -> int:
    if configured == 0:
        return next(spare)
    if port_is_open(configured):
        raise StackError(
            f"port {configured} for {what} is already in use; set OFFERS_STACK_"
            f"{what.upper()}_PORT to another port, or 0 for a free one"
        )
    return configured


def stack_status(root: Path) -> dict[str, object]:
    """What runs from ``root``: pids, whether they are alive and answer, and log paths."""
    state = read_state(root.resolve())
    if state is None:
        return {"running": False, "root": str(root.resolve())}
    kafka_alive, redis_alive = pid_alive(state.kafka_pid), pid_alive(state.redis_pid)
    return {
        "running": kafka_alive and redis_alive,
        "root": state.root,
        "kafka": {
            "bootstrap": state.kafka_bootstrap, "pid": state.kafka_pid, "alive": kafka_alive,
            "answers": kafka_alive and broker_answers(state.kafka_bootstrap),
            "log": state.kafka_log,
        },
        "redis": {
            "url": state.redis_url, "pid": state.redis_pid, "alive": redis_alive,
            "answers": redis_alive and redis_answers(state.redis_url), "log": state.redis_log,
        },
    }  # fmt: skip
