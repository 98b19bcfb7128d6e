"""The live activity on the real broker: decisions and delivery statuses written to their
topics, before the API started and while it runs, as ``/v1/activity`` counts them and as
``/v1/activity/stream`` sends them, through uvicorn and a streaming HTTP client.

Other modules write decisions to the same broker (one for the whole run), so the checks
are on this module's own campaign and port (ids no one else uses)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from kafka import KafkaProducer

from offers.contracts import DeliveryStatus, OfferDecision
from offers.roles import Role
from offers.settings import Settings
from offers.topics import DECISIONS
from offers_api.main import create_app
from tests.integration.api_client import bearer
from tests.integration.kafka_io import produce
from tests.integration.stacks import own_stack_settings
from tests.unit.campaigns.factories import runnable_wire as runnable

pytestmark = pytest.mark.integration

TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Names:
    """This module's own campaign, port and decision ids."""

    campaign: str
    port: str
    tag: str

    def decision(self, n: int) -> str:
        return f"dec-{self.tag}-{n}"

    def customer(self, n: int) -> str:
        return f"cust-{self.tag}-{n}"


@pytest.fixture(scope="module")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A stack of this module's own: it writes an unreadable decision, which the other
    modules' strict readers of the decisions topic must not meet."""
    yield from own_stack_settings(tmp_path_factory, "activity")


@pytest.fixture(scope="module")
def names() -> Names:
    tag = uuid.uuid4().hex[:10]
    return Names(campaign=f"camp-live-{tag}", port=f"P{tag}", tag=tag)


def decision(names: Names, n: int, outcome: str) -> OfferDecision:
    return OfferDecision(
        event_id=f"od-{names.tag}-{n}",
        event_time=datetime.now(UTC),
        decision_id=names.decision(n),
        customer_id=names.customer(n),
        trigger_event_id=f"trg-{names.tag}-{n}",
        trigger="near_port",
        outcome=outcome,
        reason="highest expected value",
        campaign_id=names.campaign,
        channel="sms" if outcome == "send" else None,
        port=names.port,
    )


def status(names: Names, n: int, state: str, attempt: int = 0) -> DeliveryStatus:
    return DeliveryStatus(
        event_id=f"ds-{names.tag}-{n}-{state}-{attempt}",
        event_time=datetime.now(UTC),
        decision_id=names.decision(n),
        customer_id=names.customer(n),
        channel="sms",
        status=state,
    )


def produce_raw(bootstrap: str, topic: str, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    producer.send(topic, key=b"cust-unreadable", value=value).get(timeout=30)
    producer.close()


@pytest.fixture(scope="module")
def base_url(stack_settings: Settings, names: Names) -> Iterator[str]:
    """The app under uvicorn on a free port, started after a first decision was written
    (the feed reads it from its lookback); its shutdown must end, which it does only once
    every stream has ended."""
    produce(stack_settings.kafka_bootstrap, [decision(names, 0, "send")])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(stack_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)
    assert not thread.is_alive(), "the API did not stop: a stream outlived its client"


@pytest.fixture(scope="module")
def http(base_url: str, stack_settings: Settings) -> Iterator[httpx.Client]:
    headers = bearer(stack_settings, "u-marta", Role.MARKETER)
    with httpx.Client(base_url=base_url, headers=headers, timeout=20.0) as client:
        yield client


def campaign_of(snapshot: dict[str, Any], campaign_id: str) -> dict[str, Any] | None:
    return next((c for c in snapshot["campaigns"] if c["campaign_id"] == campaign_id), None)


def port_of(snapshot: dict[str, Any], code: str) -> dict[str, Any] | None:
    return next((p for p in snapshot["ports"] if p["port"] == code), None)


def failed(snapshot: dict[str, Any], names: Names) -> bool:
    campaign = campaign_of(snapshot, names.campaign)
    return campaign is not None and campaign["by_delivery"]["failed"] >= 1


def wait_for_decided(http: httpx.Client, names: Names, decided: int) -> dict[str, Any]:
    """The snapshot once the module's campaign has ``decided`` decisions."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        response = http.get("/v1/activity")
        assert response.status_code == 200, response.text
        snapshot: dict[str, Any] = response.json()
        campaign = campaign_of(snapshot, names.campaign)
        if campaign is not None and campaign["decided"] >= decided:
            return snapshot
        assert time.monotonic() < deadline, f"not counted in time: {campaign}"
        time.sleep(0.3)


def test_the_activity_counts_the_decisions_and_deliveries_written(
    http: httpx.Client, stack_settings: Settings, names: Names
) -> None:
    before = http.get("/v1/activity").json()["unreadable"]
    bootstrap = stack_settings.kafka_bootstrap
    produce(bootstrap, [decision(names, 1, "send"), decision(names, 2, "holdout")])
    produce(bootstrap, [decision(names, 1, "send")])  # the same decision again
    produce(
        bootstrap,
        [
            status(names, 0, "delivered"),
            status(names, 0, "delivered", attempt=1),  # a retried status
            status(names, 1, "failed"),
        ],
    )
    produce_raw(bootstrap, DECISIONS.name, b'{"type": "offer_decision", "cut short')
    written = time.time()

    snapshot = wait_for_decided(http, names, 3)
    deadline = time.monotonic() + TIMEOUT_S
    while snapshot["unreadable"] == before or not failed(snapshot, names):
        assert time.monotonic() < deadline, "the statuses were not counted in time"
        time.sleep(0.3)
        snapshot = http.get("/v1/activity").json()

    campaign = campaign_of(snapshot, names.campaign)
    assert campaign is not None
    assert campaign["by_outcome"] == {
        "send": 2,
        "holdout": 1,
        "control": 0,
        "suppressed": 0,
        "no_offer": 0,
    }
    assert (campaign["decided"], campaign["sent"]) == (3, 2)
    assert campaign["by_delivery"] == {
        "queued": 0,
        "sent": 0,
        "delivered": 1,
        "failed": 1,
        "undelivered": 0,
    }
    last = datetime.fromisoformat(campaign["last_decision_at"]).timestamp()
    assert written - 120 < last <= written + 5
    assert port_of(snapshot, names.port) == {
        "port": names.port,
        "decided": 3,
        "sent": 2,
        "decided_recent": 3,
        "sent_recent": 2,
    }
    ours = [d for d in snapshot["recent"] if d["campaign_id"] == names.campaign]
    assert {d["decision_id"] for d in ours} <= {names.decision(n) for n in range(3)}
    assert {(d["outcome"], d["channel"], d["port"]) for d in ours} <= {
        ("send", "sms", names.port),
        ("holdout", None, names.port),
    }
    assert snapshot["unreadable"] >= before + 1
    assert snapshot["window_s"] == 900
    assert names.customer(0) not in orjson.dumps(snapshot).decode()


def read_events(lines: Iterator[str], wanted: int) -> list[tuple[str, Any]]:
    """The next ``wanted`` events of an event stream (keep-alive comments skipped)."""
    events: list[tuple[str, Any]] = []
    name, data = "", ""
    for line in lines:
        if line.startswith(":"):
            continue
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and name:
            events.append((name, orjson.loads(data)))
            name, data = "", ""
            if len(events) == wanted:
                return events
    raise AssertionError(f"the stream ended after {events}")


def test_the_stream_sends_the_activity_at_once_and_again_when_it_changes(
    http: httpx.Client, stack_settings: Settings, names: Names
) -> None:
    created = http.post("/v1/campaigns", json=runnable())
    assert created.status_code == 201, created.text
    new_campaign = created.json()
    wait_for_decided(http, names, 3)

    with http.stream("GET", "/v1/activity/stream") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["cache-control"] == "no-cache"
        assert stream.headers["x-accel-buffering"] == "no"
        lines = stream.iter_lines()
        (first, snapshot), (second, campaigns) = read_events(lines, 2)
        assert (first, second) == ("activity", "campaigns")
        campaign = campaign_of(snapshot, names.campaign)
        assert campaign is not None and (campaign["decided"], campaign["sent"]) == (3, 2)
        assert {"id": new_campaign["id"], "status": "draft", "version": 1} in campaigns

        produce(stack_settings.kafka_bootstrap, [decision(names, 3, "send")])
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            ((name, data),) = read_events(lines, 1)
            assert time.monotonic() < deadline, "the new decision was not streamed in time"
            if name != "activity":
                continue
            campaign = campaign_of(data, names.campaign)
            if campaign is not None and campaign["decided"] == 4:
                break
        assert data["version"] > snapshot["version"]
        assert port_of(data, names.port) == {
            "port": names.port,
            "decided": 4,
            "sent": 3,
            "decided_recent": 4,
            "sent_recent": 3,
        }
        assert names.decision(3) in [d["decision_id"] for d in data["recent"]]
