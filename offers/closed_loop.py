"""The closed loop around the engine: the services that carry its offers to the simulated
customers and bring their responses back.

:func:`closed_loop` starts, around a stack whose decision workers run elsewhere:

- the provider sandbox (in this process), with the engine's credentials, posting its
  status callbacks, WhatsApp webhooks and inbound SMS to the API;
- the API (a child process) at the public base URL that links and callbacks name;
- delivery workers (child processes, ``faust -A streams.delivery.app``) sending to the
  sandbox;
- the responder (a thread): the simulated customers answer what reaches them, by the
  ground-truth response model: clicks and redemptions through the API, bookings into
  ``events.booking``, STOP replies through the sandbox;

and writes every simulated customer's contact (number, language) first. Reports then
come from the topics (:func:`loop_report`), beside the simulator's truth.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from redis import Redis

from offers.campaigns import Campaign
from offers.contacts import Contact, ContactStore
from offers.contracts import (
    BookingEvent,
    DecisionOutcome,
    Event,
    Language,
    OfferDecision,
    decode,
)
from offers.errors import StackError
from offers.reports.campaign import CampaignReport, campaign_report
from offers.reports.source import discount_terms, read_report_events
from offers.settings import Settings
from offers.stack.api import ApiProcess, api_base_url
from offers.stack.process import free_port
from offers.stack.workers import WorkerProcess, group_lag, stop_all
from offers.state.compacted import TopicView
from offers.topics import DECISIONS
from simulators.customers import Customers, customer_id, language_code
from simulators.phones import phone_number
from simulators.reaction import ReactionRates
from simulators.responder import Responder, Response
from simulators.sandbox import Sandbox, SandboxConfig, running_sandbox
from simulators.sink import KafkaRecordProducer
from simulators.truth import TrueLift, true_incremental_conversions
from streams.decisions.clock import Watermark
from streams.delivery.schedule import SendSchedule
from streams.delivery.worker import delivery_app_id

DELIVERY_APP = "streams.delivery.app"
INBOUND_SMS_PATH = "/v1/webhooks/twilio/sms"
WHATSAPP_WEBHOOK_PATH = "/v1/webhooks/whatsapp"


def sandbox_config(settings: Settings, api_base: str, seed: int) -> SandboxConfig:
    """The sandbox as the engine's providers: its credentials, its webhooks to the API."""
    return SandboxConfig(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        twilio_number=settings.twilio_sender,
        inbound_url=api_base + INBOUND_SMS_PATH,
        whatsapp_token=settings.whatsapp_access_token.get_secret_value(),
        whatsapp_phone_number_id=settings.whatsapp_phone_number_id,
        whatsapp_webhook_url=api_base + WHATSAPP_WEBHOOK_PATH,
        messenger_page_token=settings.messenger_page_token.get_secret_value(),
        app_secret=settings.meta_app_secret.get_secret_value(),
        callback_delay_s=0.05,
        seed=seed,
    )


def loop_settings(settings: Settings, sandbox_base: str, api_base: str) -> Settings:
    """``settings`` with the sandbox as every provider and the API as the public URL; the
    sandbox's host (on this machine) allowed as an outbound host at a private address."""
    return settings.model_copy(
        update={
            "public_base_url": api_base,
            "twilio_api_base": sandbox_base,
            "graph_api_base": sandbox_base,
            "outbound_allowed_hosts": (
                *settings.outbound_allowed_hosts,
                str(urlsplit(sandbox_base).hostname),
            ),
            "outbound_allow_private": True,
        }
    )


def place_contacts(settings: Settings, customers: Customers) -> int:
    """Every simulated customer's number and language, in the contact store."""
    redis = Redis.from_url(settings.redis_url)
    try:
        store = ContactStore(redis, settings.secret_key.get_secret_value())
        contacts = (
            Contact(customer_id(i), phone_number(i), Language(language_code(customers, i)))
            for i in range(len(customers.language))
        )
        return store.put_many(contacts)
    finally:
        redis.close()


class DecisionsToSend:
    """The decisions to send, by id, followed from ``offers.decisions`` (for the
    responder, which stands for the simulated world and may read them)."""

    def __init__(self, bootstrap: str) -> None:
        self._sends: dict[str, OfferDecision] = {}
        self._view: TopicView[OfferDecision] = TopicView(
            bootstrap,
            DECISIONS.name,
            lambda raw: cast(OfferDecision, decode(raw, expected=OfferDecision)),
            on_change=self._seen,
        )

    def _seen(self, key: str, decision: OfferDecision | None) -> None:
        if decision is not None and decision.outcome is DecisionOutcome.SEND:
            self._sends[decision.decision_id] = decision

    @property
    def sends(self) -> Mapping[str, OfferDecision]:
        return self._sends

    def close(self) -> None:
        self._view.close()


@dataclass
class Loop:
    """The running services of the loop."""

    settings: Settings
    sandbox: Sandbox
    api: ApiProcess
    deliveries: list[WorkerProcess]
    responder: Responder
    decisions: DecisionsToSend
    producer: KafkaRecordProducer
    log_dir: Path
    respond: bool = True
    """Whether the simulated customers answer (the responder runs)."""
    started: int = field(default=0)
    """Delivery workers started so far (they are numbered in order)."""
    spawner: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="loop-spawner")
    )
    """Starts the workers: a child gets SIGTERM when the *thread* that started it ends
    (``PR_SET_PDEATHSIG``), so they are all started by this one, which lives as long as
    the loop, whichever thread asks."""

    def add_delivery_worker(self) -> WorkerProcess:
        """One more delivery worker, started (not yet ready)."""
        self.started += 1
        name = f"delivery-{self.started}"
        worker = self.spawner.submit(
            WorkerProcess, self.settings, name, self.log_dir, app=DELIVERY_APP
        ).result()
        self.deliveries.append(worker)
        return worker

    def kill_delivery_worker(self, index: int = 0) -> WorkerProcess:
        """SIGKILL the delivery worker at ``index`` and forget it."""
        worker = self.deliveries.pop(index)
        worker.kill()
        return worker

    def stop_delivery_workers(self) -> None:
        stop_all(self.deliveries)
        self.spawner.shutdown()

    def delivery_lag(self) -> int | None:
        return group_lag(self.settings, [DECISIONS.name], group=delivery_app_id(self.settings))

    def settle(self, quiet_s: float = 5.0, timeout_s: float = 300.0) -> None:
        """Wait until deliveries, provider statuses and responses have stopped growing:
        every decision read by the delivery group, the scheduled messages due sent, the
        sandbox idle, every delivered offer answered and the answers in Kafka."""
        deadline = time.monotonic() + timeout_s
        redis = Redis.from_url(self.settings.redis_url)
        try:
            self._settle(redis, deadline, quiet_s)
        finally:
            redis.close()

    def _settle(self, redis: Redis, deadline: float, quiet_s: float) -> None:
        schedule, watermark = SendSchedule(redis), Watermark(redis)
        last: tuple[int, int, int] | None = None
        since = time.monotonic()
        while time.monotonic() < deadline:
            for worker in self.deliveries:
                if worker.process.poll() is not None:
                    raise StackError(f"{worker.name} exited: {worker.log_tail()}")
            if self.respond:
                self.responder.poll_once()
                self.producer.flush()
            now = (
                len(self.sandbox.messages()),
                len(self.responder.responses()),
                len(self.decisions.sends),
            )
            mark = watermark.current()
            due = mark is not None and schedule.waiting(int(mark.timestamp() * 1000)) > 0
            busy = due or self.delivery_lag() != 0
            if busy or now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.5)
        raise StackError("deliveries still moving when the time was up")


@contextmanager
def closed_loop(
    settings: Settings,
    customers: Customers,
    campaigns: Sequence[Campaign],
    log_dir: Path,
    *,
    delivery_workers: int = 1,
    rates: ReactionRates | None = None,
    seed: int = 7,
    respond: bool = True,
    faults: Mapping[str, Any] | None = None,
) -> Iterator[Loop]:
    """The sandbox, the API, delivery workers and the responder, around ``settings``'
    stack (see the module's docstring); stopped when the block ends. ``faults``
    overrides the sandbox's settings (``rate_limit_rate``, ``latency_s``, ...);
    ``respond`` False leaves the customers silent."""
    place_contacts(settings, customers)
    api_port = free_port()
    api_base = api_base_url(api_port)
    config = replace(sandbox_config(settings, api_base, seed), **(faults or {}))
    with ExitStack() as stack:
        sandbox = stack.enter_context(running_sandbox(config))
        assert sandbox.base_url is not None
        live = loop_settings(settings, sandbox.base_url, api_base)
        api = stack.enter_context(ApiProcess(live, log_dir, port=api_port))
        api.wait_ready()
        decisions = DecisionsToSend(live.kafka_bootstrap)
        stack.callback(decisions.close)
        producer = KafkaRecordProducer(live)
        stack.callback(producer.close)
        http = stack.enter_context(httpx.Client(timeout=10.0))
        responder = Responder(
            customers=customers,
            source=sandbox,
            decisions=decisions.sends,
            campaigns={c.id: c for c in campaigns},
            http=http,
            producer=producer,
            rates=rates or ReactionRates(seed=seed),
        )
        if respond:
            thread = threading.Thread(target=responder.run, name="responder", daemon=True)
            thread.start()
            stack.callback(thread.join, 10)
            stack.callback(responder.stop)
        loop = Loop(live, sandbox, api, [], responder, decisions, producer, log_dir, respond)
        stack.callback(loop.stop_delivery_workers)
        for _ in range(delivery_workers):
            loop.add_delivery_worker()
        for worker in loop.deliveries:
            worker.wait_ready()
        yield loop


# reports -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CampaignResult:
    """One campaign's report from the topics, beside the simulator's truth."""

    campaign: Campaign
    report: CampaignReport
    truth: TrueLift


def loop_report(
    settings: Settings, campaigns: Sequence[Campaign], responses: Sequence[Response]
) -> list[CampaignResult]:
    """Each campaign's funnel and incrementality from the report topics, and the true
    incremental conversions of the run."""
    events: list[Event] = list(read_report_events(settings.kafka_bootstrap, timeout_s=120.0))
    decisions = [e for e in events if isinstance(e, OfferDecision)]
    bookings = [e for e in events if isinstance(e, BookingEvent)]
    caused = {r.decision_id: r for r in responses}
    return [
        CampaignResult(
            campaign,
            campaign_report(campaign.id, events, discount=discount_terms(campaign)),
            true_incremental_conversions(campaign.id, decisions, bookings, caused),
        )
        for campaign in campaigns
    ]


__all__ = [
    "CampaignResult",
    "Loop",
    "closed_loop",
    "loop_report",
    "loop_settings",
    "place_contacts",
    "sandbox_config",
]
