"""The API load benchmark (``bench/api_load.py``): locust's CSVs and the locustfile's
window are read into a step's figures, a step is kept or not by its failures and achieved
rate, and the load and the rate limit are sized from the offered rates."""

from __future__ import annotations

import json
import math

import pytest

from bench.api_load import (
    LOCUSTFILE,
    NO_RESPONSE,
    PER_USER_RATE,
    RequestStats,
    Step,
    Window,
    failure_kind,
    first_due,
    highest_kept,
    is_kept,
    next_due,
    parse_rates,
    rate_limit_needed,
    read_failures_csv,
    read_requests_csv,
    read_window,
    step_of,
    users_for,
)

PERCENTILES = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s," + PERCENTILES
)
ROUTE = "/v1/customers/{customer_id}/offers"
FAILURES_HEADER = "Method,Name,Error,Occurrences,First Seen,Last Seen"


def requests_csv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def window(seconds: float = 10.0, **cpu_s: float) -> Window:
    return Window(seconds=seconds, cpu_s=cpu_s, busy_share=0.5, users=20, exceptions=0)


def stats(requests: int, failures: int = 0) -> RequestStats:
    return RequestStats(requests, failures, 4.0, 16.0, 33.0, 61.06)


def test_the_aggregated_row_gives_counts_bucketed_percentiles_and_the_exact_maximum() -> None:
    text = requests_csv(
        f"GET,{ROUTE},1000,2,4,6.1,1.2,61.06,812.0,99.9,0.2,4,5,6,7,10,16,25,33,55,61,61",
        ",Aggregated,1000,2,4,6.1,1.2,61.06,812.0,99.9,0.2,4,5,6,7,10,16,25,33,55,61,61",
    )
    assert read_requests_csv(text) == RequestStats(
        requests=1000, failures=2, p50_ms=4.0, p95_ms=16.0, p99_ms=33.0, max_ms=61.06
    )


def test_a_step_without_requests_has_no_percentiles() -> None:
    na = ",".join(["N/A"] * 11)
    text = requests_csv(f",Aggregated,0,0,0,0,0,0,0,0,0,{na}")
    assert read_requests_csv(text) == RequestStats(0, 0, None, None, None, None)


def test_a_requests_csv_without_the_aggregated_row_is_refused() -> None:
    with pytest.raises(ValueError, match="no Aggregated row"):
        read_requests_csv(requests_csv())


def test_failures_are_counted_by_status_code() -> None:
    assert failure_kind("CatchResponseError('status 429')") == "429"
    assert failure_kind("status 0") == NO_RESPONSE
    assert failure_kind("ConnectionRefusedError(111)") == "ConnectionRefusedError(111)"
    text = "\n".join(
        [
            FAILURES_HEADER,
            f"GET,{ROUTE},CatchResponseError('status 429'),7,t0,t1",
            f"GET,{ROUTE},CatchResponseError('status 500'),2,t0,t1",
            f"GET,{ROUTE},CatchResponseError('status 0'),1,t0,t1",
            f"POST,{ROUTE},CatchResponseError('status 429'),3,t0,t1",
        ]
    )
    assert read_failures_csv(text) == {"429": 10, "500": 2, NO_RESPONSE: 1}
    assert read_failures_csv(FAILURES_HEADER + "\n") == {}


def test_the_window_gives_cpu_by_process_and_the_machines_busy_share() -> None:
    text = json.dumps(
        {
            "seconds": 10.02,
            "cpu_s": {"api": 3.0, "loadgen": 0.75},
            "ticks": 2000,
            "idle_ticks": 500,
            "users": 20,
            "exceptions": 1,
        }
    )
    assert read_window(text) == Window(
        seconds=10.02,
        cpu_s={"api": 3.0, "loadgen": 0.75},
        busy_share=0.75,
        users=20,
        exceptions=1,
    )


def test_a_step_is_kept_under_one_failure_in_a_thousand_at_97_percent_of_the_rate() -> None:
    assert is_kept(1_000, 970.0, 10_000, 9)
    assert not is_kept(1_000, 970.0, 10_000, 10)  # 0.1 %: not under it
    assert not is_kept(1_000, 969.9, 10_000, 0)
    assert is_kept(1_000, 1_003.0, 10_000, 0)  # a few answers more than the window held
    assert not is_kept(1_000, 0.0, 0, 0)


def test_a_step_reads_rate_and_cpu_per_request_from_the_window() -> None:
    step = step_of(
        300.0, stats(1_875), {}, window(10.0, api=4.5, loadgen=0.6, redis=0.2, kafka=0.25)
    )
    assert step.achieved_rps == 187.5
    assert step.kept is False  # 62.5 % of the offered rate
    assert step.api_cpu_ms_per_request == 2.4
    assert step.loadgen_cpu_ms_per_request == 0.32
    assert step.redis_cpu_ms_per_request == pytest.approx(0.107)
    assert step.kafka_cpu_ms_per_request == pytest.approx(0.133)
    assert (step.p50_ms, step.p99_ms, step.max_ms) == (4.0, 33.0, 61.1)
    assert step.machine_busy_percent == 50.0
    assert step.failures == {} and step.failure_share == 0.0


def test_failures_and_locustfile_exceptions_count_against_a_step() -> None:
    kept = step_of(100.0, stats(1_000), {}, window(api=3.0))
    assert kept.kept and kept.kafka_cpu_ms_per_request is None
    failed = step_of(100.0, stats(1_000, failures=1), {"429": 1}, window(api=3.0))
    assert failed.failures == {"429": 1}
    assert failed.failure_share == 0.001
    assert not failed.kept
    raised = Window(seconds=10.0, cpu_s={}, busy_share=0.5, users=20, exceptions=2)
    broken = step_of(100.0, stats(1_000), {}, raised)
    assert broken.failures == {"exception": 2}
    assert not broken.kept


def test_the_highest_kept_rate_stops_at_the_first_step_not_kept() -> None:
    def at(rate: float, kept: bool) -> Step:
        """A step at ``rate`` that achieved all of it, or none of it."""
        return step_of(rate, stats(round(rate * 10) if kept else 0), {}, window(api=1.0))

    assert at(250, True).kept and not at(250, False).kept
    steps = [at(1_000, True), at(250, True), at(500, False), at(2_000, True)]
    assert highest_kept(steps) == 250
    assert highest_kept([at(250, False)]) is None
    assert highest_kept([at(250, True), at(500, True)]) == 500
    assert highest_kept([]) is None


def test_users_offer_the_rate_at_no_more_than_their_own_rate_each() -> None:
    assert users_for(1_000) == math.ceil(1_000 / PER_USER_RATE)
    assert users_for(1) == 1
    for rate in (1.0, 7.0, 250.0, 333.0, 2_000.0):
        assert rate / users_for(rate) <= PER_USER_RATE
    with pytest.raises(ValueError):
        users_for(0)


def test_the_rate_limit_is_raised_only_when_customers_in_turn_would_reach_half_of_it() -> None:
    # 2,000/s over 5,000 customers: 24 a minute each, 48 with the margin
    assert rate_limit_needed(2_000, 5_000, current=120) is None
    # 2,000/s over 500 customers: 240 a minute each
    assert rate_limit_needed(2_000, 500, current=120) == 480
    assert rate_limit_needed(2_000, 500, current=480) is None
    with pytest.raises(ValueError, match="more --customers"):
        rate_limit_needed(2_000, 1, current=120)


def test_rates_are_parsed_in_rising_order_without_repeats() -> None:
    assert parse_rates("1000,250, 500,250") == [250.0, 500.0, 1_000.0]
    for bad in ("", "0,100", "-5"):
        with pytest.raises(ValueError):
            parse_rates(bad)


def test_users_start_on_phases_spread_evenly_over_one_period() -> None:
    period = 0.2
    starts = [first_due(100.0, phase, 4, period, now=100.0) for phase in range(4)]
    assert starts == pytest.approx([100.0, 100.05, 100.1, 100.15])
    # a user spawned late takes its phase's next slot, not a slot already past
    assert first_due(100.0, 1, 4, period, now=100.31) == pytest.approx(100.45)
    assert first_due(100.0, 1, 4, period, now=100.45) == pytest.approx(100.45)


def test_a_user_keeps_its_phase_and_skips_the_slots_a_slow_answer_missed() -> None:
    period = 0.2
    assert next_due(10.0, now=10.01, period_s=period) == pytest.approx(10.2)
    # the answer came at 10.5: the slots of 10.2 and 10.4 are skipped, not sent at once
    assert next_due(10.0, now=10.5, period_s=period) == pytest.approx(10.6)
    assert next_due(10.0, now=10.2, period_s=period) == pytest.approx(10.2)


def test_the_locustfile_is_valid_python_that_fails_every_answer_outside_2xx() -> None:
    compile(LOCUSTFILE, "locustfile.py", "exec")
    assert "{schedule}" not in LOCUSTFILE
    assert "def first_due(" in LOCUSTFILE and "def next_due(" in LOCUSTFILE
    assert "if not 200 <= response.status_code < 300:" in LOCUSTFILE
    assert 'response.failure(f"status {response.status_code}")' in LOCUSTFILE
