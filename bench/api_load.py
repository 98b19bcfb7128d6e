"""The API under load from a second process on loopback: customer offers and event
ingestion, requests/s and latency percentiles at fixed offered rates.

Starts the local stack on free ports in a temporary directory; stores ``OFFERS_PER_CUSTOMER``
current offers for each of ``--customers`` customers (through ``OfferBook.add``, as the
delivery workers do) and writes each one's consent for location use (event ingestion
accepts a position only with it); issues each customer an access token. Then starts the
API as the project runs it (``uvicorn offers_api.main:app``, one process, through
``offers.stack.api.ApiProcess``) on a free port, and checks that each route answers one
request as it should (the offers: 200 with the customer's offers; a position: 202).

The routes:

- ``customer_offers``: ``GET /v1/customers/{customer_id}/offers`` (rate limit, then the
  customer's offers from Redis);
- ``event_ingestion``: ``POST /v1/customers/{customer_id}/locations`` (rate limit, consent,
  then the position written to ``events.location`` with acks=all, waited for).

Each route, at each rate of ``--rates`` in turn, is driven by locust in a second process
(``python -m locust --headless``, ``FastHttpUser``, a locustfile written into the
temporary directory). A step runs ``ceil(rate / PER_USER_RATE)`` users, all spawned at
once; each user sends one request every ``users / rate`` seconds on a fixed schedule from
its own phase (the phases spread evenly over one period, so the users do not fire
together). A user whose answer outlasts its period skips the slots it missed rather than
make them up later, so a step's achieved rate falls below the offered one when the API
cannot keep up, and never passes it; latencies are those of the requests sent, so the
slots skipped are not in them (compare the achieved rate). Each request is for the next
customer in turn, with that customer's token, so each customer's requests per minute are
``rate * 60 / customers``; only when that, doubled, passes ``OFFERS_API_RATE_PER_MINUTE``
is the limit raised, in the API process' environment (the JSON's ``settings_changed``).

A step counts from ``WARMUP_S`` seconds after its users are spawned (the locust stats are
reset then) for ``--seconds``; at the end of that window the locustfile writes locust's
own CSV of the stats and failures (``locust.stats.StatsCSV``; the files of ``--csv`` are
refreshed once a second, not at exit) and stops. Any answer outside 2xx is a failure, by status
(``no_response`` for a request that got none). Locust keeps response times in buckets:
to the millisecond below 100 ms, to 10 ms up to 1 s, to 100 ms up to 10 s; p50, p95 and p99 are
read from those buckets, the maximum is exact. A step is kept when under 0.1 % of its
requests failed and it achieved at least 97 % of the offered rate; the highest kept rate
of a route is the last kept step, in rising order, before its first step not kept.

The two cores of the machine are shared by the API, locust, Kafka and Redis, so each step
also records the CPU time used in its window per request (from ``/proc/<pid>/stat``, user
plus system) by the API process, by the load generator, by Redis and by Kafka, and the
share of the whole machine's CPU that was busy.

Prints JSON (``routes``, ``by_route``, ``highest_kept_rate``, ``settings_changed``,
``customers``, ``seconds`` and what the run was made of), then a table per route.

    .venv/bin/python -m bench.api_load [--rates 250,500,1000,2000] [--seconds 30]
        [--customers 5000]
"""

from __future__ import annotations

import argparse
import csv
import inspect
import io
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from redis import Redis

from bench.stack import temporary_stack
from offers.campaigns import network
from offers.campaigns.offer import Offer, OfferKind
from offers.contracts import Channel, ConsentScope, Language
from offers.offer_book import OfferBook, StoredOffer
from offers.roles import Role
from offers.settings import Settings
from offers.stack import read_state
from offers.stack.api import ApiProcess
from offers.stack.process import start_process, stop_pid
from offers_api.security import issue_token
from simulators.consent import consent_changes
from simulators.sink import KafkaEventProducer

CUSTOMER_OFFERS = "customer_offers"
EVENT_INGESTION = "event_ingestion"
ROUTES: dict[str, tuple[str, str]] = {
    CUSTOMER_OFFERS: ("GET", "/v1/customers/{customer_id}/offers"),
    EVENT_INGESTION: ("POST", "/v1/customers/{customer_id}/locations"),
}
"""Each route under test: its method and path."""
LOCATION = {"lat": 40.92, "lon": 9.52, "accuracy_m": 12.0, "speed_mps": 8.5}
"""The body of every position sent: a ship off Olbia."""
PER_USER_RATE = 5.0
"""Requests per second of one locust user: a request may take up to 200 ms before its
user falls behind its schedule."""
WARMUP_S = 5.0
OFFERS_PER_CUSTOMER = 2
KEPT_FAILURE_SHARE = 0.001
KEPT_RATE_SHARE = 0.97
RATE_LIMIT_MARGIN = 2.0
"""The per-token limit must be at least this many times a customer's requests a minute."""
MAX_RATE_PER_MINUTE = 100_000
"""The highest ``api_rate_per_minute`` the settings accept."""
TOKEN_LIFETIME = timedelta(hours=12)
STEP_SLACK_S = 60.0
"""How much longer than spawn, warm-up and window a locust run may take before it is
stopped as stuck."""
NO_RESPONSE = "no_response"

LOCUSTFILE_TEMPLATE = '''\
"""Load for bench.api_load: each user sends one request every BENCH_PERIOD_S seconds, on
a fixed schedule from a phase of its own, skipping the slots a slow answer made it miss;
customers are taken in turn. BENCH_WARMUP_S after
the users are spawned the stats are reset; BENCH_SECONDS later they are written as CSV
with the CPU times of the window, and locust stops."""

import csv
import itertools
import json
import math
import os
import time
from pathlib import Path

import gevent
from locust import FastHttpUser, events, task
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

METHOD = os.environ["BENCH_METHOD"]
PATH = os.environ["BENCH_PATH"]
BODY = json.loads(os.environ["BENCH_BODY"]) if os.environ.get("BENCH_BODY") else None
USERS = int(os.environ["BENCH_USERS"])
PERIOD_S = float(os.environ["BENCH_PERIOD_S"])
WARMUP_S = float(os.environ["BENCH_WARMUP_S"])
SECONDS = float(os.environ["BENCH_SECONDS"])
PIDS = json.loads(os.environ["BENCH_PIDS"])
PREFIX = os.environ["BENCH_PREFIX"]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CALLS = [
    (PATH.format(customer_id=customer), {"Authorization": f"Bearer {token}"})
    for customer, token in json.loads(Path(os.environ["BENCH_TOKENS"]).read_text())
]
TURNS = itertools.count()
PHASES = itertools.count()
ANCHOR = time.perf_counter()


def cpu_s(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_ticks():
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


def marks():
    total, idle = machine_ticks()
    cpu = {name: cpu_s(pid) for name, pid in PIDS.items()}
    cpu["loadgen"] = cpu_s(os.getpid())
    return {"at": time.perf_counter(), "cpu_s": cpu, "ticks": total, "idle_ticks": idle}


{schedule}

class Caller(FastHttpUser):
    def on_start(self):
        phase = next(PHASES) % USERS
        self.due = first_due(ANCHOR, phase, USERS, PERIOD_S, time.perf_counter())
        gevent.sleep(max(0.0, self.due - time.perf_counter()))

    def wait_time(self):
        now = time.perf_counter()
        self.due = next_due(self.due, now, PERIOD_S)
        return max(0.0, self.due - now)

    @task
    def call(self):
        path, headers = CALLS[next(TURNS) % len(CALLS)]
        with self.client.request(
            METHOD, path, name=PATH, headers=headers, json=BODY, catch_response=True
        ) as response:
            if not 200 <= response.status_code < 300:
                response.failure(f"status {response.status_code}")


def write_csv(environment):
    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    with open(PREFIX + "_stats.csv", "w", newline="") as out:
        writer.requests_csv(csv.writer(out))
    with open(PREFIX + "_failures.csv", "w", newline="") as out:
        writer.failures_csv(csv.writer(out))


def window(environment):
    gevent.sleep(WARMUP_S)
    environment.stats.reset_all()
    environment.runner.exceptions.clear()
    first = marks()
    gevent.sleep(SECONDS)
    last = marks()
    write_csv(environment)
    exceptions = sum(e["count"] for e in environment.runner.exceptions.values())
    Path(PREFIX + "_window.json").write_text(
        json.dumps(
            {
                "seconds": last["at"] - first["at"],
                "cpu_s": {n: last["cpu_s"][n] - used for n, used in first["cpu_s"].items()},
                "ticks": last["ticks"] - first["ticks"],
                "idle_ticks": last["idle_ticks"] - first["idle_ticks"],
                "users": environment.runner.user_count,
                "exceptions": exceptions,
            }
        )
    )
    environment.runner.quit()


@events.init.add_listener
def on_init(environment, **kwargs):
    def spawned(user_count, **kwargs):
        gevent.spawn(window, environment)

    environment.events.spawning_complete.add_listener(spawned)
'''


# The load's schedule ---------------------------------------------------------------------


def first_due(anchor: float, phase: int, users: int, period_s: float, now: float) -> float:
    """When a user first sends: the first moment, not before ``now``, of its phase (the
    ``phase``-th of ``users`` evenly spread over one period from ``anchor``). Slots are
    counted with a tolerance of a billionth of a period, so that rounding never pushes a
    slot that is due now to the next one."""
    offset = anchor + period_s * phase / users
    late = max(0.0, now - offset)
    return offset + math.ceil(late / period_s - 1e-9) * period_s


def next_due(due: float, now: float, period_s: float) -> float:
    """When a user sends next, having sent the request due at ``due``: one period later,
    or, when that has passed by ``now``, its next slot still ahead (missed ones are
    skipped, never made up)."""
    following = due + period_s
    if following < now:
        following += math.ceil((now - following) / period_s - 1e-9) * period_s
    return following


LOCUSTFILE = LOCUSTFILE_TEMPLATE.replace(
    "{schedule}", inspect.getsource(first_due) + "\n\n" + inspect.getsource(next_due)
)
"""The locustfile of every step, with the schedule's functions copied in."""


# Reading a step's output ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestStats:
    """The aggregated row of locust's requests CSV."""

    requests: int
    failures: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


@dataclass(frozen=True, slots=True)
class Window:
    """What the locustfile measured over a step's counted window."""

    seconds: float
    cpu_s: dict[str, float]
    """CPU seconds used in the window, by process (api, redis, kafka, loadgen)."""
    busy_share: float
    """Share of the whole machine's CPU time that was not idle in the window."""
    users: int
    exceptions: int


def _number(cell: str) -> float | None:
    """A CSV cell as a number; None for locust's ``N/A`` or an empty cell."""
    try:
        return float(cell)
    except ValueError:
        return None


def read_requests_csv(text: str) -> RequestStats:
    """The ``Aggregated`` row of locust's requests CSV (``..._stats.csv``)."""
    for row in csv.DictReader(io.StringIO(text)):
        if row["Name"] == "Aggregated":
            requests = int(row["Request Count"])
            return RequestStats(
                requests=requests,
                failures=int(row["Failure Count"]),
                p50_ms=_number(row["50%"]),
                p95_ms=_number(row["95%"]),
                p99_ms=_number(row["99%"]),
                max_ms=_number(row["Max Response Time"]) if requests else None,
            )
    raise ValueError("locust's requests CSV has no Aggregated row")


def failure_kind(error: str) -> str:
    """The status code in a failure's error text (``CatchResponseError('status 429')``),
    ``no_response`` for status 0 (no HTTP answer), else the text itself."""
    found = re.search(r"status (\d+)", error)
    if found is None:
        return error
    return NO_RESPONSE if found.group(1) == "0" else found.group(1)


def read_failures_csv(text: str) -> dict[str, int]:
    """Failures by status code from locust's failures CSV (``..._failures.csv``)."""
    counts: dict[str, int] = {}
    for row in csv.DictReader(io.StringIO(text)):
        kind = failure_kind(row["Error"])
        counts[kind] = counts.get(kind, 0) + int(row["Occurrences"])
    return dict(sorted(counts.items()))


def read_window(text: str) -> Window:
    """The window the locustfile wrote (``..._window.json``)."""
    raw = json.loads(text)
    ticks = raw["ticks"]
    busy = (ticks - raw["idle_ticks"]) / ticks if ticks > 0 else 0.0
    return Window(
        seconds=float(raw["seconds"]),
        cpu_s={name: float(value) for name, value in raw["cpu_s"].items()},
        busy_share=busy,
        users=int(raw["users"]),
        exceptions=int(raw["exceptions"]),
    )


# Judging a step ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One route driven at one offered rate, over the counted window."""

    rate: float
    users: int
    requests: int
    achieved_rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    failures: dict[str, int]
    """Failed requests by status code (``no_response``: no answer; ``exception``: the
    locustfile raised)."""
    failure_share: float
    kept: bool
    api_cpu_ms_per_request: float | None
    loadgen_cpu_ms_per_request: float | None
    redis_cpu_ms_per_request: float | None
    kafka_cpu_ms_per_request: float | None
    machine_busy_percent: float
    window_s: float


def is_kept(rate: float, achieved_rps: float, requests: int, failed: int) -> bool:
    """Under 0.1 % of the requests failed and at least 97 % of the offered rate was
    achieved."""
    if requests == 0:
        return False
    return failed / requests < KEPT_FAILURE_SHARE and achieved_rps >= KEPT_RATE_SHARE * rate


def _per_request_ms(cpu_s: float | None, requests: int) -> float | None:
    if cpu_s is None or requests == 0:
        return None
    return round(1000 * cpu_s / requests, 3)


def step_of(rate: float, stats: RequestStats, failures: dict[str, int], window: Window) -> Step:
    """A step's figures from locust's CSVs and the window's measures."""
    failures = dict(failures)
    if window.exceptions:
        failures["exception"] = failures.get("exception", 0) + window.exceptions
    failed = max(stats.failures, sum(failures.values()))
    achieved = stats.requests / window.seconds if window.seconds > 0 else 0.0
    return Step(
        rate=rate,
        users=window.users,
        requests=stats.requests,
        achieved_rps=round(achieved, 1),
        p50_ms=stats.p50_ms,
        p95_ms=stats.p95_ms,
        p99_ms=stats.p99_ms,
        max_ms=None if stats.max_ms is None else round(stats.max_ms, 1),
        failures=failures,
        failure_share=round(failed / stats.requests, 6) if stats.requests else 0.0,
        kept=is_kept(rate, achieved, stats.requests, failed),
        api_cpu_ms_per_request=_per_request_ms(window.cpu_s.get("api"), stats.requests),
        loadgen_cpu_ms_per_request=_per_request_ms(window.cpu_s.get("loadgen"), stats.requests),
        redis_cpu_ms_per_request=_per_request_ms(window.cpu_s.get("redis"), stats.requests),
        kafka_cpu_ms_per_request=_per_request_ms(window.cpu_s.get("kafka"), stats.requests),
        machine_busy_percent=round(100 * window.busy_share, 1),
        window_s=round(window.seconds, 2),
    )


def highest_kept(steps: Iterable[Step]) -> float | None:
    """The rate of the last kept step, in rising order, before the first not kept."""
    best = None
    for step in sorted(steps, key=lambda s: s.rate):
        if not step.kept:
            break
        best = step.rate
    return best


# Sizing the load ----------------------------------------------------------------------


def users_for(rate: float) -> int:
    """Locust users that offer ``rate`` requests/s at ``PER_USER_RATE`` each at most."""
    if rate <= 0:
        raise ValueError(f"a rate must be positive, not {rate}")
    return max(1, math.ceil(rate / PER_USER_RATE))


def rate_limit_needed(max_rate: float, customers: int, current: int) -> int | None:
    """The per-token limit a minute the API needs so that requests spread in turn over
    ``customers`` at ``max_rate`` stay within half of it; None if ``current`` suffices."""
    per_customer = max_rate * 60 / customers
    needed = math.ceil(per_customer * RATE_LIMIT_MARGIN)
    if needed <= current:
        return None
    if needed > MAX_RATE_PER_MINUTE:
        raise ValueError(
            f"{max_rate:g} requests/s over {customers} customers needs a limit of {needed} "
            f"a minute, more than the settings allow ({MAX_RATE_PER_MINUTE}); "
            "use more --customers"
        )
    return needed


def parse_rates(text: str) -> list[float]:
    """``--rates``: positive numbers, comma-separated, in rising order without repeats."""
    rates = sorted({float(part) for part in text.split(",") if part.strip()})
    if not rates or rates[0] <= 0:
        raise ValueError(f"--rates must list positive rates, not {text!r}")
    return rates


# Preparing the stack ----------------------------------------------------------------------


def _customer_offers(customer: str, index: int, now: datetime) -> list[StoredOffer]:
    """The offers the ``index``-th customer holds: sent by SMS an hour ago, for routes
    taken in turn, expiring in two days."""
    routes = sorted(network.route_ids())
    document = Offer(
        kind=OfferKind.PERCENT_DISCOUNT, percent=10, all_routes=True, cost_eur=2.0
    ).model_dump(mode="json")
    offers = []
    for n in range(OFFERS_PER_CUSTOMER):
        route = routes[(index + n) % len(routes)]
        offers.append(
            StoredOffer(
                decision_id=f"bench-{customer}-{n}",
                customer_id=customer,
                campaign_id="bench-campaign",
                channel=Channel.SMS,
                language=Language.IT,
                message=f"Ciao! 10% di sconto sulla {route}, entro due giorni.",
                offer=document,
                discount_eur=8.5,
                route_id=route,
                issued_at=now - timedelta(hours=1),
                expires_at=now + timedelta(days=2, hours=n),
            )
        )
    return offers


def _store_offers(settings: Settings, customers: list[str]) -> None:
    """``OFFERS_PER_CUSTOMER`` current offers for each customer, in the offer book."""
    redis = Redis.from_url(settings.redis_url)
    try:
        book = OfferBook(redis)
        now = datetime.now(UTC)
        for index, customer in enumerate(customers):
            for offer in _customer_offers(customer, index, now):
                book.add(offer)
    finally:
        redis.close()


def _grant_location(settings: Settings, customers: list[str]) -> None:
    """Every customer's consent for location use, on ``state.consent`` (read by the API
    when it starts)."""
    changes = consent_changes(
        customers, seed=7, at=datetime.now(UTC), shares={ConsentScope.LOCATION: 1.0}
    )
    with KafkaEventProducer(settings) as producer:
        producer.produce(changes)


def _write_tokens(settings: Settings, customers: list[str], path: Path) -> None:
    """Each customer's access token, as ``[[customer_id, token], ...]`` in ``path``."""
    tokens = [
        [customer, issue_token(settings, customer, Role.CUSTOMER, TOKEN_LIFETIME)]
        for customer in customers
    ]
    path.write_text(json.dumps(tokens))


def _check_routes(api: ApiProcess, settings: Settings, customer: str) -> None:
    """One request to each route, which must answer as it does under load; else the
    benchmark would measure errors."""
    token = issue_token(settings, customer, Role.CUSTOMER, TOKEN_LIFETIME)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=api.base_url, headers=headers, timeout=10.0) as client:
        offers = client.get(ROUTES[CUSTOMER_OFFERS][1].format(customer_id=customer))
        if offers.status_code != 200 or len(offers.json()) != OFFERS_PER_CUSTOMER:
            raise RuntimeError(f"the offers route answered {offers.status_code}: {offers.text}")
        ping = client.post(ROUTES[EVENT_INGESTION][1].format(customer_id=customer), json=LOCATION)
        if ping.status_code != 202:
            raise RuntimeError(f"the ingestion route answered {ping.status_code}: {ping.text}")


# Running a step ----------------------------------------------------------------------


def _locust_argv(locustfile: Path, base_url: str, users: int, run_time_s: float) -> list[str]:
    """The locust command of a step: headless, all users spawned at once; ``-t`` only
    bounds a run that does not stop by itself."""
    return [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
        "--host", base_url, "-u", str(users), "-r", str(users),
        "-t", f"{math.ceil(run_time_s)}s", "--stop-timeout", "0", "--only-summary",
        "--exit-code-on-error", "0", "--loglevel", "WARNING",
    ]  # fmt: skip


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_step(
    route: str,
    rate: float,
    seconds: float,
    api: ApiProcess,
    pids: dict[str, int],
    work: Path,
) -> Step:
    """Drive ``route`` at ``rate`` from a locust process and read what it measured."""
    method, path = ROUTES[route]
    users = users_for(rate)
    prefix = work / f"{route}-{rate:g}"
    env = {
        "BENCH_METHOD": method,
        "BENCH_PATH": path,
        "BENCH_BODY": json.dumps(LOCATION) if method == "POST" else "",
        "BENCH_USERS": str(users),
        "BENCH_PERIOD_S": repr(users / rate),
        "BENCH_WARMUP_S": repr(WARMUP_S),
        "BENCH_SECONDS": repr(seconds),
        "BENCH_PIDS": json.dumps(pids),
        "BENCH_PREFIX": str(prefix),
        "BENCH_TOKENS": str(work / "tokens.json"),
    }
    limit_s = WARMUP_S + seconds + STEP_SLACK_S
    log = Path(f"{prefix}.log")
    argv = _locust_argv(work / "locustfile.py", api.base_url, users, limit_s)
    locust = start_process(argv, log, env=env, cwd=work)
    try:
        locust.wait(timeout=limit_s + STEP_SLACK_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"locust did not stop at {route} {rate:g}/s:\n{_tail(log)}") from None
    finally:
        if locust.poll() is None:
            stop_pid(locust.pid, timeout=10.0, reap=locust.poll)
    if api.process.poll() is not None:
        raise RuntimeError(f"the API exited at {route} {rate:g}/s:\n{_tail(api.log_path)}")
    window_path = Path(f"{prefix}_window.json")
    if not window_path.exists():
        raise RuntimeError(f"locust measured nothing at {route} {rate:g}/s:\n{_tail(log)}")
    return step_of(
        rate,
        read_requests_csv(Path(f"{prefix}_stats.csv").read_text()),
        read_failures_csv(Path(f"{prefix}_failures.csv").read_text()),
        read_window(window_path.read_text()),
    )


# Output ------------------------------------------------------------------------------


def _cell(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _failures_cell(failures: dict[str, int]) -> str:
    return ", ".join(f"{kind} ×{n:,}" for kind, n in failures.items()) or "0"


def print_tables(by_route: dict[str, list[Step]], highest: dict[str, float | None]) -> None:
    """A table per route, then the highest kept rate of each."""
    for route, steps in by_route.items():
        method, path = ROUTES[route]
        print(f"**{route}**: `{method} {path}`")
        print()
        print(
            "| offered/s | achieved/s | p50 ms | p95 ms | p99 ms | max ms | failures | kept "
            "| CPU ms/request API / locust / Redis / Kafka | machine busy |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | --- | :---: | ---: | ---: |")
        for s in steps:
            cpu = " / ".join(
                _cell(v, 2)
                for v in (
                    s.api_cpu_ms_per_request,
                    s.loadgen_cpu_ms_per_request,
                    s.redis_cpu_ms_per_request,
                    s.kafka_cpu_ms_per_request,
                )
            )
            print(
                f"| {s.rate:,g} | {s.achieved_rps:,.1f} | {_cell(s.p50_ms, 0)} "
                f"| {_cell(s.p95_ms, 0)} | {_cell(s.p99_ms, 0)} | {_cell(s.max_ms)} "
                f"| {_failures_cell(s.failures)} | {'yes' if s.kept else 'no'} | {cpu} "
                f"| {s.machine_busy_percent:.0f} % |"
            )
        print()
    print("| route | highest kept rate/s |")
    print("| --- | ---: |")
    for route, rate in highest.items():
        print(f"| {route} | {'none' if rate is None else f'{rate:,g}'} |")


# The run ------------------------------------------------------------------------------


def _stack_pids(root: Path) -> dict[str, int]:
    """The pids of the stack's Redis and Kafka, from its state file."""
    state = read_state(root)
    if state is None:
        raise RuntimeError(f"no stack state in {root}")
    return {"redis": state.redis_pid, "kafka": state.kafka_pid}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="250,500,1000,2000", help="requests/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=30.0, help="counted, of each step")
    parser.add_argument("--customers", type=int, default=5_000)
    args = parser.parse_args()
    rates = parse_rates(args.rates)
    if args.customers < 1 or args.seconds <= 0:
        parser.error("--customers and --seconds must be positive")
    began = time.perf_counter()
    customers = [f"bench-customer-{i}" for i in range(args.customers)]

    with temporary_stack() as (live, root):
        setup: dict[str, float] = {"stack_s": time.perf_counter() - began}
        changed: dict[str, dict[str, int]] = {}
        limit = rate_limit_needed(rates[-1], args.customers, live.api_rate_per_minute)
        if limit is not None:
            changed["api_rate_per_minute"] = {"from": live.api_rate_per_minute, "to": limit}
        api_settings = Settings(
            **{**live.model_dump(), **{name: c["to"] for name, c in changed.items()}}
        )
        work = root / "load"
        work.mkdir()
        (work / "locustfile.py").write_text(LOCUSTFILE)
        mark = time.perf_counter()
        _store_offers(live, customers)
        _grant_location(live, customers)
        _write_tokens(api_settings, customers, work / "tokens.json")
        setup["data_s"] = time.perf_counter() - mark
        with ApiProcess(api_settings, root) as api:
            mark = time.perf_counter()
            api.wait_ready()
            setup["api_ready_s"] = time.perf_counter() - mark
            _check_routes(api, api_settings, customers[0])
            pids = {"api": api.process.pid, **_stack_pids(root)}
            by_route = {
                route: [run_step(route, rate, args.seconds, api, pids, work) for rate in rates]
                for route in ROUTES
            }

    highest = {route: highest_kept(steps) for route, steps in by_route.items()}
    result = {
        "routes": {
            route: {"method": method, "path": path} for route, (method, path) in ROUTES.items()
        },
        "by_route": {route: [asdict(s) for s in steps] for route, steps in by_route.items()},
        "highest_kept_rate": highest,
        "settings_changed": changed,
        "customers": args.customers,
        "seconds": args.seconds,
        "rates": rates,
        "warmup_s": WARMUP_S,
        "per_user_rate": PER_USER_RATE,
        "offers_per_customer": OFFERS_PER_CUSTOMER,
        "api_rate_per_minute": api_settings.api_rate_per_minute,
        "cpus": os.cpu_count(),
        "setup_s": {key: round(value, 1) for key, value in setup.items()},
        "elapsed_s": round(time.perf_counter() - began, 1),
    }
    print(json.dumps(result, indent=2))
    print()
    print_tables(by_route, highest)


if __name__ == "__main__":
    main()
