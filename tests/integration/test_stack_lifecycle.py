"""The command line starts and stops the stack; nothing is left running afterwards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from offers.settings import Settings
from offers.stack.process import pid_alive


def _env(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OFFERS_STACK_DIR": str(root),
        "OFFERS_STACK_KAFKA_PORT": "0",
        "OFFERS_STACK_REDIS_PORT": "0",
        "OFFERS_TOPIC_PARTITIONS": "2",
        "OFFERS_FEAST_DATA_DIR": str(root / "feast"),
        "OFFERS_MODEL_DIR": str(root / "registry"),
    }


def _offers(*args: str, root: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "offers.cli", *args],
        env=_env(root), capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def _children_of(root: Path) -> list[int]:
    """Pids of any process whose command line names this stack's directory."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(root) in cmdline and pid_alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def test_stack_up_status_down_leaves_nothing_behind(tmp_path: Path) -> None:
    up = _offers("stack", "up", root=tmp_path)
    assert up.returncode == 0, up.stderr
    assert "export OFFERS_KAFKA_BOOTSTRAP=127.0.0.1:" in up.stdout

    status = json.loads(_offers("stack", "status", root=tmp_path).stdout)
    assert status["running"] is True
    assert status["kafka"]["answers"] and status["redis"]["answers"]
    pids = [status["kafka"]["pid"], status["redis"]["pid"]]
    assert all(pid_alive(pid) for pid in pids)
    assert Path(status["kafka"]["log"]).exists()

    second = _offers("stack", "up", root=tmp_path)
    assert second.returncode == 1
    assert "already running" in second.stderr

    down = _offers("stack", "down", root=tmp_path)
    assert down.returncode == 0, down.stderr
    assert not any(pid_alive(pid) for pid in pids)
    assert _children_of(tmp_path) == []
    assert json.loads(_offers("stack", "status", root=tmp_path).stdout)["running"] is False


def as_in_a_terminal() -> None:
    """In the child: Ctrl-C's signal at its default, as a command typed in a terminal
    has it. A job started in the background of a non-interactive shell (a CI script's
    ``make test &``) has SIGINT ignored, and a program inherits that: Python then
    installs no handler, and SIGINT does nothing, by design."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_demo_stops_the_stack(tmp_path: Path, sig: signal.Signals) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "offers.cli", "demo", "--customers", "1000", "--rate", "200"],
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=as_in_a_terminal,
    )  # fmt: skip
    state = tmp_path / "state.json"
    deadline = time.monotonic() + 120
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state.exists(), "the demo did not start the stack"
    pids = json.loads(state.read_text())
    time.sleep(2)
    demo.send_signal(sig)
    output, _ = demo.communicate(timeout=60)

    assert demo.returncode == 130, output
    assert "interrupted" in output
    assert not pid_alive(pids["kafka_pid"]) and not pid_alive(pids["redis_pid"])
    assert _children_of(tmp_path) == []


def test_killing_the_demo_outright_still_stops_its_children(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "offers.cli", "demo", "--customers", "1000", "--rate", "200"],
        env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    state = tmp_path / "state.json"
    deadline = time.monotonic() + 120
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    pids = json.loads(state.read_text())
    demo.kill()
    demo.wait(timeout=30)

    # The children get SIGTERM when their parent dies and shut down on their own.
    children = (pids["kafka_pid"], pids["redis_pid"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        _children_of(tmp_path) or any(pid_alive(pid) for pid in children)
    ):
        time.sleep(0.2)
    assert _children_of(tmp_path) == []
    assert not any(pid_alive(pid) for pid in children)


def test_the_stack_registers_the_feature_repository(stack_settings: Settings) -> None:
    from features.store import SCORING_SERVICE, feature_store

    store = feature_store(stack_settings)
    assert store.get_feature_service(SCORING_SERVICE).name == SCORING_SERVICE
    assert {v.name for v in store.list_feature_views()} >= {
        "customer_location_fv", "customer_social_fv", "customer_booking_fv", "sailing_state_fv",
    }  # fmt: skip
