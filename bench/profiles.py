"""Where a worker's time went: a summary of py-spy's collapsed stacks.

``bench.decision_latency --profile DIR`` records the engine's worker with py-spy (every
thread, ``--format raw``): one line per distinct stack, ``frame;frame;...;frame count``,
outermost first, and with ``--threads`` a first frame naming the thread. This prints,
over the samples in which a thread was busy (not waiting in ``select``, a lock or a
condition, or sleeping), the share of each thread, and the frames with the largest
inclusive and own shares.

    .venv/bin/python -m bench.profiles DIR/engine-300-120000.txt [--top 25]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

IDLE_FRAMES = (
    "select (selectors.py",
    "wait (threading.py",
    "_worker (concurrent/futures/thread.py:8",
    "sleep (",
    "_wait_for_tstate_lock",
)
"""Frames in which a thread waits rather than works (py-spy samples idle threads too)."""

PLUMBING = (
    "<frozen runpy>",
    "click/",
    "faust/cli/",
    "faust/__main__.py",
    "mode/worker.py",
    "mode/threads.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "threading.py",
    "concurrent/futures/thread.py",
)
"""Frames on every stack of a thread (its entry points): left out of the inclusive list."""

THREAD = re.compile(r"^thread \(0x[0-9a-fA-F]+\)|^thread \(\d+\)|^process \d+")


@dataclass(frozen=True, slots=True)
class Summary:
    samples: int
    """Samples of busy threads."""
    idle: int
    threads: Counter[str]
    inclusive: Counter[str]
    own: Counter[str]


def parse(lines: Iterable[str]) -> list[tuple[list[str], int]]:
    """The stacks of a raw py-spy profile (frames outermost first) and their counts."""
    stacks = []
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        stacks.append((stack.split(";"), int(count)))
    return stacks


def _idle(frames: list[str]) -> bool:
    return any(frames[-1].startswith(idle) or idle in frames[-1] for idle in IDLE_FRAMES)


def summarize(stacks: Iterable[tuple[list[str], int]]) -> Summary:
    busy = idle = 0
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        if _idle(frames):
            idle += count
            continue
        busy += count
        named = [frame for frame in frames if not THREAD.match(frame)]
        thread = next((frame for frame in frames if THREAD.match(frame)), "")
        threads[thread.split(": ", 1)[-1] if ": " in thread else thread] += count
        for frame in set(named):
            if not any(part in frame for part in PLUMBING):
                inclusive[frame] += count
        if named:
            own[named[-1]] += count
    return Summary(busy, idle, threads, inclusive, own)


def render(summary: Summary, top: int) -> str:
    total = max(summary.samples, 1)
    lines = [
        f"{summary.samples:,} busy samples ({summary.idle:,} idle left out)",
        "",
        "| thread | share of busy samples |",
        "| --- | ---: |",
    ]
    lines += [f"| {name or '?'} | {n / total:.1%} |" for name, n in summary.threads.most_common()]
    for title, counts in (("inclusive", summary.inclusive), ("own", summary.own)):
        lines += ["", f"| frame ({title}) | share |", "| --- | ---: |"]
        lines += [f"| `{frame}` | {n / total:.1%} |" for frame, n in counts.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with args.profile.open(encoding="utf-8") as lines:
        print(render(summarize(parse(lines)), args.top))


if __name__ == "__main__":
    main()
