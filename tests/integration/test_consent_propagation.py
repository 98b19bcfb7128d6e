"""Changes of the shared state reach a running worker's view within one second, without a
restart: a consent grant, then a withdrawal; a campaign created, activated and paused."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from offers.contracts import ConsentChange, ConsentScope, ConsentSource
from offers.roles import Role
from offers.settings import Settings
from offers.stack.workers import WorkerProcess
from offers.state.compacted import TopicWriter
from offers.state.consent import ConsentStore
from tests.integration.api_client import api, bearer
from tests.integration.groups import worker_settings
from tests.unit.campaigns.factories import runnable_wire as runnable


def change(customer: str, granted: bool, source: ConsentSource) -> ConsentChange:
    return ConsentChange(
        event_id=f"consent-{uuid.uuid4().hex[:12]}",
        event_time=datetime.now(UTC),
        customer_id=customer,
        scope=ConsentScope.SMS,
        granted=granted,
        source=source,
    )


def seconds_until_seen(
    worker: WorkerProcess, customer: str, expected: dict[str, bool], limit: float = 5.0
) -> float:
    started = time.monotonic()
    while worker.page(f"/consent/{customer}") != expected:
        assert time.monotonic() - started < limit, worker.page(f"/consent/{customer}")
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
        found = [c for c in worker.page("/campaigns") if c["id"] == campaign_id]
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
