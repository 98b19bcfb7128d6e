"""The listening routes over a feed folded by hand: who may read, the aggregates of a
subject oldest first with ``since``, the alerts by state, the bounded board, and precise
refusals of a bad subject or window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from offers.contracts import ListeningWindow, SocialAggregate, SocialAlert, encode
from offers.contracts.events import AlertState
from offers.roles import Role
from offers.settings import Settings
from offers.topics import SOCIAL_AGGREGATES, SOCIAL_ALERTS
from offers_api.credentials import InMemoryApiKeyStore
from offers_api.listening import ListeningBoard, ListeningFeed
from offers_api.security import current_settings
from tests.integration.api_client import bearer
from tests.unit.offers_api.state_fakes import api_client

START = datetime(2026, 7, 14, 9, 0, tzinfo=UTC)
SLOT = timedelta(minutes=15)
HOUR = timedelta(hours=1)


def aggregate(slot: int, volume: int, subject: str = "port:LIV") -> SocialAggregate:
    start = START + slot * SLOT
    return SocialAggregate(
        event_id=f"agg-{slot}",
        event_time=start + timedelta(minutes=5),
        subject=subject,
        window=ListeningWindow.MINUTES_15,
        window_start=start,
        window_end=start + SLOT,
        volume=volume,
        negative=1,
        share_negative=1 / volume,
        mean_sentiment=-0.1,
        negative_topics={"delay": 1},
    )


def alert(subject: str, state: AlertState, opened: int) -> SocialAlert:
    opened_at = START + opened * SLOT
    return SocialAlert(
        event_id=f"alert-{subject}-{state.value}",
        event_time=opened_at + (HOUR if state is AlertState.CLOSED else timedelta(0)),
        alert_id=f"alert.{subject}.{opened}",
        subject=subject,
        state=state,
        opened_at=opened_at,
        closed_at=opened_at + HOUR if state is AlertState.CLOSED else None,
        close_reason="quiet" if state is AlertState.CLOSED else None,
        window_start=opened_at,
        volume=20,
        negative=12,
        share_negative=0.6,
        baseline=0.1,
        threshold=0.35,
        top_topics=("delay",),
    )


def record(topic: str, value: bytes, offset: int = 0) -> SimpleNamespace:
    return SimpleNamespace(topic=topic, partition=0, offset=offset, value=value)


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test")


@pytest.fixture
def feed() -> ListeningFeed:
    folded = ListeningFeed("unused:9092", max_windows=3)
    folded.fold(
        [record(SOCIAL_AGGREGATES.name, encode(aggregate(slot, 10))) for slot in (0, 1, 2, 3)]
        + [
            record(SOCIAL_AGGREGATES.name, b"{not json"),
            record(SOCIAL_ALERTS.name, encode(alert("route:LIV-OLB", AlertState.OPEN, 1))),
            record(SOCIAL_ALERTS.name, encode(alert("port:GOA", AlertState.OPEN, 0))),
            record(SOCIAL_ALERTS.name, encode(alert("port:GOA", AlertState.CLOSED, 0))),
        ]
    )
    return folded


@pytest.fixture
def client(settings: Settings, feed: ListeningFeed) -> TestClient:
    test_client, _ = api_client(settings, api_keys=InMemoryApiKeyStore(), listening=feed)
    app = test_client.app
    assert isinstance(app, FastAPI)
    app.dependency_overrides[current_settings] = lambda: settings
    return test_client


AGGREGATES = "/v1/listening/aggregates?subject=port:LIV&window=15m"


@pytest.mark.parametrize("path", [AGGREGATES, "/v1/listening/alerts"])
@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.MARKETER, True),
        (Role.DATA_SCIENTIST, True),
        (Role.ADMIN, True),
        (Role.CUSTOMER, False),
    ],
)
def test_analysts_may_read(
    client: TestClient, settings: Settings, path: str, role: Role, allowed: bool
) -> None:
    response = client.get(path, headers=bearer(settings, "u-marta", role))
    assert (response.status_code == 200) is allowed, response.text
    assert client.get(path).status_code == 401


def test_the_latest_windows_oldest_first(client: TestClient, settings: Settings) -> None:
    body = client.get(AGGREGATES, headers=bearer(settings, "u-marta", Role.MARKETER)).json()
    starts = [datetime.fromisoformat(w["window_start"]) for w in body]
    assert starts == [START + SLOT, START + 2 * SLOT, START + 3 * SLOT]
    first = body[0]
    assert first["subject"] == "port:LIV" and first["window"] == "15m"
    assert (first["volume"], first["negative"], first["negative_topics"]) == (10, 1, {"delay": 1})


def test_since_keeps_the_windows_ending_after_it(client: TestClient, settings: Settings) -> None:
    since = (START + 3 * SLOT).isoformat().replace("+00:00", "Z")
    body = client.get(
        f"{AGGREGATES}&since={since}", headers=bearer(settings, "u-marta", Role.ADMIN)
    )
    assert [w["window_start"] for w in body.json()] == ["2026-07-14T09:45:00Z"]


def test_other_subjects_and_windows_are_empty(client: TestClient, settings: Settings) -> None:
    headers = bearer(settings, "u-marta", Role.ADMIN)
    path = "/v1/listening/aggregates?subject=route:LIV-OLB&window=1h"
    assert client.get(path, headers=headers).json() == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("subject=LIV&window=15m", "must be brand, port:<CODE> or route:<ORIGIN>-<DESTINATION>"),
        ("subject=port:XYZ&window=15m", "XYZ is not a port of the network"),
        ("subject=route:LIV-CAG&window=15m", "LIV-CAG is not a route of the network"),
        ("subject=port:LIV&window=5m", "Input should be '15m', '1h' or '1d'"),
        ("subject=port:LIV&window=15m&since=2026-07-14T09:00:00", "timezone"),
        ("window=15m", "Field required"),
    ],
)
def test_bad_queries_are_refused_precisely(
    client: TestClient, settings: Settings, query: str, message: str
) -> None:
    path = f"/v1/listening/aggregates?{query}"
    response = client.get(path, headers=bearer(settings, "u-marta", Role.MARKETER))
    assert response.status_code == 422
    assert message in response.text


def test_alerts_by_state(client: TestClient, settings: Settings) -> None:
    headers = bearer(settings, "u-marta", Role.DATA_SCIENTIST)
    every = client.get("/v1/listening/alerts", headers=headers).json()
    assert [(a["subject"], a["state"]) for a in every] == [
        ("route:LIV-OLB", "open"),
        ("port:GOA", "closed"),
    ]
    opened = client.get("/v1/listening/alerts?state=open", headers=headers).json()
    assert [a["subject"] for a in opened] == ["route:LIV-OLB"]
    closed = client.get("/v1/listening/alerts?state=closed", headers=headers).json()
    assert closed[0]["close_reason"] == "quiet" and closed[0]["top_topics"] == ["delay"]
    refused = client.get("/v1/listening/alerts?state=maybe", headers=headers)
    assert refused.status_code == 422 and "'open' or 'closed'" in refused.text


def test_the_board_keeps_the_latest_count_of_each_window() -> None:
    board = ListeningBoard(max_windows=2)
    board.add(aggregate(0, 10))
    board.add(aggregate(0, 9))  # an older count read again
    board.add(aggregate(0, 12))
    assert [a.volume for a in board.aggregates("port:LIV", ListeningWindow.MINUTES_15)] == [12]
    for slot in (1, 2, 3):
        board.add(aggregate(slot, 1))
    held = board.aggregates("port:LIV", ListeningWindow.MINUTES_15)
    assert [a.window_start for a in held] == [START + 2 * SLOT, START + 3 * SLOT]
