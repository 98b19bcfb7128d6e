"""Customers' phone numbers never appear in the engine's topics, logs or decision records
(pseudonymous ids only).

A simulated day runs through the whole engine and the loop around it: SMS and WhatsApp
offers sent to the provider sandbox, its status callbacks and WhatsApp webhooks, the
customers clicking, redeeming and booking, and replies by SMS (a STOP and a HELP from
customers who got an offer). Then every record of every topic of the broker (the
internal, state and dead-letter topics included) and every log of the stack and of its
processes (stream and delivery workers, API) is searched for every customer's number, in
any of its forms (see :mod:`tests.integration.phone_scan`).

The scanner's own tests, at the end, use no service (the stack starts only for the
run): they show that it finds a number planted in a record or a log, so that a clean
scan means something.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from offers.demo_setup import engine_settings
from offers.settings import Settings
from offers.stack import LocalStack
from offers.topics import CONSENT, DEAD_LETTER, DECISIONS, DELIVERY_STATUS
from simulators.phones import COUNTRY_CODE, phone_number
from simulators.reaction import find_offer_link
from simulators.world import DEFAULT_START, WorldConfig
from tests.integration.decision_runs import trained_registry
from tests.integration.loop_runs import During, LoopDay, Rig, run_days
from tests.integration.phone_scan import PhoneScan, TopicScan, log_files, scan_topics

pytestmark = pytest.mark.integration

WORLD = WorldConfig(seed=29, customers=1_000, days=1, start=DEFAULT_START + timedelta(days=30))
"""A day of its own: the customers' caps and the engine's clock carry over between runs."""
SPEED = 9_600.0
"""Simulated seconds per second: the day in 9 s."""
REPLIES = ("STOP", "HELP")
"""What customers who got an SMS offer text back, one each."""
REPLY_WAIT_S = 60.0
"""How long after the day's events the replies may still wait for SMS offers."""


@dataclass(frozen=True)
class Reply:
    number: str
    body: str
    status: int


@dataclass(frozen=True)
class LeakRun:
    day: LoopDay
    replies: list[Reply]
    scan: PhoneScan
    topics: TopicScan
    logs: list[Path]


def reply_by_sms(replies: list[Reply]) -> During:
    """Work during the run: each of :data:`REPLIES` texted, through the sandbox, by a
    different customer who got an SMS offer, as soon as there is one."""

    def work(rig: Rig, done: threading.Event) -> None:
        sandbox = rig.loop.sandbox
        assert sandbox.base_url is not None
        until: float | None = None
        with httpx.Client(base_url=sandbox.base_url, timeout=10.0) as http:
            while len(replies) < len(REPLIES):
                if done.is_set():
                    until = until or time.monotonic() + REPLY_WAIT_S
                    if time.monotonic() > until:
                        return
                texted = {reply.number for reply in replies}
                number = next(
                    (
                        m.to
                        for m in sandbox.messages()
                        if m.channel == "sms"
                        and m.to not in texted
                        and find_offer_link(m.body) is not None
                    ),
                    None,
                )
                if number is None:
                    time.sleep(0.5)
                    continue
                body = REPLIES[len(replies)]
                answer = http.post("/sandbox/reply", json={"from": number, "body": body})
                replies.append(Reply(number, body, answer.status_code))

    return work


@pytest.fixture(scope="module")
def run(
    local_stack: LocalStack, stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LeakRun]:
    root = tmp_path_factory.mktemp("leaks")
    registry = trained_registry(root / "registry")
    settings = engine_settings(stack_settings, registry.directory)
    replies: list[Reply] = []
    day = run_days(settings, root / "logs", WORLD, speed=SPEED, during=[reply_by_sms(replies)])
    scan = PhoneScan([phone_number(i) for i in range(WORLD.customers)], COUNTRY_CODE)
    topics = scan_topics(settings.kafka_bootstrap, scan)
    yield LeakRun(day, replies, scan, topics, log_files(local_stack.root, root / "logs"))


def test_the_day_carried_offers_callbacks_and_replies(run: LeakRun) -> None:
    channels = {message.channel for message in run.day.offers}
    assert {"sms", "whatsapp"} <= channels, channels
    assert run.day.responses, "no customer answered"
    assert [(r.body, r.status) for r in run.replies] == [(body, 200) for body in REPLIES]


def test_every_topic_was_read_to_its_end(run: LeakRun) -> None:
    records = run.topics.records
    assert run.topics.unread == []
    for topic in (DECISIONS.name, DELIVERY_STATUS.name, CONSENT.name):
        assert records.get(topic, 0) > 0, (topic, records)
    assert DEAD_LETTER.name in records
    assert "__consumer_offsets" in records
    assert any(name.endswith("-changelog") and count for name, count in records.items())


def test_no_topic_carries_a_phone_number(run: LeakRun) -> None:
    assert run.topics.leaks == [], run.topics.leaks[:5]


def test_no_log_carries_a_phone_number(run: LeakRun) -> None:
    names = {path.name for path in run.logs}
    assert {"api.log", "worker-0.log", "delivery-1.log", "kafka.log", "redis.log"} <= names
    leaks = [leak for path in run.logs for leak in run.scan.file_leaks(path)]
    assert leaks == [], leaks[:5]


# the scanner itself, which needs no services ------------------------------------------

NUMBER = phone_number(417)
"""``+393400000417``."""


@pytest.fixture
def scan() -> PhoneScan:
    return PhoneScan([phone_number(i) for i in range(1_000)], COUNTRY_CODE)


@pytest.mark.parametrize(
    "planted",
    [
        b'{"to": "+393400000417", "body": "Ciao"}',
        b'{"recipient_id": "393400000417"}',
        b"To=%2B393400000417&Body=STOP",
        b"national 3400000417.",
        b"\x00\xff\x1a393400000417\x00binary",
    ],
)
def test_the_scanner_finds_a_number_planted_in_a_record(scan: PhoneScan, planted: bytes) -> None:
    leaks = scan.record_leaks("decisions[0]@7", b"c0000418", planted)
    assert [(leak.where, leak.number) for leak in leaks] == [("decisions[0]@7", NUMBER)]


def test_the_scanner_finds_a_number_in_a_key_or_a_header(scan: PhoneScan) -> None:
    assert [leak.number for leak in scan.record_leaks("t", b"+393400000417", b"{}")] == [NUMBER]
    headers = [("to", b"3400000417")]
    assert [leak.number for leak in scan.record_leaks("t", None, b"{}", headers)] == [NUMBER]


def test_the_scanner_leaves_ids_times_and_other_numbers_alone(scan: PhoneScan) -> None:
    clean = (
        b'{"customer_id": "c0000418", "decision_id": "9f3a40b0c417ab", '
        b'"event_time": "2026-06-01T10:00:00+00:00", "ts": 1780308000000, '
        b'"score": 0.34000004171234, "phone": "+393331234567", "long": 13400000417}'
    )
    assert scan.record_leaks("t", b"c0000418", clean) == []


def test_the_scanner_finds_a_number_planted_in_a_log(scan: PhoneScan, tmp_path: Path) -> None:
    stack, logs = tmp_path / "stack", tmp_path / "logs"
    (stack / "kafka" / "data" / "offers.decisions-0").mkdir(parents=True)
    (stack / "kafka" / "data" / "offers.decisions-0" / "00000000.log").write_text("3400000417")
    (stack / "kafka" / "kafka.log").write_text("INFO started\n")
    logs.mkdir()
    (logs / "delivery-1.log").write_text("INFO sent to whatsapp:+393400000417\n")
    files = log_files(stack, logs)
    assert sorted(path.name for path in files) == ["delivery-1.log", "kafka.log"]
    leaks = [leak for path in files for leak in scan.file_leaks(path)]
    assert [(Path(leak.where).name, leak.number) for leak in leaks] == [("delivery-1.log", NUMBER)]
