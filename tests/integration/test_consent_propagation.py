"""Changes of the shared state reach a running worker's view within one second, without a
restart: a consent grant, then a withdrawal; a campaign created, activated and paused;
and a withdrawal of the location consent, after which the very next decisions use no
location feature and the worker's stores forget the customer's location."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from features.online import OnlineReader
from offers.campaigns import Trigger
from offers.contracts import (
    BookingAction,
    BookingEvent,
    ConsentChange,
    ConsentScope,
    ConsentSource,
    DecisionOutcome,
    GeofenceAction,
    GeofenceTransition,
    LocationPing,
    OfferDecision,
    ScoredCandidate,
)
from offers.roles import Role
from offers.settings import Settings
from offers.stack.workers import WorkerProcess
from offers.state.compacted import TopicWriter
from offers.state.consent import ConsentStore
from simulators.ports import port_named
from tests.integration.api_client import api, bearer
from tests.integration.decision_runs import (
    active_campaign,
    every_trigger_wire,
    read_decisions,
    trained_registry,
)
from tests.integration.groups import worker_settings
from tests.integration.kafka_io import produce, read_records
from tests.unit.campaigns.factories import runnable_wire as runnable


def change(
    customer: str, granted: bool, source: ConsentSource, scope: ConsentScope = ConsentScope.SMS
) -> ConsentChange:
    return ConsentChange(
        event_id=f"consent-{uuid.uuid4().hex[:12]}",
        event_time=datetime.now(UTC),
        customer_id=customer,
        scope=scope,
        granted=granted,
        source=source,
    )


def consent_page(worker: WorkerProcess, customer: str) -> object:
    """The worker's consent page of the customer; None while the worker is too busy to
    answer it (a worker still starting, on a loaded machine)."""
    try:
        return worker.page(f"/consent/{customer}")
    except OSError:
        return None


def seconds_until_seen(
    worker: WorkerProcess, customer: str, expected: dict[str, bool], limit: float = 5.0
) -> float:
    started = time.monotonic()
    while (held := consent_page(worker, customer)) != expected:
        assert time.monotonic() - started < limit, held
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_grant_and_a_withdrawal_reach_the_worker_within_one_second(
    stack_settings: Settings, tmp_path: Path
) -> None:
    settings = worker_settings(stack_settings, tmp_path, "consent-propagation", redis_db=5)
    customer = f"c-{uuid.uuid4().hex[:8]}"
    writer = TopicWriter(settings.kafka_bootstrap)
    store = ConsentStore(settings.kafka_bootstrap, writer)
    try:
        with WorkerProcess(settings, "worker", tmp_path) as worker:
            worker.wait_ready()
            # the worker follows the topic once it has started: wait for a first change
            store.record(change(f"{customer}-warm", True, ConsentSource.APP))
            seconds_until_seen(worker, f"{customer}-warm", {"sms": True}, limit=60)
            store.record(change(customer, True, ConsentSource.APP))
            assert seconds_until_seen(worker, customer, {"sms": True}) < 1.0
            store.record(change(customer, False, ConsentSource.SMS_REPLY))
            assert seconds_until_seen(worker, customer, {"sms": False}) < 1.0
        assert not store.granted(customer, ConsentScope.SMS)
    finally:
        store.close()
        writer.close()


def seconds_until_campaign(
    worker: WorkerProcess, campaign_id: str, expected: tuple[int, str], limit: float = 5.0
) -> float:
    started = time.monotonic()

    def held() -> tuple[int, str] | None:
        try:
            found = [c for c in worker.page("/campaigns") if c["id"] == campaign_id]
        except OSError:  # too busy to answer yet
            return None
        return (found[0]["version"], found[0]["status"]) if found else None

    while held() != expected:
        assert time.monotonic() - started < limit, held()
        time.sleep(0.02)
    return time.monotonic() - started


def test_campaign_changes_made_through_the_api_reach_the_worker_within_one_second(
    stack_settings: Settings, tmp_path: Path
) -> None:
    settings = worker_settings(stack_settings, tmp_path, "campaign-propagation", redis_db=5)
    marketer = bearer(settings, "u-marta", Role.MARKETER)
    with api(settings) as client, WorkerProcess(settings, "worker", tmp_path) as worker:
        worker.wait_ready()
        warm = client.post("/v1/campaigns", json=runnable(), headers=marketer).json()
        seconds_until_campaign(worker, warm["id"], (1, "draft"), limit=60)

        created = client.post("/v1/campaigns", json=runnable(), headers=marketer).json()
        assert seconds_until_campaign(worker, created["id"], (1, "draft")) < 1.0
        client.post(f"/v1/campaigns/{created['id']}/activate", headers=marketer)
        assert seconds_until_campaign(worker, created["id"], (2, "active")) < 1.0
        client.post(f"/v1/campaigns/{created['id']}/pause", headers=marketer)
        assert seconds_until_campaign(worker, created["id"], (3, "paused")) < 1.0


# Location consent ---------------------------------------------------------------------

LIVORNO = port_named("LIV")
NEAR_THE_PORT = {"feature": "nearest_port_km", "op": "le", "value": 50.0}
"""A segment rule that only a customer's location features can meet."""


def decisions_by_trigger(settings: Settings, customer: str) -> dict[str, OfferDecision]:
    return {d.trigger_event_id: d for d in read_decisions(settings) if d.customer_id == customer}


def decision_of(settings: Settings, customer: str, trigger_event_id: str) -> OfferDecision:
    deadline = time.monotonic() + 120
    while (found := decisions_by_trigger(settings, customer).get(trigger_event_id)) is None:
        assert time.monotonic() < deadline, f"no decision of {trigger_event_id}"
        time.sleep(0.3)
    return found


def port_entries(settings: Settings, customer: str) -> list[OfferDecision]:
    return [
        d
        for d in decisions_by_trigger(settings, customer).values()
        if d.trigger == Trigger.GEOFENCE_ENTER.value
    ]


def candidate_of(decision: OfferDecision, campaign_id: str) -> ScoredCandidate:
    return next(c for c in decision.candidates if c.campaign_id == campaign_id)


def search(customer: str) -> BookingEvent:
    return BookingEvent(
        event_id=f"search-{uuid.uuid4().hex[:12]}",
        event_time=datetime.now(UTC) - timedelta(seconds=1),
        customer_id=customer,
        action=BookingAction.SEARCH,
        route_id="LIV-OLB",
    )


def pings_into_livorno(customer: str) -> list[LocationPing]:
    """Five pings a minute apart, driving into the port of Livorno (its geofence)."""
    now = datetime.now(UTC)
    return [
        LocationPing(
            event_id=f"ping-{uuid.uuid4().hex[:12]}",
            event_time=now - timedelta(minutes=5 - k),
            customer_id=customer,
            lat=LIVORNO.lat,
            lon=LIVORNO.lon + 0.02 * (4 - k),
            accuracy_m=10.0,
        )
        for k in range(5)
    ]


def location_row(settings: Settings, customer: str) -> dict[str, object]:
    with OnlineReader.from_settings(settings, {"customer_location_fv": ("last_lat",)}) as reader:
        columns = reader.read([customer], [""])
    return {name: values[0] for name, values in columns.items()}


def until(condition: Callable[[], bool], what: str, limit: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < limit, what
        time.sleep(0.2)
    return time.monotonic() - started


def test_decisions_right_after_a_location_withdrawal_use_no_location_and_the_rows_go(
    stack_settings: Settings, tmp_path: Path
) -> None:
    base = worker_settings(stack_settings, tmp_path, "location-withdrawal", redis_db=8)
    settings = Settings(
        **{
            **base.model_dump(),
            "worker_decisions": True,
            "model_dir": tmp_path / "registry",
            "model_poll_seconds": 0.5,
        }
    )
    trained_registry(tmp_path / "registry", rows=4_000)
    wire = every_trigger_wire(datetime.now(UTC) - timedelta(hours=1), days=1)
    wire["targeting"]["segment_rules"] = [NEAR_THE_PORT]
    campaign = active_campaign(settings, wire)
    customer = f"c-{uuid.uuid4().hex[:8]}"
    changelog = f"{settings.stream_app_id}-customer_location-changelog"
    writer = TopicWriter(settings.kafka_bootstrap)
    store = ConsentStore(settings.kafka_bootstrap, writer)
    try:
        store.record(change(customer, True, ConsentSource.APP))
        store.record(change(customer, True, ConsentSource.APP, ConsentScope.LOCATION))
        with WorkerProcess(settings, "worker", tmp_path) as worker:
            worker.wait_ready(timeout=300)  # a decision worker loads the model libraries too
            seconds_until_seen(worker, customer, {"sms": True, "location": True}, limit=180)
            seconds_until_campaign(worker, campaign.id, (campaign.version, "active"), limit=60)

            # with the consent: the port entry is decided, the position meets the rule
            pings = pings_into_livorno(customer)
            produce(settings.kafka_bootstrap, pings)
            until(lambda: location_row(settings, customer)["last_lat"] is not None, "no row", 60)
            until(lambda: bool(port_entries(settings, customer)), "no port entry", limit=120)
            assert all(d.reason != "no_location_consent" for d in port_entries(settings, customer))
            before = search(customer)
            produce(settings.kafka_bootstrap, [before])
            kept = candidate_of(decision_of(settings, customer, before.event_id), campaign.id)
            # eligible, or refused only for a check made after the segment's
            assert kept.eligible or kept.reason == "no_inventory", kept

            # withdrawn: the worker sees it within a second, and the next decisions at once
            store.record(change(customer, False, ConsentSource.APP, ConsentScope.LOCATION))
            seen = seconds_until_seen(worker, customer, {"sms": True, "location": False})
            assert seen < 1.0
            after = search(customer)
            entered = GeofenceTransition(
                event_id=f"geo-{uuid.uuid4().hex[:12]}",
                event_time=datetime.now(UTC) - timedelta(seconds=1),
                customer_id=customer,
                port="LIV",
                action=GeofenceAction.ENTER,
                ping_event_id=pings[-1].event_id,
            )
            produce(settings.kafka_bootstrap, [after, entered])
            refused = candidate_of(decision_of(settings, customer, after.event_id), campaign.id)
            assert (refused.eligible, refused.reason) == (False, "segment")
            suppressed = decision_of(settings, customer, entered.event_id)
            assert (suppressed.outcome, suppressed.reason, suppressed.candidates) == (
                DecisionOutcome.NO_OFFER,
                "no_location_consent",
                (),
            )
            # and the worker forgets the customer's location: the online row, the entry
            # of its table (a tombstone on the changelog)
            until(lambda: location_row(settings, customer)["last_lat"] is None, "row kept")
            until(
                lambda: customer.encode() not in latest_values(settings, changelog),
                "table entry kept",
            )
    finally:
        store.close()
        writer.close()


def latest_values(settings: Settings, topic: str) -> dict[bytes, bytes]:
    """Each key's live value in a compacted topic (a tombstone deletes it)."""
    state: dict[bytes, bytes] = {}
    for record in read_records(settings.kafka_bootstrap, topic):
        if record.value is None:
            state.pop(record.key, None)
        else:
            state[record.key] = record.value
    return state
