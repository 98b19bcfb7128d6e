"""Social listening through a running worker and the API, on a stack of its own.

Ordinary posts about several routes and the brand go to ``events.social`` (some of them
twice), then a burst of complaints about Livorno-Olbia ("cancelled", "ritardo",
"delay"), one post at a time once the worker has read the one before. An alert opens for
the route and both its ports within a minute of event time, and for nothing else; the
API's aggregates equal a plain recomputation over the same posts; after two quiet
15-minute windows the alerts close.

The worker's lateness is a day, so that the mentions of a subject count the same
whatever order the posts of different partitions reach the re-keying agent in.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from offers.contracts import ListeningWindow, SocialPost
from offers.roles import Role
from offers.settings import Settings
from offers.stack.workers import WorkerProcess, wait_caught_up
from streams.listening.mentions import mentions_of
from streams.listening.windows import SubjectWindows
from tests.integration.api_client import api, bearer
from tests.integration.groups import worker_settings
from tests.integration.kafka_io import produce
from tests.integration.polling import eventually
from tests.integration.stacks import own_stack_settings

pytestmark = pytest.mark.integration

SLOT = timedelta(minutes=15)
LATENESS = timedelta(days=1)
ORDINARY = (
    ("en", "Lovely crossing from Genoa to Porto Torres, great crew"),
    ("en", "Civitavecchia-Olbia ferry was fine, on time"),
    ("en", "Moby, thanks for the smooth trip!"),
    ("en", "Livorno-Olbia crossing was great, friendly staff"),
)
COMPLAINTS = (
    ("en", "Livorno-Olbia ferry cancelled, terrible delay, awful"),
    ("it", "Traghetto Livorno-Olbia cancellato, ritardo vergognoso"),
    ("en", "Ferry from Livorno to Olbia late again, horrible service"),
)
SPIKED = {"route:LIV-OLB", "port:LIV", "port:OLB"}


def post(n: int, at: datetime, language: str, text: str) -> SocialPost:
    return SocialPost(
        event_id=f"post-{n}",
        event_time=at,
        customer_id=f"cust-{n % 17}",
        platform="x",
        language=language,
        text=text,
    )


def ordinary_posts(start: datetime) -> list[SocialPost]:
    """Two hours of ordinary posts, 2.5 minutes apart: at most two of a kind per window."""
    return [
        post(n, start + n * timedelta(seconds=150), *ORDINARY[n % len(ORDINARY)]) for n in range(48)
    ]


def burst(start: datetime) -> list[SocialPost]:
    """Twelve complaints about Livorno-Olbia 30 s apart, and posts about Genoa-Porto
    Torres among them."""
    complaints = [
        post(100 + k, start + k * timedelta(seconds=30), *COMPLAINTS[k % len(COMPLAINTS)])
        for k in range(12)
    ]
    others = [post(200 + k, start + k * timedelta(minutes=2), *ORDINARY[0]) for k in range(4)]
    return sorted(complaints + others, key=lambda p: p.event_time)


def quiet(start: datetime) -> list[SocialPost]:
    """One kind post about Livorno-Olbia in each of the three windows after the burst's."""
    return [post(300 + k, start + k * SLOT + timedelta(minutes=5), *ORDINARY[3]) for k in (1, 2, 3)]


def reference(posts: list[SocialPost]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every subject's windows by size, oldest first, recomputed from the posts."""
    states: dict[str, SubjectWindows] = {}
    latest: dict[str, Any] = {}
    lateness_ms = int(LATENESS.total_seconds() * 1000)
    for sent in sorted(posts, key=lambda p: p.event_time):
        for mention in mentions_of(sent):
            state = states.setdefault(mention.subject, SubjectWindows(mention.subject))
            for aggregate in state.add(
                mention, lateness_ms=lateness_ms, max_post_ids=10_000
            ).changed:
                latest[aggregate.aggregate_key] = aggregate
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for aggregate in sorted(latest.values(), key=lambda a: a.window_start):
        found.setdefault((aggregate.subject, aggregate.window.value), []).append(
            figures(
                {
                    "window_start": aggregate.window_start.isoformat().replace("+00:00", "Z"),
                    "volume": aggregate.volume,
                    "negative": aggregate.negative,
                    "negative_topics": aggregate.negative_topics,
                    "mean_sentiment": aggregate.mean_sentiment,
                }
            )
        )
    return found


def figures(window: dict[str, Any]) -> dict[str, Any]:
    return {
        "window_start": window["window_start"],
        "volume": window["volume"],
        "negative": window["negative"],
        "negative_topics": window["negative_topics"],
        "mean_sentiment": round(window["mean_sentiment"], 6),
    }


@pytest.fixture(scope="module")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    yield from own_stack_settings(tmp_path_factory, "listening")


@pytest.fixture(scope="module")
def settings(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root: Path = tmp_path_factory.mktemp("listening")
    chosen = worker_settings(stack_settings, root, "listening", redis_db=12)
    return chosen.model_copy(update={"allowed_lateness_seconds": int(LATENESS.total_seconds())})


def test_a_burst_of_complaints_opens_alerts_that_close_when_quiet(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    now = datetime.now(UTC)
    start = now - timedelta(hours=8) - timedelta(seconds=now.timestamp() % SLOT.total_seconds())
    burst_start = start + 8 * SLOT + timedelta(minutes=1)
    before = ordinary_posts(start) + burst(burst_start)
    after = quiet(burst_start - timedelta(minutes=1))
    root = tmp_path_factory.mktemp("listening-worker")
    headers = bearer(settings, "u-marta", Role.MARKETER)
    with WorkerProcess(settings, "worker", root) as worker, api(settings) as client:
        worker.wait_ready(timeout=300)
        ordinary = ordinary_posts(start)
        produce(settings.kafka_bootstrap, ordinary + ordinary[::7])  # some posts twice
        wait_caught_up(settings, [worker])
        for sent in burst(burst_start):  # one at a time: the order they happened in
            produce(
                settings.kafka_bootstrap, [sent, sent] if sent.event_id.endswith("7") else [sent]
            )
            wait_caught_up(settings, [worker])

        def opened() -> list[dict[str, Any]] | None:
            found = alerts(client, headers, "open")
            return found if {a["subject"] for a in found} >= SPIKED else None

        opened_alerts = eventually(opened, "alerts open for Livorno-Olbia")
        assert {a["subject"] for a in opened_alerts} == SPIKED
        complaints = [p for p in before if (p.language.value, p.text) in COMPLAINTS]
        fifth = complaints[4].event_time
        for alert in opened_alerts:
            at = datetime.fromisoformat(alert["opened_at"])
            assert burst_start <= at <= fifth + timedelta(minutes=1)
            assert alert["negative"] >= 5 and alert["baseline"] == pytest.approx(0.1)
            assert alert["top_topics"][0] == "delay"
        assert_aggregates(client, headers, before)

        produce(settings.kafka_bootstrap, after)
        wait_caught_up(settings, [worker])

        def closed() -> list[dict[str, Any]] | None:
            found = alerts(client, headers, "closed")
            return found if {a["subject"] for a in found} >= SPIKED else None

        closed_alerts = eventually(closed, "alerts closed after quiet windows")
        assert {a["subject"] for a in closed_alerts} == SPIKED
        assert alerts(client, headers, "open") == []
        for alert in closed_alerts:
            assert alert["close_reason"] == "quiet"
            assert datetime.fromisoformat(alert["closed_at"]) == start + 11 * SLOT
        assert_aggregates(client, headers, before + after)
        metrics = worker.metrics()
    assert metric(metrics, "offers_listening_alerts_total", change="open") == 3
    assert metric(metrics, "offers_listening_alerts_total", change="closed") == 3
    assert metric(metrics, "offers_listening_open_alerts") == 0
    assert metric(metrics, "offers_listening_mentions_total", kind="route", label="negative") == 12


def alerts(client: TestClient, headers: dict[str, str], state: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/listening/alerts?state={state}", headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def assert_aggregates(client: TestClient, headers: dict[str, str], posts: list[SocialPost]) -> None:
    """The API serves the recomputed windows of every subject and size (once the feed has
    read them)."""
    expected = reference(posts)

    def served() -> dict[tuple[str, str], list[dict[str, Any]]]:
        found = {}
        for subject, window in expected:
            response = client.get(
                f"/v1/listening/aggregates?subject={subject}&window={window}", headers=headers
            )
            assert response.status_code == 200, response.text
            found[(subject, window)] = [figures(w) for w in response.json()]
        return found

    eventually(lambda: True if served() == expected else None, "the aggregates", 60.0)
    assert {window for _, window in expected} == {w.value for w in ListeningWindow}


def metric(metrics: dict[tuple[str, Any], float], name: str, **labels: str) -> float:
    return sum(
        value
        for (found, held), value in metrics.items()
        if found == name and all((k, v) in held for k, v in labels.items())
    )
