"""Debian's redis-server as a child process, installed when missing."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import redis

from offers.errors import StackError
from offers.stack.process import start_process

log = logging.getLogger(__name__)


def redis_server_binary() -> str:
    """The path of ``redis-server``; installs Debian's package when it is missing."""
    found = shutil.which("redis-server")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise StackError("redis-server is missing and there is no apt-get to install it")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log.info("installing Debian's redis-server")
    for argv in (
        [*sudo, apt, "update", "-qq"],
        [*sudo, apt, "install", "-y", "-qq", "redis-server"],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise StackError(f"'{' '.join(argv)}' failed:\n{done.stderr[-2000:]}")
    found = shutil.which("redis-server")
    if not found:
        raise StackError("redis-server is still missing after installing it")
    return found


@dataclass(frozen=True, slots=True)
class RedisLayout:
    """Where one local Redis keeps its data and log."""

    root: Path
    port: int

    @property
    def log_path(self) -> Path:
        return self.root / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis(layout: RedisLayout, *, detach: bool = False) -> subprocess.Popen[bytes]:
    """Start Redis on loopback with an append-only file, so a restart loses no counter."""
    layout.root.mkdir(parents=True, exist_ok=True)
    argv = [
        redis_server_binary(),
        "--bind", "127.0.0.1",
        "--port", str(layout.port),
        "--dir", str(layout.root),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--daemonize", "no",
        "--protected-mode", "yes",
        "--logfile", "",
    ]  # fmt: skip
    return start_process(argv, layout.log_path, detach=detach)


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
