"""The counting agent's step over in-memory tables and topics: windows and alerts sent,
metrics, and a worker taking over a subject from the tables it restored."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from stream_factories import at, make_post

from offers.contracts import (
    DeadLetter,
    SocialAggregate,
    SocialAlert,
    SocialMention,
    decode,
    encode,
)
from offers.contracts.events import AlertState
from offers.settings import Settings
from streams.listening.agents import ListeningAgents
from streams.listening.mentions import mentions_of
from streams.listening.records import decode_record
from streams.metrics import StreamMetrics

COMPLAINT = "Livorno-Olbia ferry cancelled, terrible delay, awful"
KIND = "Livorno-Olbia crossing was great, friendly staff"


@dataclass
class SentTopic:
    sent: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def send(self, *, key: bytes, value: bytes) -> None:
        self.sent.append((key, value))


@dataclass
class FakeApp:
    """Tables as dicts (shared by name, as a changelog would restore them) and topics
    that keep what is sent."""

    tables: dict[str, dict[bytes, bytes]] = field(default_factory=dict)
    topics: dict[str, SentTopic] = field(default_factory=dict)

    def Table(self, name: str, **options: Any) -> dict[bytes, bytes]:
        return self.tables.setdefault(name, {})

    def topic(self, name: str, **options: Any) -> SentTopic:
        return self.topics.setdefault(name, SentTopic())


def agents(app: FakeApp, metrics: StreamMetrics | None = None) -> ListeningAgents:
    settings = Settings(environment="test")
    return ListeningAgents(app, settings, metrics or StreamMetrics())  # type: ignore[arg-type]


def count(listening: ListeningAgents, t: float, text: str, n: int) -> None:
    """Count one post's mentions, each a batch of its own."""
    for mention in mentions_of(make_post(t, text, language="en", event_id=f"post-{n}")):
        asyncio.run(listening.count_records([Message(encode(mention))]))


def alerts(app: FakeApp) -> list[SocialAlert]:
    return [decode_record(v, SocialAlert) for _, v in app.topics["social.alerts"].sent]


def test_windows_and_alerts_are_sent_by_subject() -> None:
    app, metrics = FakeApp(), StreamMetrics()
    listening = agents(app, metrics)
    for n in range(5):
        count(listening, 60 * n, COMPLAINT, n)
    count(listening, 300, COMPLAINT, 4)  # redelivered
    aggregates = [
        decode_record(v, SocialAggregate) for _, v in app.topics["social.aggregates"].sent
    ]
    assert {a.subject for a in aggregates} == {"port:LIV", "port:OLB", "route:LIV-OLB"}
    last = app.topics["social.aggregates"].sent[-1][0].decode()
    assert last.startswith("route:LIV-OLB|1d|")
    opened = alerts(app)
    assert sorted(a.subject for a in opened) == ["port:LIV", "port:OLB", "route:LIV-OLB"]
    assert {a.state for a in opened} == {AlertState.OPEN}
    assert [k for k, _ in app.topics["social.alerts"].sent][0] == b"port:LIV"
    assert metrics.mentions.labels("route", "negative")._value.get() == 5
    assert metrics.duplicate_mentions._value.get() == 3
    assert metrics.open_alerts._value.get() == 3


def test_another_worker_closes_alerts_from_the_restored_tables() -> None:
    app = FakeApp()
    first = agents(app)
    for n in range(5):
        count(first, 60 * n, COMPLAINT, n)
    taken_over = FakeApp(tables=app.tables)
    successor = agents(taken_over)
    for k in (1, 2, 3):
        count(successor, k * 900 + 60, KIND, 10 + k)
    closed = alerts(taken_over)
    assert sorted(a.subject for a in closed) == ["port:LIV", "port:OLB", "route:LIV-OLB"]
    assert {a.closed_at for a in closed} == {at(0) + timedelta(minutes=45)}


@dataclass
class Message:
    """A Faust consumer message, as the agents read them."""

    value: bytes
    topic: str = "social.mentions"
    partition: int = 0
    offset: int = 7
    key: bytes | None = b"route:LIV-OLB"


def dead_letters(app: FakeApp) -> list[DeadLetter]:
    letters = [decode(v, expected=DeadLetter) for _, v in app.topics["events.dead-letter"].sent]
    return [letter for letter in letters if isinstance(letter, DeadLetter)]


def route_mention() -> SocialMention:
    post = make_post(0, COMPLAINT, language="en")
    return next(m for m in mentions_of(post) if m.subject == "route:LIV-OLB")


def test_an_unreadable_mention_is_dead_lettered_and_the_next_one_counted() -> None:
    app = FakeApp()
    listening = agents(app)
    mention = route_mention()
    asyncio.run(listening.count_records([Message(b"{not json"), Message(encode(mention))]))
    (letter,) = dead_letters(app)
    assert (letter.stage, letter.source_topic, letter.source_offset) == (
        "decode",
        "social.mentions",
        7,
    )
    assert letter.reason
    assert app.topics["social.aggregates"].sent


def test_a_mention_whose_counting_fails_is_dead_lettered_and_the_agent_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = FakeApp()
    listening = agents(app)
    (mention,) = [
        m
        for m in mentions_of(make_post(0, COMPLAINT, language="en"))
        if m.subject == "route:LIV-OLB"
    ]

    async def broken(_: object) -> None:
        raise RuntimeError("a defect")

    monkeypatch.setattr(listening, "count", broken)
    asyncio.run(listening.count_records([Message(encode(mention))]))
    (letter,) = dead_letters(app)
    assert letter.stage == "listening" and "a defect" in letter.reason


def test_a_post_whose_mentions_fail_is_dead_lettered(monkeypatch: pytest.MonkeyPatch) -> None:
    app = FakeApp()
    listening = agents(app)
    post = make_post(0, COMPLAINT, language="en")

    def broken(_: object) -> list[object]:
        raise RuntimeError("a defect")

    monkeypatch.setattr("streams.listening.agents.mentions_of", broken)
    asyncio.run(listening.split(Message(encode(post), topic="events.social", key=b"c1")))
    (letter,) = dead_letters(app)
    assert (letter.stage, letter.source_topic) == ("listening", "events.social")
    assert "social.mentions" not in app.topics or not app.topics["social.mentions"].sent


class CountingTable(dict[bytes, bytes]):
    """A table that counts its writes (each a changelog record in a worker)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def latest_by_key(sent: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    return dict(sent)


def test_a_batch_writes_each_subject_once_and_ends_where_one_mention_at_a_time_does() -> None:
    posts = [make_post(30 * n, COMPLAINT, language="en", event_id=f"post-{n}") for n in range(8)]
    messages = [Message(encode(m)) for post in posts for m in mentions_of(post)]
    messages.append(messages[0])  # a redelivered mention

    one_at_a_time = FakeApp()
    single = agents(one_at_a_time)
    for message in messages:
        asyncio.run(single.count_records([message]))

    tables = {name: CountingTable() for name in ("listening_windows", "listening_alerts")}
    batched = FakeApp(tables=dict(tables))
    asyncio.run(agents(batched).count_records(messages))

    subjects = {"port:LIV", "port:OLB", "route:LIV-OLB"}
    assert {key.decode() for key in tables["listening_windows"]} == subjects
    assert tables["listening_windows"].writes == len(subjects)
    assert tables["listening_alerts"].writes == len(subjects)
    assert batched.tables == one_at_a_time.tables
    sent = batched.topics["social.aggregates"].sent
    assert len(sent) == len(subjects) * 3  # each subject's 15-minute, hour and day window
    assert latest_by_key(sent) == latest_by_key(one_at_a_time.topics["social.aggregates"].sent)
    assert alerts(batched) == alerts(one_at_a_time) != []
