"""Event-to-decision latency and throughput at fixed input rates, beside a worker that
does no work, and with one engine worker beside two, in the same run.

Starts the local stack on free ports in a temporary directory; trains the bootstrap model
into a temporary registry (the champion); writes one active campaign (the ``search``
trigger, every route, SMS in every language), SMS and location consent for each of
``--customers`` customers and the sailings of the coming week. Two workers run side by side:

- ``engine``: one ``faust -A streams.app worker`` (decisions on the wall clock);
- ``passthrough``: one ``faust -A bench.passthrough worker``, which copies each record of
  ``bench.passthrough.in`` to ``bench.passthrough.out`` (consume, produce, nothing else).

The load: location pings, searches and social posts in the shares of ``--mix`` (by
default half pings, 35 % searches, 15 % posts), customers drawn from the pool, unique
ids, event time now, keyed by customer; a ping lies near a port (inside its geofence or
not), a search is on a route with a sailing in the coming week, a post praises the brand
or complains. The engine reads each from its own topic (``events.location``,
``events.booking``, ``events.social``); the pass-through reads them all from its input.
A search always becomes one record on ``offers.decisions`` whose ``trigger_event_id`` is
the search's ``event_id``, and so does a praising post (a ``positive_social_mention``
trigger, which no campaign targets); a ping feeds the features, and the geofence
transitions it causes are triggers decided under their own ids.

A step feeds one pipeline at a fixed rate for ``--seconds``, each record stamped with its
send time. An event's latency is its output record's Kafka timestamp (set by the worker's
producer) minus its input record's (the engine's: its searches' and posts'). After the
step, the outputs are read from the offsets the output topic had before it, until every
expected event has one (a search, for the engine; every event, for the pass-through),
``DRAIN_S`` have passed or none came for ``DRAIN_IDLE_S`` (the rest are missing).
Meanwhile the group's consumer lag on its input topics (end offsets minus committed
ones) is sampled every second, and read again after the outputs until it stops falling.
A step is sustained when at least 97 % of its expected events have an output within 5 s
of its last send, p99 is under 2 s, and the lag left is at most 5 s of input (the
workers commit every few seconds, so some lag is always left).

After a warm-up step of each (not reported): at each rate of ``--rates``, ``--repeats``
times, a step of the engine and one of the pass-through in turn (which goes first
alternates); a pipeline skips the rates above 1,000/s and twice the first it did not
sustain.
Then each steps up from its last sustained rate of those, 1.5 times at a time, one
step per rate, the two still alternating, until a step is not sustained, the next rate
is one of ``--rates`` it did not sustain, the producer cannot keep the rate or
``--max-rate`` is passed; its highest sustained rate is the last that was. That rate
is then held for ``--hold`` seconds (60 by default); if the longer step is not
sustained, the rate 1.5 times lower is held, up to ``HOLD_TRIES`` rates: the rate held
is the highest sustained for that long, the throughput the results report. With
``--workers 2`` (the default), a second engine worker then joins the first one's group
(``engine_x2``: the partitions shared out between two processes), and the same steps
and step-up are run for the pair.

Each step also records what explains its numbers: the acknowledgement times of its input
records, the workers' CPU time per event, the machine's load average, the lag over time
and, for the engine, its feature flushes (a decision waits until its trigger's feature
row is in Redis). The CPU each worker uses while idle is measured once, after the warm-up.

Prints JSON and tables: per rate, the median p50/p95/p99 of each, the ratios engine /
pass-through and the CPU per event; one worker beside two; the decisions by outcome and
reason; the highest sustained rate of each.

With ``--profile DIR``, py-spy samples the engine's worker during each of its steps
(collapsed stacks in ``DIR/engine-<rate>-<time>.txt``; ``python -m bench.profiles``
summarises one).

    .venv/bin/python -m bench.decision_latency [--rates 50,200,500] [--seconds 20]
        [--customers 5000] [--repeats 1] [--max-rate 3000] [--mix booking=1]
        [--workers 1] [--profile DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from bench.passthrough import INPUT, OUTPUT
from bench.stack import temporary_stack
from features.store import apply_feature_repo
from models.bootstrap import bootstrap, register
from models.registry import ModelRegistry
from offers.campaigns import CampaignCreate, network
from offers.campaigns.audit import Actor
from offers.contracts import BookingEvent, ConsentScope, encode
from offers.contracts.events import (
    BookingAction,
    Language,
    LocationPing,
    SailingUpdate,
    SocialPlatform,
    SocialPost,
)
from offers.roles import Role
from offers.settings import Settings
from offers.stack.kafka import create_topics, end_offsets
from offers.stack.workers import WorkerProcess
from offers.state.campaigns import launch
from offers.topics import BOOKING, DECISIONS, LOCATION, SOCIAL
from simulators.consent import consent_changes
from simulators.ports import PORTS
from simulators.routes import all_routes
from simulators.sailings import SailingLoads, build_schedule, sailing_update_fields
from simulators.sink import KafkaEventProducer

ENGINE = "engine"
ENGINE_X2 = "engine_x2"
PASSTHROUGH = "passthrough"
DEFAULT_MIX = "location=0.5,booking=0.35,social=0.15"
SUSTAINED_SHARE = 0.97
SUSTAINED_WITHIN_MS = 5_000
SUSTAINED_P99_MS = 2_000.0
STEP_UP = 1.5
HOLD_TRIES = 3
"""Rates held for ``--hold`` seconds, from the highest sustained one down."""
SKIP_ABOVE = 2.0
NEVER_SKIPPED = 1_000.0
"""A pipeline skips the rates of ``--rates`` above both ``SKIP_ABOVE`` times the first it
did not sustain and ``NEVER_SKIPPED`` (the rates the targets read are always measured):
its backlog would hold up the steps after for minutes."""
DRAIN_S = 120.0
DRAIN_IDLE_S = 20.0
WARMUP_RATE = 20.0
WARMUP_S = 5.0
WARMUP_DRAIN_S = 180.0
"""The first step waits for the worker to join its group and load the model."""
STATE_WAIT_S = 60.0
IDLE_S = 5.0
SAILING_DAYS = 7
CONSENT_SAMPLE = 100
MIN_SLEEP_S = 0.001
POLL_MS = 200
LAG_SAMPLE_S = 1.0
LAG_SETTLE_S = 15.0
COMMIT_WAIT_S = 1.0
MODEL_ROWS = 20_000
LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Workers of one group, the topic they are fed and the topic their outputs are read
    from."""

    name: str
    worker: WorkerProcess
    input_topic: str | None
    """None: each event goes to its own topic (:attr:`Made.topic`)."""
    output_topic: str
    read: Callable[[bytes], tuple[str, str | None]]
    """The event id an output answers, and its ``outcome/reason`` (None: it has none)."""
    group: str
    """The workers' consumer group (their app id), whose lag is sampled."""
    flushes: Callable[[], tuple[float, float]] | None = None
    """The workers' feature flushes so far: how many, and the seconds they took."""
    also: tuple[WorkerProcess, ...] = ()
    """More workers of the same group."""

    @property
    def workers(self) -> tuple[WorkerProcess, ...]:
        return (self.worker, *self.also)

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(worker.process.pid for worker in self.workers)

    @property
    def input_topics(self) -> list[str]:
        if self.input_topic is not None:
            return [self.input_topic]
        return [LOCATION.name, BOOKING.name, SOCIAL.name]


class LagProbe:
    """The consumer lag of a pipeline's group on its input topics (end offsets minus
    committed offsets, summed), sampled every ``LAG_SAMPLE_S`` in a thread while a step
    runs. Workers commit every few seconds, so the lag includes up to that much input."""

    def __init__(self, bootstrap: str, pipeline: Pipeline) -> None:
        self.bootstrap = bootstrap
        self.pipeline = pipeline
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-probe", daemon=True)
        self._admin: KafkaAdminClient | None = None
        self._began = time.monotonic()

    def __enter__(self) -> LagProbe:
        self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="bench-lag")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._admin is not None:
            self._admin.close()

    def lag(self) -> int:
        assert self._admin is not None
        group = self.pipeline.group
        committed = self._admin.list_group_offsets({group: None}).get(group, {})
        ends = end_offsets(self.bootstrap, self.pipeline.input_topics)
        total = 0
        for (topic, partition), end in ends.items():
            done = committed.get(TopicPartition(topic, partition))
            total += end - (done.offset if done is not None and done.offset >= 0 else 0)
        return total

    def settle(self, rate: float) -> int | None:
        """The lag once it stops falling (at most ``LAG_SETTLE_S``), after the outputs
        were read: what the group had not processed by then."""
        deadline = time.monotonic() + LAG_SETTLE_S
        last: int | None = None
        while time.monotonic() < deadline:
            now = self.lag()
            if now <= rate * LAG_SAMPLE_S or (last is not None and now >= last):
                return now
            last = now
            time.sleep(COMMIT_WAIT_S)
        return last

    def _run(self) -> None:
        while not self._stop.wait(LAG_SAMPLE_S):
            try:
                self.samples.append((time.monotonic() - self._began, self.lag()))
            except KafkaError:
                continue  # one sample fewer


def _read_decision(value: bytes) -> tuple[str, str | None]:
    record = orjson.loads(value)
    return str(record["trigger_event_id"]), f"{record['outcome']}/{record['reason']}"


def _read_copy(value: bytes) -> tuple[str, str | None]:
    return str(orjson.loads(value)["event_id"]), None


def _engine_flushes(*engines: WorkerProcess) -> tuple[float, float]:
    count = seconds = 0.0
    for engine in engines:
        metrics = engine.metrics()
        for (name, labels), value in metrics.items():
            if ("store", "online") not in labels:
                continue
            if name == "offers_feature_flush_seconds_count":
                count += value
            elif name == "offers_feature_flush_seconds_sum":
                seconds += value
    return count, seconds


def _cpu_s(*pids: int) -> float:
    """User and system CPU seconds of live processes so far."""
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


@dataclass(frozen=True, slots=True)
class Made:
    """One generated event, encoded: where it goes and whether it wants a decision."""

    topic: str
    """The topic the engine reads it from (the pass-through reads every event from its
    own input topic)."""
    event_id: str
    key: bytes
    value: bytes
    decided: bool
    """The engine answers it with a decision of its own id (a search)."""


class Searches:
    """Search events of a pool of customers on some routes, each id new."""

    def __init__(self, customers: list[str], routes: list[str], seed: int) -> None:
        self.customers = customers
        self.routes = routes
        self.random = random.Random(seed)
        self.made = 0

    def next(self) -> Made:
        """The next event, made now."""
        return self.search()

    def search(self) -> Made:
        self.made += 1
        customer = self.random.choice(self.customers)
        event = BookingEvent(
            event_id=f"bench-search-{self.made}",
            event_time=datetime.now(UTC),
            customer_id=customer,
            action=BookingAction.SEARCH,
            route_id=self.random.choice(self.routes),
        )
        return Made(BOOKING.name, event.event_id, customer.encode(), encode(event), True)


POSTS = {
    "it": ("Che bella traversata con Moby, equipaggio gentile!", "Nave in ritardo di due ore."),
    "en": ("Lovely crossing with Moby, the crew were great!", "Ferry two hours late again."),
    "fr": ("Superbe traversée avec Moby, équipage adorable !", "Encore deux heures de retard."),
    "de": ("Tolle Überfahrt mit Moby, sehr nette Crew!", "Die Fähre hat zwei Stunden Verspätung."),
}
"""A positive post naming the brand (a ``positive_social_mention`` trigger) and a
complaint, in each language."""


class Mix(Searches):
    """Location pings, searches and social posts of the pool, in the shares ``--mix``
    gives. A ping is somewhere within 0.05 degrees of a port (some inside its geofence:
    their transitions are triggers of their own); a post is one of :data:`POSTS`."""

    def __init__(
        self, customers: list[str], routes: list[str], seed: int, shares: dict[str, float]
    ) -> None:
        super().__init__(customers, routes, seed)
        self.kinds = list(shares)
        self.weights = [shares[kind] for kind in self.kinds]
        self.makers = {"location": self.ping, "booking": self.search, "social": self.post}

    def next(self) -> Made:
        return self.makers[self.random.choices(self.kinds, self.weights)[0]]()

    def ping(self) -> Made:
        self.made += 1
        customer = self.random.choice(self.customers)
        port = self.random.choice(PORTS)
        event = LocationPing(
            event_id=f"bench-ping-{self.made}",
            event_time=datetime.now(UTC),
            customer_id=customer,
            lat=port.lat + self.random.uniform(-0.05, 0.05),
            lon=port.lon + self.random.uniform(-0.05, 0.05),
            accuracy_m=10.0,
        )
        return Made(LOCATION.name, event.event_id, customer.encode(), encode(event), False)

    def post(self) -> Made:
        self.made += 1
        customer = self.random.choice(self.customers)
        language = self.random.choice(list(POSTS))
        praise = self.random.random() < 0.5
        event = SocialPost(
            event_id=f"bench-post-{self.made}",
            event_time=datetime.now(UTC),
            customer_id=customer,
            platform=SocialPlatform.INSTAGRAM,
            language=Language(language),
            text=POSTS[language][0 if praise else 1],
            brand_mentions=("Moby",) if praise else (),
        )
        return Made(SOCIAL.name, event.event_id, customer.encode(), encode(event), False)


def parse_mix(text: str) -> dict[str, float]:
    """``location=0.5,booking=0.35,social=0.15`` as shares summing to 1."""
    shares: dict[str, float] = {}
    for part in text.split(","):
        kind, _, share = part.partition("=")
        if kind not in ("location", "booking", "social") or not share:
            raise ValueError(f"not a share of location, booking or social: {part!r}")
        shares[kind] = float(share)
    total = sum(shares.values())
    if total <= 0:
        raise ValueError("the shares add up to nothing")
    return {kind: share / total for kind, share in shares.items()}


@dataclass(slots=True)
class Sent:
    """What a step sent: each event's send time (ms, the record's timestamp) by id, the
    ids that must get an output, the milliseconds until each send was acknowledged and
    the rate achieved."""

    stamps: dict[str, int]
    expected: set[str]
    acks: list[float]
    per_s: float


@dataclass(frozen=True, slots=True)
class Step:
    """One pipeline fed at one rate for a while, and what came out."""

    pipeline: str
    rate: float
    events: int
    sent_per_s: float
    outputs: int
    missing: int
    within_5s_share: float
    """Events with an output at most 5 s after the step's last send, over all events."""
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    drain_s: float
    """From the end of sending to the reading of the last output found."""
    sustained: bool
    producer_kept_rate: bool
    ack_p50_ms: float | None
    ack_p99_ms: float | None
    """From a send to the broker's acknowledgement of the input record."""
    worker_cpu_ms_per_event: float
    """The worker's CPU time from the first send to the last output read, per event."""
    load_1m: float
    """The machine's load average at the end of the step."""
    feature_flushes: int | None = None
    feature_flush_ms_mean: float | None = None
    lag_max: int | None = None
    lag_end: int | None = None
    """The group's lag on its inputs once it settled after the outputs were read."""
    lag: list[tuple[float, int]] = field(default_factory=list)
    """(seconds since the step began, lag) every ``LAG_SAMPLE_S``."""
    outcomes: dict[str, int] = field(default_factory=dict)


def paced_producer(settings: Settings, client_id: str) -> KafkaProducer:
    """The producer a step sends with: each record sent at once (no linger) and
    acknowledged by every replica, so its send time is its produce time."""
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=0, client_id=client_id
    )


def _acked(acks: list[float], stamp: int, metadata: object) -> None:
    """On the producer's thread: the record sent at ``stamp`` is acknowledged."""
    acks.append(float(time.time_ns() // 1_000_000 - stamp))


def _percentiles(latencies: list[float]) -> tuple[float | None, float | None, float | None]:
    if len(latencies) < 2:
        only = latencies[0] if latencies else None
        return only, only, only
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


class Bench:
    """Runs steps: paces searches into a pipeline, then reads and matches its outputs."""

    def __init__(
        self,
        settings: Settings,
        searches: Searches,
        producer: KafkaProducer,
        profiles: Path | None = None,
    ) -> None:
        self.settings = settings
        self.searches = searches
        self.producer = producer
        self.profiles = profiles
        """Where the engine's steps are profiled with py-spy, if anywhere."""

    def step(
        self,
        pipeline: Pipeline,
        rate: float,
        seconds: float,
        drain_s: float = DRAIN_S,
        idle_s: float = DRAIN_IDLE_S,
    ) -> Step:
        """Feed ``pipeline`` events at ``rate`` for ``seconds``, and read its outputs."""
        start = end_offsets(self.settings.kafka_bootstrap, [pipeline.output_topic])
        flushes_before = pipeline.flushes() if pipeline.flushes else None
        cpu_before = _cpu_s(*pipeline.pids)
        profiler = self._profile(pipeline, rate, seconds)
        with LagProbe(self.settings.kafka_bootstrap, pipeline) as lag:
            sent = self._send(pipeline, rate, seconds)
            last_ms = max(sent.stamps.values())
            outputs, drain = self._collect(pipeline, start, sent, drain_s, idle_s)
            lag_end = lag.settle(rate)
        if profiler is not None:
            profiler.wait()
        cpu = _cpu_s(*pipeline.pids) - cpu_before
        flushes, flush_ms = None, None
        if pipeline.flushes is not None and flushes_before is not None:
            count, flush_s = pipeline.flushes()
            flushes = int(count - flushes_before[0])
            flush_ms = 1000 * (flush_s - flushes_before[1]) / flushes if flushes else None
        ack_p50, _, ack_p99 = _percentiles(sent.acks)
        latencies = [float(out_ms - sent.stamps[i]) for i, (out_ms, _) in outputs.items()]
        within = sum(
            outputs[i][0] <= last_ms + SUSTAINED_WITHIN_MS for i in sent.expected if i in outputs
        )
        p50, p95, p99 = _percentiles(latencies)
        share = within / max(len(sent.expected), 1)
        lag_ok = lag_end is None or lag_end <= rate * SUSTAINED_WITHIN_MS / 1000
        return Step(
            pipeline=pipeline.name,
            rate=rate,
            events=len(sent.stamps),
            sent_per_s=sent.per_s,
            outputs=len(outputs),
            missing=len(sent.expected - outputs.keys()),
            within_5s_share=share,
            p50_ms=p50,
            p95_ms=p95,
            p99_ms=p99,
            max_ms=max(latencies, default=None),
            drain_s=drain,
            sustained=share >= SUSTAINED_SHARE
            and p99 is not None
            and p99 < SUSTAINED_P99_MS
            and lag_ok,
            producer_kept_rate=sent.per_s >= SUSTAINED_SHARE * rate,
            ack_p50_ms=ack_p50,
            ack_p99_ms=ack_p99,
            worker_cpu_ms_per_event=1000 * cpu / len(sent.stamps),
            load_1m=os.getloadavg()[0],
            feature_flushes=flushes,
            feature_flush_ms_mean=flush_ms,
            lag_max=max((n for _, n in lag.samples), default=None),
            lag_end=lag_end,
            lag=[(round(t, 1), n) for t, n in lag.samples],
            outcomes=dict(
                Counter(label for _, label in outputs.values() if label is not None).most_common()
            ),
        )

    def _profile(
        self, pipeline: Pipeline, rate: float, seconds: float
    ) -> subprocess.Popen[bytes] | None:
        """py-spy sampling the engine's worker (every thread, without pausing it) while
        the step sends: its collapsed stacks go to ``<profiles>/engine-<rate>.txt`` (one
        line per stack and its count, for flamegraph.pl or speedscope)."""
        if self.profiles is None or pipeline.name != ENGINE:
            return None
        self.profiles.mkdir(parents=True, exist_ok=True)
        out = self.profiles / f"engine-{rate:g}-{time.strftime('%H%M%S')}.txt"
        command = [
            str(Path(sys.executable).with_name("py-spy")),
            *("record", "--pid", str(pipeline.pids[0]), "--nonblocking"),
            *("--threads", "--function", "--rate", "100", "--format", "raw"),
            *("--duration", str(max(1, round(seconds))), "--output", str(out)),
        ]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _send(self, pipeline: Pipeline, rate: float, seconds: float) -> Sent:
        """Events at ``rate`` per second for ``seconds``, each to the pipeline's input
        topic, or to its own topic when the pipeline has none."""
        total = max(2, round(rate * seconds))
        sent = Sent({}, set(), [], 0.0)
        started = time.monotonic()
        for n in range(total):
            ahead = started + n / rate - time.monotonic()
            if ahead > MIN_SLEEP_S:
                time.sleep(ahead)
            made = self.searches.next()
            stamp = time.time_ns() // 1_000_000
            topic = pipeline.input_topic or made.topic
            future = self.producer.send(topic, key=made.key, value=made.value, timestamp_ms=stamp)
            future.add_callback(_acked, sent.acks, stamp)
            sent.stamps[made.event_id] = stamp
            if made.decided or pipeline.input_topic is not None:
                sent.expected.add(made.event_id)
        last = time.monotonic()
        self.producer.flush()
        sent.per_s = (total - 1) / max(last - started, 1e-9)
        return sent

    def _collect(
        self,
        pipeline: Pipeline,
        start: dict[tuple[str, int], int],
        sent: Sent,
        drain_s: float,
        idle_s: float,
    ) -> tuple[dict[str, tuple[int, str | None]], float]:
        """The first output of each sent event, from ``start`` on: its timestamp and label,
        read until every expected one is there, ``drain_s`` have passed or none came for
        ``idle_s``; and the seconds from the end of sending to the last output read."""
        began = time.monotonic()
        found: dict[str, tuple[int, str | None]] = {}
        consumer = KafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
        )
        try:
            parts = [TopicPartition(topic, partition) for topic, partition in start]
            consumer.assign(parts)
            for part in parts:
                consumer.seek(part, start[(part.topic, part.partition)])
            last_found = began
            while not sent.expected <= found.keys():
                now = time.monotonic()
                if now - began > drain_s or now - last_found > idle_s:
                    break
                for worker in pipeline.workers:
                    if worker.process.poll() is not None:
                        raise RuntimeError(f"{worker.name} exited: {worker.log_tail()}")
                batches = consumer.poll(timeout_ms=POLL_MS, max_records=10_000)
                for records in batches.values():
                    for record in records:
                        event_id, label = pipeline.read(record.value)
                        if event_id in sent.stamps and event_id not in found:
                            found[event_id] = (int(record.timestamp), label)
                            last_found = time.monotonic()
        finally:
            consumer.close()
        return found, last_found - began


# The world the engine decides in --------------------------------------------------------


def _train_model(registry_dir: Path, seed: int) -> str:
    """The bootstrap model, registered and promoted champion: its version."""
    return register(ModelRegistry(registry_dir), bootstrap(MODEL_ROWS, seed), promote=True)


def _campaign(now: datetime) -> CampaignCreate:
    """Every route, on every search, by SMS in every language, all day for 30 days."""
    texts = {
        "it": "Ciao {name}! {discount} su {sailing} da {port}, entro {expiry}.",
        "en": "Hi {name}! {discount} off {sailing} from {port}, until {expiry}.",
        "de": "Hallo {name}! {discount} auf {sailing} ab {port}, bis {expiry}.",
        "fr": "Bonjour {name} ! {discount} sur {sailing} depuis {port}, jusqu'au {expiry}.",
    }
    start = now.replace(microsecond=0)
    return CampaignCreate.model_validate(
        {
            "name": "Searchers, every route",
            "description": "10 % off the searched route for customers who search it",
            "offer": {
                "kind": "percent_discount",
                "percent": 10,
                "all_routes": True,
                "cost_eur": 2.0,
            },
            "templates": [
                {"channel": "sms", "language": language, "text": text}
                for language, text in texts.items()
            ],
            "targeting": {"triggers": ["search"]},
            "schedule": {
                "start": start.isoformat(),
                "end": (start + timedelta(days=30)).isoformat(),
                "days": [1, 2, 3, 4, 5, 6, 7],
            },
            "channels": ["sms"],
            "budget": {"max_sends": 1_000_000},
            "frequency_cap": {"per_day": 1, "per_week": 2},
            "priority_eur": 12.0,
            "holdout_share": 0.1,
            "offer_expiry_hours": 48,
        }
    )


def _activate_campaign(settings: Settings) -> str:
    actor = Actor(user_id="bench", role=Role.ADMIN)
    return launch(settings.kafka_bootstrap, _campaign(datetime.now(UTC)), actor).id


def _sailings(now: datetime, seed: int) -> list[SailingUpdate]:
    """Every sailing departing in the coming ``SAILING_DAYS`` days, empty, as of now."""
    schedule = build_schedule(
        all_routes(), now.date(), now.date() + timedelta(days=SAILING_DAYS), seed
    )
    loads = SailingLoads(schedule)
    now_ms = int(now.timestamp() * 1000)
    return [
        SailingUpdate(
            event_id=f"bench-sailing-{i}",
            event_time=now,
            **sailing_update_fields(loads, i, now_ms, "scheduled"),
        )
        for i in range(len(schedule))
        if int(schedule.departure_ms[i]) > now_ms
    ]


def _wait_for(what: str, check: Callable[[], bool], worker: WorkerProcess) -> float:
    """Seconds until ``check`` holds (asked every 0.2 s)."""
    began = time.monotonic()
    while not check():
        if worker.process.poll() is not None:
            raise RuntimeError(f"{worker.name} exited: {worker.log_tail()}")
        if time.monotonic() - began > STATE_WAIT_S:
            raise RuntimeError(f"the engine's worker holds no {what} after {STATE_WAIT_S} s")
        time.sleep(0.2)
    return time.monotonic() - began


def _engine_holds(
    engine: WorkerProcess, campaign: str, customers: list[str], sailings: int, seed: int
) -> dict[str, float]:
    """Wait until the engine's worker holds the campaign, the consent (a sample) and the
    sailings; the seconds each took."""
    sample = random.Random(seed).sample(customers, min(CONSENT_SAMPLE, len(customers)))
    return {
        "campaign": _wait_for(
            "active campaign",
            lambda: any(
                c["id"] == campaign and c["status"] == "active" for c in engine.page("/campaigns")
            ),
            engine,
        ),
        "consent": _wait_for(
            "consent",
            lambda: all(engine.page(f"/consent/{c}").get("sms") is True for c in sample),
            engine,
        ),
        "sailings": _wait_for(
            "sailings", lambda: len(engine.page("/sailings")) >= sailings, engine
        ),
    }


# The run ------------------------------------------------------------------------------


def _order(items: list[T], turn: int) -> list[T]:
    """``items``, reversed every other turn."""
    return items if turn % 2 == 0 else items[::-1]


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _summary(steps: list[Step]) -> dict[str, Any]:
    """Medians of a pipeline's steps at one rate."""
    return {
        **{key: _rounded(_median([getattr(s, key) for s in steps])) for key in LATENCY_KEYS},
        "worker_cpu_ms_per_event": _rounded(_median([s.worker_cpu_ms_per_event for s in steps]), 2),
        "ack_p99_ms": _rounded(_median([s.ack_p99_ms for s in steps])),
        "load_1m": _rounded(_median([s.load_1m for s in steps]), 2),
        "lag_max": _median([s.lag_max for s in steps]),
        "lag_end": _median([s.lag_end for s in steps]),
        "missing": sum(s.missing for s in steps),
        "sustained": all(s.sustained for s in steps),
        "steps": len(steps),
    }


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _ratio(engine: float | None, passthrough: float | None) -> float | None:
    if engine is None or not passthrough:
        return None
    return round(engine / passthrough, 2)


def _highest(
    bench: Bench,
    pipelines: list[Pipeline],
    steps: dict[float, dict[str, list[Step]]],
    rates: list[float],
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    """The highest sustained rate of each pipeline and why the search stopped. From its
    last sustained rate of ``rates``, steps up 1.5 times at a time below the first rate
    it did not sustain, if any (its steps are added to ``steps``)."""
    highest: dict[str, dict[str, Any]] = {}
    searching: dict[str, tuple[Pipeline, float | None]] = {}
    for pipeline in pipelines:
        best: float | None = None
        ceiling: float | None = None
        for rate in rates:
            if not all(s.sustained for s in steps[rate][pipeline.name]):
                ceiling = rate
                break
            best = rate
        stopped = None if ceiling is None else f"not sustained at {ceiling:g}/s"
        highest[pipeline.name] = {"rate": best, "stopped": stopped}
        if best is not None:
            searching[pipeline.name] = (pipeline, ceiling)
    turn = 0
    while searching:
        for name in _order(list(searching), turn):
            pipeline, ceiling = searching[name]
            result = highest[name]
            rate = float(round(result["rate"] * STEP_UP))
            if ceiling is not None and rate >= ceiling:
                del searching[name]
                continue
            if rate > args.max_rate:
                result["stopped"] = f"--max-rate {args.max_rate:g}/s reached"
                del searching[name]
                continue
            step = bench.step(pipeline, rate, args.seconds)
            steps.setdefault(rate, {}).setdefault(name, []).append(step)
            if not step.producer_kept_rate:
                result["stopped"] = f"the producer sent {step.sent_per_s:,.0f}/s of {rate:g}/s"
                del searching[name]
            elif not step.sustained:
                result["stopped"] = f"not sustained at {rate:g}/s"
                del searching[name]
            else:
                result["rate"] = rate
        turn += 1
    for pipeline in pipelines:
        _hold(bench, pipeline, highest[pipeline.name], args.hold)
    return highest


def _hold(bench: Bench, pipeline: Pipeline, result: dict[str, Any], seconds: float) -> None:
    """Hold the pipeline's highest sustained rate for ``seconds``, then lower rates (1.5
    times at a time) until one is sustained that long: ``result["held"]`` gets the rate
    held (None if none was) and each try's rate, p99, largest lag and verdict. These
    steps stay out of the steps by rate, which are all of ``--seconds``."""
    rate = result["rate"]
    tries: list[dict[str, Any]] = []
    held = None
    while rate is not None and len(tries) < HOLD_TRIES and rate > 0:
        step = bench.step(pipeline, rate, seconds)
        tries.append(
            {
                "rate": rate,
                "p99_ms": step.p99_ms,
                "lag_max": step.lag_max,
                "lag_end": step.lag_end,
                "sustained": step.sustained,
            }
        )
        if step.sustained:
            held = rate
            break
        rate = float(round(rate / STEP_UP))
    result["held"] = {"seconds": seconds, "rate": held, "tries": tries}


def _by_rate(steps: dict[float, dict[str, list[Step]]]) -> list[dict[str, Any]]:
    rows = []
    for rate in sorted(steps):
        measured = steps[rate]
        row: dict[str, Any] = {"rate": rate}
        for name in (ENGINE, PASSTHROUGH, ENGINE_X2):
            if name in measured:
                row[name] = _summary(measured[name])
        if ENGINE in row and PASSTHROUGH in row:
            row["ratio"] = {
                key.removesuffix("_ms"): _ratio(row[ENGINE][key], row[PASSTHROUGH][key])
                for key in (*LATENCY_KEYS, "worker_cpu_ms_per_event")
            }
        outcomes: Counter[str] = Counter()
        for step in measured.get(ENGINE, []):
            outcomes.update(step.outcomes)
        row["decisions"] = dict(outcomes.most_common())
        rows.append(row)
    return rows


def _cell(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}{unit}"


def _triple(values: dict[str, Any] | None, keys: Iterable[str], unit: str = "") -> str:
    return " / ".join(_cell(values[key], unit) for key in keys) if values else "–"


def _lags(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "–"
    return " / ".join(_cell(summary[key], digits=0) for key in ("lag_max", "lag_end"))


def _print_tables(rows: list[dict[str, Any]], highest: dict[str, dict[str, Any]]) -> None:
    print(
        "| rate/s | engine p50 / p95 / p99 ms | pass-through p50 / p95 / p99 ms "
        "| engine ÷ pass-through | CPU ms/event engine / pass-through "
        "| sustained engine / pass-through | load 1 min |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | :---: | ---: |")
    cpu = "worker_cpu_ms_per_event"
    for row in rows:
        engine, passthrough, ratio = row.get(ENGINE), row.get(PASSTHROUGH), row.get("ratio")
        ratios = ("p50", "p95", "p99")
        cpus = " / ".join(
            _cell(part[cpu], digits=2) if part else "–" for part in (engine, passthrough)
        )
        if ratio and ratio[cpu] is not None:
            cpus += f" ({ratio[cpu]:,.1f}×)"
        sustained = " / ".join(
            ("yes" if part["sustained"] else "no") if part else "–"
            for part in (engine, passthrough)
        )
        loads = [part["load_1m"] for part in (engine, passthrough) if part]
        cells = [
            _triple(engine, LATENCY_KEYS),
            _triple(passthrough, LATENCY_KEYS),
            _triple(ratio, ratios, "×"),
            cpus,
            sustained,
            _cell(max(loads) if loads else None, digits=2),
        ]
        print(f"| {row['rate']:g} | {' | '.join(cells)} |")
    print()
    print("| highest sustained rate | events/s | stopped by | held | tries (p99 ms, lag max) |")
    print("| --- | ---: | --- | ---: | --- |")
    for name, result in highest.items():
        rate, held = result["rate"], result.get("held") or {}
        tries = ", ".join(
            f"{t['rate']:g}/s {'yes' if t['sustained'] else 'no'} "
            f"({_cell(t['p99_ms'], digits=0)}, {_cell(t['lag_max'], digits=0)})"
            for t in held.get("tries", [])
        )
        held_rate = "none" if held.get("rate") is None else f"{held['rate']:g}"
        print(
            f"| {name} | {'none' if rate is None else f'{rate:g}'} | {result['stopped']} "
            f"| {held_rate} for {held.get('seconds', 0):g} s | {tries or '–'} |"
        )
    if any(ENGINE_X2 in row for row in rows):
        print()
        print(
            "| rate/s | 1 worker p50 / p95 / p99 ms | 2 workers p50 / p95 / p99 ms "
            "| CPU ms/event 1 / 2 workers | lag max / after, 1 worker | lag max / after, 2 "
            "| sustained 1 / 2 |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | :---: |")
        for row in rows:
            one, two = row.get(ENGINE), row.get(ENGINE_X2)
            cells = [
                _triple(one, LATENCY_KEYS),
                _triple(two, LATENCY_KEYS),
                " / ".join(_cell(p[cpu], digits=2) if p else "–" for p in (one, two)),
                _lags(one),
                _lags(two),
                " / ".join(("yes" if p["sustained"] else "no") if p else "–" for p in (one, two)),
            ]
            print(f"| {row['rate']:g} | {' | '.join(cells)} |")
    print()
    print("| rate/s | engine decisions by outcome/reason |")
    print("| ---: | --- |")
    for row in rows:
        counts = ", ".join(f"{label} {n:,}" for label, n in row["decisions"].items())
        print(f"| {row['rate']:g} | {counts or '–'} |")


@dataclass(frozen=True, slots=True)
class World:
    """What the bench set up on the stack before the workers start."""

    engine: Settings
    passthrough: Settings
    model: str
    campaign: str
    sailings: int
    routes: list[str]
    """Routes searched: those of the network with a sailing in the coming week."""
    setup_s: dict[str, float]


def _prepare(live: Settings, root: Path, customers: list[str], seed: int) -> World:
    """The model, the feature repo, the topics, the campaign, the consent and the sailings."""
    setup: dict[str, float] = {}
    engine = Settings(
        **{
            **live.model_dump(),
            "decision_clock": "wall",
            "model_dir": root / "registry",
            "stream_app_id": "bench-decisions",
        }
    )
    mark = time.perf_counter()
    model = _train_model(root / "registry", seed)
    setup["model_s"] = time.perf_counter() - mark
    apply_feature_repo(engine)
    create_topics(live.kafka_bootstrap, live, (INPUT, OUTPUT))
    campaign = _activate_campaign(engine)
    now = datetime.now(UTC)
    sailings = _sailings(now, seed)
    with KafkaEventProducer(engine) as producer:
        mark = time.perf_counter()
        # every customer of the pool grants SMS, and location (their pings are used)
        shares = {ConsentScope.SMS: 1.0, ConsentScope.LOCATION: 1.0}
        producer.produce(consent_changes(customers, seed, at=now, shares=shares))
        setup["consent_write_s"] = time.perf_counter() - mark
        producer.produce(sailings)
    routes = sorted(network.route_ids() & {sailing.route_id for sailing in sailings})
    return World(
        engine=engine,
        passthrough=Settings(**{**live.model_dump(), "stream_app_id": "bench-passthrough"}),
        model=model,
        campaign=campaign,
        sailings=len(sailings),
        routes=routes,
        setup_s=setup,
    )


def _measure(
    bench: Bench, pipelines: list[Pipeline], rates: list[float], args: argparse.Namespace
) -> tuple[dict[str, Any], dict[float, dict[str, list[Step]]], dict[str, dict[str, Any]]]:
    """The warm-up steps and the idle CPU of each worker (% of a core), the steps by rate
    and pipeline, and the highest sustained rates."""
    warmup: dict[str, Any] = {
        p.name: bench.step(p, WARMUP_RATE, WARMUP_S, WARMUP_DRAIN_S, WARMUP_DRAIN_S)
        for p in pipelines
    }
    for name, step in warmup.items():
        if step.missing:
            raise RuntimeError(f"{name}: {step.missing} warm-up events without an output")
    idle = [_cpu_s(*p.pids) for p in pipelines]
    time.sleep(IDLE_S)
    for p, before in zip(pipelines, idle, strict=True):
        warmup[f"{p.name}_idle_cpu_percent"] = round(100 * (_cpu_s(*p.pids) - before) / IDLE_S, 1)
    steps: dict[float, dict[str, list[Step]]] = {}
    _fixed_rates(bench, pipelines, rates, steps, args)
    highest = _highest(bench, pipelines, steps, rates, args)
    return warmup, steps, highest


def _fixed_rates(
    bench: Bench,
    pipelines: list[Pipeline],
    rates: list[float],
    steps: dict[float, dict[str, list[Step]]],
    args: argparse.Namespace,
) -> None:
    """``--repeats`` steps of each pipeline at each rate (added to ``steps``), the
    pipelines alternating, each skipping the rates above ``NEVER_SKIPPED`` and
    ``SKIP_ABOVE`` times the first it did not sustain."""
    failed: dict[str, float] = {}
    for repeat in range(args.repeats):
        for i, rate in enumerate(rates):
            for pipeline in _order(pipelines, repeat + i):
                if rate > max(SKIP_ABOVE * failed.get(pipeline.name, rate), NEVER_SKIPPED):
                    continue
                step = bench.step(pipeline, rate, args.seconds)
                steps.setdefault(rate, {}).setdefault(pipeline.name, []).append(step)
                if not step.sustained:
                    failed.setdefault(pipeline.name, rate)


def _measure_more(
    bench: Bench,
    pipeline: Pipeline,
    rates: list[float],
    steps: dict[float, dict[str, list[Step]]],
    args: argparse.Namespace,
) -> tuple[Step, dict[str, Any]]:
    """Another pipeline after the others: its warm-up step (in which its workers share
    out the partitions), its steps at each rate (added to ``steps``) and its highest
    sustained rate."""
    warm = bench.step(pipeline, WARMUP_RATE, WARMUP_S, WARMUP_DRAIN_S, WARMUP_DRAIN_S)
    if warm.missing:
        raise RuntimeError(f"{pipeline.name}: {warm.missing} warm-up events without an output")
    _fixed_rates(bench, [pipeline], rates, steps, args)
    return warm, _highest(bench, [pipeline], steps, rates, args)[pipeline.name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="50,200,500", help="events/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="of each step")
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=1, help="steps per fixed rate")
    parser.add_argument("--max-rate", type=float, default=3_000.0, help="of the step-up")
    parser.add_argument(
        "--hold", type=float, default=60.0, help="seconds the highest sustained rate is held"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile", type=Path, default=None, help="directory of py-spy profiles of the engine"
    )
    parser.add_argument(
        "--mix",
        default=DEFAULT_MIX,
        help="shares of location, booking (searches) and social events, e.g. booking=1",
    )
    parser.add_argument(
        "--workers", type=int, choices=(1, 2), default=2, help="2: also measure two engine workers"
    )
    args = parser.parse_args()
    try:
        mix = parse_mix(args.mix)
    except ValueError as exc:
        parser.error(str(exc))
    rates = sorted({float(rate) for rate in args.rates.split(",")})
    began = time.perf_counter()
    customers = [f"bench-customer-{i}" for i in range(args.customers)]

    with temporary_stack() as (live, root):
        stack_s = time.perf_counter() - began
        world = _prepare(live, root, customers, args.seed)
        producer = paced_producer(live, "bench-decision-latency")
        with (
            closing(producer),
            WorkerProcess(world.engine, ENGINE, root) as engine,
            WorkerProcess(
                world.passthrough, PASSTHROUGH, root, app="bench.passthrough"
            ) as passthrough,
        ):
            mark = time.perf_counter()
            engine.wait_ready()
            ready_s = time.perf_counter() - mark
            held = _engine_holds(engine, world.campaign, customers, world.sailings, args.seed)
            pipelines = [
                Pipeline(
                    ENGINE,
                    engine,
                    None,
                    DECISIONS.name,
                    _read_decision,
                    world.engine.stream_app_id,
                    partial(_engine_flushes, engine),
                ),
                Pipeline(
                    PASSTHROUGH,
                    passthrough,
                    INPUT.name,
                    OUTPUT.name,
                    _read_copy,
                    world.passthrough.stream_app_id,
                ),
            ]
            events = Mix(customers, world.routes, args.seed, mix)
            bench = Bench(world.engine, events, producer, args.profile)
            warmup, steps, highest = _measure(bench, pipelines, rates, args)
            if args.workers == 2:
                with WorkerProcess(world.engine, f"{ENGINE}-2", root) as second:
                    second.wait_ready()
                    two = replace(
                        pipelines[0],
                        name=ENGINE_X2,
                        flushes=partial(_engine_flushes, engine, second),
                        also=(second,),
                    )
                    warmup[ENGINE_X2], highest[ENGINE_X2] = _measure_more(
                        bench, two, rates, steps, args
                    )

    setup = {"stack_s": stack_s, **world.setup_s, "engine_ready_s": ready_s}
    setup.update({f"engine_holds_{what}_s": seconds for what, seconds in held.items()})
    rows = _by_rate(steps)
    settings = world.engine
    result = {
        "customers": args.customers,
        "seconds": args.seconds,
        "repeats": args.repeats,
        "rates": rates,
        "mix": mix,
        "workers": args.workers,
        "model": world.model,
        "campaign": world.campaign,
        "sailings": world.sailings,
        "routes": len(world.routes),
        "topic_partitions": settings.topic_partitions,
        "decision_batch_size": settings.decision_batch_size,
        "decision_batch_ms": settings.decision_batch_ms,
        "decision_feature_wait_ms": settings.decision_feature_wait_ms,
        "feature_batch_rows": settings.feature_batch_rows,
        "feature_flush_ms": settings.feature_flush_ms,
        "cpus": os.cpu_count(),
        "setup_s": {key: round(value, 1) for key, value in setup.items()},
        "by_rate": rows,
        "highest_sustained": highest,
        "warmup": {k: asdict(v) if isinstance(v, Step) else v for k, v in warmup.items()},
        "steps": [asdict(s) for rate in sorted(steps) for ss in steps[rate].values() for s in ss],
        "elapsed_s": round(time.perf_counter() - began, 1),
    }
    print(json.dumps(result, indent=2))
    print()
    _print_tables(rows, highest)


if __name__ == "__main__":
    main()
