"""The soak benchmark's pure parts (``bench/soak.py``): the flatness verdict on the
worker's RSS, and what it reads from /proc."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from bench.soak import (
    Sample,
    descendants,
    flatness,
    parse_stat,
    per_minute,
    verdict_line,
    vm_rss_kib,
    warmup_s,
)

HALF_HOUR_S = 1_800.0

STATUS = """\
Name:\tpython
Umask:\t0022
State:\tS (sleeping)
Tgid:\t4242
Pid:\t4242
PPid:\t4000
VmPeak:\t 1203456 kB
VmSize:\t 1180000 kB
VmHWM:\t  412345 kB
VmRSS:\t  398760 kB
RssAnon:\t  350000 kB
Threads:\t12
"""

# the command name holds a space and a parenthesis, as a process can name itself
STAT = (
    "4242 (faust) worker) S 4000 4242 4242 0 -1 4194560 52345 0 12 0 "
    "1500 320 40 7 20 0 12 0 98765 1208320000 99690 18446744073709551615"
)


def series(
    rss_at: Callable[[float], float], minutes: float = 30.0, every_s: float = 10.0
) -> list[tuple[float, float]]:
    """Samples every ``every_s`` seconds of ``rss_at(elapsed_s)``, from 0 to the end."""
    steps = int(minutes * 60 / every_s)
    return [(i * every_s, rss_at(i * every_s)) for i in range(steps + 1)]


def test_the_warm_up_is_a_fifth_of_the_run_between_two_minutes_and_half_of_it() -> None:
    assert warmup_s(HALF_HOUR_S) == 360.0
    assert warmup_s(600.0) == 120.0
    assert warmup_s(180.0) == 90.0


def test_a_constant_rss_is_flat() -> None:
    verdict = flatness(series(lambda t: 400.0), HALF_HOUR_S)
    assert verdict.flat
    assert verdict.growth_mib == 0.0
    assert verdict.slope_mib_per_10min == pytest.approx(0.0, abs=1e-9)
    # samples from 360 s to 1,800 s, every 10 s
    assert verdict.judged_samples == 145
    assert verdict.after_warmup_mib == verdict.end_mib == 400.0


def test_a_steadily_growing_rss_is_not_flat() -> None:
    verdict = flatness(series(lambda t: 300.0 + 2.0 * t / 60), HALF_HOUR_S)
    assert not verdict.flat
    assert verdict.slope_mib_per_10min == pytest.approx(20.0)
    # the medians of 6.0-10.7 min and 25.3-30 min: 19.3 minutes apart at 2 MiB a minute
    assert verdict.growth_mib == pytest.approx(38.67, abs=0.01)
    assert verdict.growth_share == pytest.approx(verdict.growth_mib / verdict.after_warmup_mib)


def test_noise_and_collection_spikes_around_a_level_are_flat() -> None:
    noise = random.Random(3)

    def rss(t: float) -> float:
        sawtooth = 12.0 * ((t % 90) / 90)  # allocations, then a collection every 90 s
        spike = 40.0 if int(t) % 300 == 0 else 0.0
        return 420.0 + sawtooth + spike + noise.gauss(0.0, 4.0)

    verdict = flatness(series(rss), HALF_HOUR_S)
    assert verdict.flat
    assert abs(verdict.growth_mib) < 5.0
    assert abs(verdict.slope_mib_per_10min) < 3.0


def test_the_growth_during_the_warm_up_is_left_out() -> None:
    def rss(t: float) -> float:  # 150 MiB while loading, then level
        return 250.0 + 150.0 * min(t, 300.0) / 300.0

    points = series(rss)
    verdict = flatness(points, HALF_HOUR_S)
    assert verdict.flat
    assert verdict.after_warmup_mib == 400.0
    assert verdict.growth_mib == 0.0
    # the same series judged from its first sample would have grown by far too much
    assert points[-1][1] - points[0][1] == 150.0


def test_a_small_worker_is_held_to_five_percent_and_a_large_one_to_10_mib() -> None:
    # 9 MiB more on 100 MiB: below 10 MiB but 9 %
    small = flatness(series(lambda t: 100.0 + 9.0 * max(t - 360.0, 0) / 1_440), HALF_HOUR_S)
    assert not small.flat
    assert small.growth_mib < 10.0
    assert small.growth_share > 0.05
    # 15 MiB more on 1,000 MiB: 1.5 % but above 10 MiB
    large = flatness(series(lambda t: 1_000.0 + 15.0 * max(t - 360.0, 0) / 1_440), HALF_HOUR_S)
    assert not large.flat
    assert large.growth_share < 0.05
    assert large.growth_mib > 10.0
    # a slight rise well below both
    slight = flatness(series(lambda t: 500.0 + 4.0 * max(t - 360.0, 0) / 1_440), HALF_HOUR_S)
    assert slight.flat


def test_a_falling_rss_is_flat() -> None:
    verdict = flatness(series(lambda t: 500.0 - 30.0 * t / HALF_HOUR_S), HALF_HOUR_S)
    assert verdict.flat
    assert verdict.growth_mib < 0
    assert verdict.slope_mib_per_10min == pytest.approx(-10.0)


def test_too_few_samples_after_the_warm_up_are_refused() -> None:
    points = [(0.0, 300.0), (360.0, 300.0), (900.0, 300.0), (1_800.0, 300.0)]
    with pytest.raises(ValueError, match="3 samples after the warm-up of 360 s"):
        flatness(points, HALF_HOUR_S)


def test_the_rss_is_read_from_proc_status() -> None:
    assert vm_rss_kib(STATUS) == 398_760
    # a kernel thread's status has no VmRSS line
    assert vm_rss_kib("Name:\tkthreadd\nState:\tS (sleeping)\nPPid:\t0\n") is None


def test_the_parent_and_cpu_ticks_are_read_from_proc_stat() -> None:
    stat = parse_stat(STAT)
    assert stat.ppid == 4000
    # utime 1500 + stime 320 + reaped children's 40 + 7
    assert stat.cpu_ticks == 1_867


def test_the_process_tree_holds_the_worker_and_every_descendant_only() -> None:
    parents = {1: 0, 4000: 1, 4242: 4000, 4300: 4242, 4301: 4242, 4400: 4300, 5000: 1, 5001: 5000}
    assert descendants(4242, parents) == [4242, 4300, 4301, 4400]
    assert descendants(5001, parents) == [5001]


def sample(elapsed_s: float, rss_mib: float) -> Sample:
    return Sample(
        elapsed_s=elapsed_s,
        rss_mib=rss_mib,
        cpu_s=elapsed_s / 2,
        processes=1,
        events=int(elapsed_s * 200),
        decisions=int(elapsed_s * 200) - 5,
        lag=5,
        redis_used_mib=10.0,
        state_keys=None,
    )


def test_the_table_has_the_sample_nearest_each_minute_once() -> None:
    samples = [sample(t, 300.0) for t in (0.0, 10.2, 50.1, 60.3, 110.0, 119.9, 125.0)]
    assert [s.elapsed_s for s in per_minute(samples)] == [0.0, 60.3, 119.9]
    # sparse samples: one may be the nearest to two minutes, and is shown once
    sparse = [sample(0.0, 300.0), sample(100.0, 300.0)]
    assert [s.elapsed_s for s in per_minute(sparse)] == [0.0, 100.0]
    assert per_minute([]) == []


def test_the_verdict_line_says_flat_or_not_and_what_was_lost() -> None:
    summary = {
        "flat": False,
        "growth_mib": 31.25,
        "growth_share": 0.078,
        "warmup_s": 360.0,
        "slope_mib_per_10min": 12.4,
        "events": 360_000,
        "missing": 3,
    }
    line = verdict_line(summary)
    assert line.startswith("Worker RSS NOT flat: +31.2 MiB (+7.8 %) after a 360 s warm-up")
    assert "slope +12.4 MiB / 10 min" in line
    assert line.endswith("360,000 searches, 3 without a decision.")
    assert verdict_line({**summary, "flat": True}).startswith("Worker RSS flat:")
