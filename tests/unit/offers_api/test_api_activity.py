"""The routes of the marketers' page data over fakes: the network, the activity snapshot and
its event stream (who may read them, what they hold), and the stream's events as the
generator makes them: at once, on a change, keep-alives, and its end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from offers.campaigns import CampaignCreate, CampaignStatus
from offers.roles import Role
from offers.settings import Settings
from offers_api.credentials import InMemoryApiKeyStore
from offers_api.routes.activity import KEEP_ALIVE, activity_events, sse_event
from offers_api.schemas import ActivityPublic, CampaignStatePublic
from offers_api.security import current_settings
from offers_api.web.activity import ActivityFeed
from simulators.ports import PORTS
from simulators.routes import all_routes
from tests.integration.api_client import bearer
from tests.unit.offers_api.activity_factories import (
    START,
    FakeClock,
    decision,
    record,
    status,
)
from tests.unit.offers_api.state_fakes import api_client


@dataclass
class StoredCampaigns:
    """The campaign store's list: objects with an id, a status and a version."""

    campaigns: list[SimpleNamespace] = field(default_factory=list)

    def all(self) -> list[SimpleNamespace]:
        return list(self.campaigns)


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test")


@pytest.fixture
def feed() -> ActivityFeed:
    """A feed with two decisions and a delivery, stopped: a stream of it ends at once."""
    folded = ActivityFeed("unused:9092", clock=FakeClock(START))
    folded.fold(record(decision(1, "send", port="PFE"), START - timedelta(minutes=3)))
    folded.fold(record(decision(2, "holdout", port="PFE"), START - timedelta(minutes=2)))
    folded.fold(record(status("dec-1", "delivered")))
    folded.close()
    return folded


@pytest.fixture
def client(settings: Settings, feed: ActivityFeed) -> TestClient:
    campaigns = StoredCampaigns(
        [SimpleNamespace(id="camp-elba", status=CampaignStatus.ACTIVE, version=3)]
    )
    test_client, _ = api_client(
        settings, api_keys=InMemoryApiKeyStore(), activity=feed, campaigns=campaigns
    )
    app = test_client.app
    assert isinstance(app, FastAPI)
    app.dependency_overrides[current_settings] = lambda: settings
    return test_client


# Who may read


@pytest.mark.parametrize("path", ["/v1/network", "/v1/activity", "/v1/activity/stream"])
@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.CUSTOMER, False),
        (Role.MARKETER, True),
        (Role.DATA_SCIENTIST, True),
        (Role.ADMIN, True),
    ],
)
def test_marketers_data_scientists_and_admins_may_read(
    client: TestClient, settings: Settings, path: str, role: Role, allowed: bool
) -> None:
    response = client.get(path, headers=bearer(settings, "u-marta", role))
    assert response.status_code == (200 if allowed else 403), response.text


@pytest.mark.parametrize("path", ["/v1/network", "/v1/activity", "/v1/activity/stream"])
def test_no_credentials_is_401(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# The presets of a new campaign


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.CUSTOMER, 403), (Role.DATA_SCIENTIST, 403), (Role.MARKETER, 200), (Role.ADMIN, 200)],
)
def test_marketers_and_admins_may_read_the_presets(
    client: TestClient, settings: Settings, role: Role, status: int
) -> None:
    response = client.get("/v1/campaign-presets", headers=bearer(settings, "u-marta", role))
    assert response.status_code == status, response.text


def test_the_presets_are_the_demos_campaigns_scheduled_from_this_hour(
    client: TestClient, settings: Settings
) -> None:
    before = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    marketer = bearer(settings, "u-marta", Role.MARKETER)
    response = client.get("/v1/campaign-presets", headers=marketer)
    after = datetime.now(UTC)

    found = response.json()
    assert [p["id"] for p in found] == ["quote_comeback", "port_welcome", "fare_drop_alert"]
    assert [p["body"]["name"] for p in found] == [
        "Come back to your quote",
        "Port welcome",
        "Fare drop alert",
    ]
    for preset in found:
        body = CampaignCreate.model_validate(preset["body"])
        assert before <= body.schedule.start <= after
        assert body.schedule.start.minute == body.schedule.start.second == 0
        assert body.schedule.end - body.schedule.start == timedelta(days=30)
        assert {t.language for t in body.templates} == {"it", "en", "de", "fr"}


# The network


def test_the_network_is_every_port_and_route(client: TestClient, settings: Settings) -> None:
    body = client.get("/v1/network", headers=bearer(settings, "u-marta", Role.MARKETER)).json()
    assert len(body["ports"]) == len(PORTS) and len(body["routes"]) == len(all_routes())
    assert body["ports"][0] == {
        "code": "LIV",
        "name": "Livorno",
        "lat": 43.558,
        "lon": 10.299,
        "country": "IT",
        "geofence_km": 2.5,
    }
    assert {"route_id": "LIV-OLB", "origin": "LIV", "destination": "OLB"} in body["routes"]
    assert {"route_id": "OLB-LIV", "origin": "OLB", "destination": "LIV"} in body["routes"]
    codes = {port["code"] for port in body["ports"]}
    assert all({r["origin"], r["destination"]} <= codes for r in body["routes"])


# The snapshot


def test_the_activity_is_the_feeds_snapshot(client: TestClient, settings: Settings) -> None:
    body = client.get(
        "/v1/activity", headers=bearer(settings, "u-marta", Role.DATA_SCIENTIST)
    ).json()
    assert body["as_of"] == "2026-06-01T10:00:00Z"
    assert (body["window_s"], body["unreadable"]) == (900, 0)
    assert body["version"] >= 3
    assert body["ports"] == [
        {"port": "PFE", "decided": 2, "sent": 1, "decided_recent": 2, "sent_recent": 1}
    ]
    (campaign,) = body["campaigns"]
    assert campaign["campaign_id"] == "camp-elba"
    assert (campaign["decided"], campaign["sent"]) == (2, 1)
    assert campaign["by_outcome"]["holdout"] == 1 and campaign["by_delivery"]["delivered"] == 1
    assert [d["decision_id"] for d in body["recent"]] == ["dec-2", "dec-1"]


# The stream over the API


def parse_events(text: str) -> list[tuple[str, Any]]:
    """``(event, decoded data)`` of each event of an event stream; comments are skipped."""
    events = []
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        events.append((fields["event"], orjson.loads(fields["data"])))
    return events


def test_the_stream_starts_with_the_activity_and_the_campaigns(
    client: TestClient, settings: Settings
) -> None:
    response = client.get("/v1/activity/stream", headers=bearer(settings, "u-marta", Role.MARKETER))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    events = parse_events(response.text)  # the feed has stopped: the stream has ended
    assert [name for name, _ in events] == ["activity", "campaigns"]
    snapshot = ActivityPublic.model_validate(events[0][1])
    assert [d.decision_id for d in snapshot.recent] == ["dec-2", "dec-1"]
    assert events[1][1] == [{"id": "camp-elba", "status": "active", "version": 3}]


# The stream's events


def test_an_event_is_its_name_and_its_data_lines() -> None:
    assert sse_event("activity", '{"version":3}') == 'event: activity\ndata: {"version":3}\n\n'
    assert sse_event("note", "one\ntwo") == "event: note\ndata: one\ndata: two\n\n"
    assert sse_event("empty", "") == "event: empty\ndata: \n\n"
    assert KEEP_ALIVE == ": keep-alive\n\n"


@dataclass
class ScriptedFeed:
    """A feed whose snapshot version the test sets."""

    current: int = 1
    stopped: bool = False
    snapshots: int = 0

    def version(self) -> int:
        return self.current

    def snapshot(self) -> ActivityPublic:
        self.snapshots += 1
        return ActivityPublic(
            as_of=START,
            version=self.current,
            window_s=900,
            ports=[],
            campaigns=[],
            recent=[],
            unreadable=0,
        )


def collect(
    feed: ScriptedFeed,
    campaigns: Callable[[], list[CampaignStatePublic]],
    ticks: list[Callable[[], None]],
    keep_alive_s: float = 3600.0,
) -> list[str]:
    """The stream's output while ``ticks`` run, one before each check of the client; the
    client disconnects when they are done."""
    left = list(ticks)

    async def disconnected() -> bool:
        if not left:
            return True
        left.pop(0)()
        return False

    async def run() -> list[str]:
        stream = activity_events(
            feed, campaigns, disconnected, tick_s=0.0, keep_alive_s=keep_alive_s
        )
        return [event async for event in stream]

    return asyncio.run(run())


def names(output: list[str]) -> list[str]:
    return [
        "keep-alive" if event == KEEP_ALIVE else event.split("\n")[0].removeprefix("event: ")
        for event in output
    ]


def campaign(version: int, status: str = "active") -> CampaignStatePublic:
    return CampaignStatePublic(id="camp-elba", status=status, version=version)


def test_the_stream_sends_a_snapshot_when_the_version_changes_and_the_list_when_it_does() -> None:
    feed = ScriptedFeed()
    listed = [campaign(1)]

    def bump() -> None:
        feed.current += 1

    def pause() -> None:
        listed[0] = campaign(2, "paused")

    def nothing() -> None:
        pass

    output = collect(feed, lambda: list(listed), [nothing, bump, nothing, pause, bump])
    assert names(output) == ["activity", "campaigns", "activity", "campaigns", "activity"]
    versions = [orjson.loads(e.split("data: ")[1])["version"] for e in output if "activity" in e]
    assert versions == [1, 2, 3]
    assert orjson.loads(output[3].split("data: ")[1]) == [
        {"id": "camp-elba", "status": "paused", "version": 2}
    ]


def test_a_quiet_stream_sends_keep_alives() -> None:
    feed = ScriptedFeed()
    output = collect(feed, list, [lambda: None] * 3, keep_alive_s=0.0)
    assert names(output) == ["activity", "campaigns", "keep-alive", "keep-alive", "keep-alive"]


def test_the_stream_ends_when_the_feed_stops() -> None:
    feed = ScriptedFeed()

    def stop() -> None:
        feed.stopped = True

    output = collect(feed, list, [stop, lambda: None, lambda: None])
    assert names(output) == ["activity", "campaigns"]
    assert feed.snapshots == 1
