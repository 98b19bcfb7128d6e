"""Social guardrails through a running worker, on a stack of its own.

Two active campaigns pause on social alerts: one offers Livorno-Olbia, the other
Genoa-Porto Torres. Searches of both routes are sent; then the simulator's burst of
complaints about Livorno-Olbia (:func:`simulators.social.route_posts`, in the four
languages) opens alerts on the route and its ports within a minute of event time, and
while they are open the searches of Livorno-Olbia are suppressed (``social_alert``,
naming the paused campaign) while those of Genoa-Porto Torres are still sent, and a
customer who complained gets nothing on either route (``recent_complaint``). Kind posts
in the following quiet windows close the alerts, and Livorno-Olbia is sent again.

Decisions are taken at event time; the worker's lateness is a day, as in the listening
test, so that mentions count the same in whatever order the partitions are read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from offers.contracts import (
    AlertState,
    BookingEvent,
    Channel,
    DecisionOutcome,
    OfferDecision,
    SailingUpdate,
    SocialAlert,
)
from offers.settings import Settings
from offers.stack.workers import WorkerProcess, wait_caught_up
from offers.topics import SOCIAL_ALERTS
from simulators.routes import all_routes
from simulators.social import Sentiment, route_posts
from streams.listening.records import decode_record
from tests.factories import make_event
from tests.integration.decision_runs import (
    active_campaign,
    every_trigger_wire,
    grant,
    read_decisions,
    settled_decisions,
    trained_registry,
)
from tests.integration.groups import worker_settings
from tests.integration.kafka_io import produce, read_records
from tests.integration.polling import eventually
from tests.integration.stacks import own_stack_settings

pytestmark = pytest.mark.integration

SLOT = timedelta(minutes=15)
LATENESS = timedelta(days=1)
ALERTED = {"route:LIV-OLB", "port:LIV", "port:OLB"}
ROUTES = ("LIV-OLB", "GOA-PTO")
LIV_OLB = next(route for route in all_routes() if route.route_id == "LIV-OLB")


def search(customer: str, route: str, at: datetime) -> BookingEvent:
    event = make_event(
        "booking",
        event_id=f"search-{customer}-{route}",
        event_time=at.isoformat(),
        customer_id=customer,
        action="search",
        route_id=route,
        sailing_id=None,
        booking_ref=...,
        price_eur=...,
        offer_decision_id=...,
    )
    assert isinstance(event, BookingEvent)
    return event


def sailing(route: str, at: datetime, departs: datetime) -> SailingUpdate:
    origin, destination = route.split("-")
    event = make_event(
        "sailing_update",
        event_id=f"sail-{route}",
        event_time=at.isoformat(),
        sailing_id=f"{route}-S1",
        route_id=route,
        origin_port=origin,
        destination_port=destination,
        departure_time=departs.isoformat(),
        arrival_time=(departs + timedelta(hours=8)).isoformat(),
        capacity_passengers=800,
        booked_passengers=100,
        fare_eur=60.0,
    )
    assert isinstance(event, SailingUpdate)
    return event


def guarded_wire(route: str, start: datetime) -> dict[str, Any]:
    """A campaign on searches of ``route`` alone, paused on social alerts."""
    wire = every_trigger_wire(start, days=1)
    wire["name"] = f"Searches of {route}"
    wire["offer"] = {
        "kind": "percent_discount",
        "percent": 10,
        "route_ids": [route],
        "cost_eur": 2.0,
    }
    wire["targeting"] = {"triggers": ["search"]}
    wire["holdout_share"] = 0.0
    wire["guardrails"] = {"pause_on_social_alerts": True}
    return wire


def alerts(settings: Settings) -> list[SocialAlert]:
    return [
        decode_record(r.value, SocialAlert)
        for r in read_records(settings.kafka_bootstrap, SOCIAL_ALERTS.name)
    ]


def decisions_of(settings: Settings, searches: list[BookingEvent]) -> dict[str, OfferDecision]:
    """The decision of each search, by the search's event id."""
    wanted = {s.event_id for s in searches}
    found = {
        d.trigger_event_id: d for d in read_decisions(settings) if d.trigger_event_id in wanted
    }
    assert set(found) == wanted
    return found


@pytest.fixture(scope="module")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    yield from own_stack_settings(tmp_path_factory, "guardrails")


@pytest.fixture(scope="module")
def settings(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root: Path = tmp_path_factory.mktemp("guardrails")
    trained_registry(root / "registry")
    chosen = worker_settings(stack_settings, root, "guardrails", redis_db=13)
    return chosen.model_copy(
        update={
            "allowed_lateness_seconds": int(LATENESS.total_seconds()),
            "worker_decisions": True,
            "decision_clock": "event",
            "model_dir": root / "registry",
            "model_poll_seconds": 0.5,
            "global_control_share": 0.0,
            "exploration_share": 0.0,
            "quiet_hours_start": 0,
            "quiet_hours_end": 0,
        }
    )


def test_an_alert_pauses_a_guarded_campaign_on_its_route_until_it_closes(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    now = datetime.now(UTC)
    start = now - timedelta(hours=6) - timedelta(seconds=now.timestamp() % SLOT.total_seconds())
    campaigns = {route: active_campaign(settings, guarded_wire(route, start)) for route in ROUTES}
    burst_start = start + 4 * SLOT + timedelta(minutes=1)
    complaints = route_posts(  # the first, in Italian, by c-0
        LIV_OLB,
        Sentiment.NEGATIVE,
        [burst_start + k * timedelta(seconds=30) for k in range(9)],
        [f"c-{k}" for k in range(9)],
        seed=11,
    )
    kind = route_posts(
        LIV_OLB,
        Sentiment.POSITIVE,
        [burst_start + k * SLOT + timedelta(minutes=4) for k in (1, 2, 3)],
        ["k-1"],
        seed=12,
    )
    before = [
        search(f"b-{i}-{r}", r, start + SLOT + timedelta(minutes=i))
        for i in range(3)
        for r in ROUTES
    ]
    during_at = burst_start + timedelta(minutes=6)
    during = [
        search(f"d-{i}-{r}", r, during_at + timedelta(seconds=i)) for i in range(3) for r in ROUTES
    ]
    complained = [search("c-0", r, during_at + timedelta(minutes=1)) for r in ROUTES]
    after_at = burst_start + 4 * SLOT + timedelta(minutes=10)
    after = [
        search(f"a-{i}-{r}", r, after_at + timedelta(seconds=i)) for i in range(3) for r in ROUTES
    ]
    searchers = {s.customer_id for s in before + during + complained + after}
    grant(settings, ((customer, Channel.SMS) for customer in sorted(searchers)))
    root = tmp_path_factory.mktemp("guardrails-worker")
    with WorkerProcess(settings, "worker", root) as worker:
        worker.wait_ready(timeout=300)
        produce(
            settings.kafka_bootstrap, [sailing(r, start, now + timedelta(days=2)) for r in ROUTES]
        )
        wait_caught_up(settings, [worker])
        time.sleep(2)  # the sailings' replica follows their table's changelog

        produce(settings.kafka_bootstrap, before)
        wait_caught_up(settings, [worker])
        for complaint in complaints:  # one at a time: the order they happened in
            produce(settings.kafka_bootstrap, [complaint])
            wait_caught_up(settings, [worker])

        def opened() -> list[SocialAlert] | None:
            found = [a for a in alerts(settings) if a.state is AlertState.OPEN]
            return found if {a.subject for a in found} >= ALERTED else None

        opened_alerts = eventually(opened, "alerts open on Livorno-Olbia")
        assert {a.subject for a in opened_alerts} == ALERTED
        fifth = complaints[4].event_time
        for alert in opened_alerts:
            assert burst_start <= alert.opened_at <= fifth + timedelta(minutes=1)
        time.sleep(3)  # the decision agents follow social.alerts
        produce(settings.kafka_bootstrap, during + complained)
        wait_caught_up(settings, [worker])

        produce(settings.kafka_bootstrap, kind)
        wait_caught_up(settings, [worker])

        def closed() -> list[SocialAlert] | None:
            latest = {a.subject: a for a in alerts(settings)}
            found = [latest[s] for s in ALERTED if s in latest]
            done = len(found) == len(ALERTED) and all(a.state is AlertState.CLOSED for a in found)
            return found if done else None

        eventually(closed, "alerts closed after quiet windows")
        time.sleep(3)
        produce(settings.kafka_bootstrap, after)
        wait_caught_up(settings, [worker])
        settled_decisions(settings)

    decided = decisions_of(settings, before + during + complained + after)
    for sent in before + after:
        record = decided[sent.event_id]
        assert record.outcome is DecisionOutcome.SEND, (sent.event_id, record.reason)
        assert record.campaign_id == campaigns[sent.route_id].id
    for sent in during:
        record = decided[sent.event_id]
        if sent.route_id == "LIV-OLB":
            assert (record.outcome, record.reason) == (DecisionOutcome.SUPPRESSED, "social_alert")
            assert record.campaign_id == campaigns["LIV-OLB"].id
        else:
            assert record.outcome is DecisionOutcome.SEND, (sent.event_id, record.reason)
            assert record.campaign_id == campaigns["GOA-PTO"].id
    suppressed = {decided[s.event_id].route_id: decided[s.event_id].reason for s in complained}
    assert suppressed == {"LIV-OLB": "social_alert", "GOA-PTO": "recent_complaint"}
