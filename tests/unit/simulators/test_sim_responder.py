"""The responder: simulated customers answer offers delivered by the sandbox, with clicks
and redemptions at an API stand-in, STOP replies to the sandbox and bookings produced."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from offers.contracts import BookingEvent, OfferDecision, decode
from simulators.phones import phone_number
from simulators.reaction import ReactionRates, find_offer_link
from simulators.responder import Responder, Response, booking_ids
from simulators.sandbox import Sandbox, SandboxConfig, running_sandbox, twilio_client
from simulators.sandbox.store import MessageRecord
from simulators.sink import KafkaRecordProducer, UnacknowledgedRecords
from tests.unit.simulators.offer_factories import (
    API,
    CAMPAIGN,
    CLOCK,
    campaign,
    customers,
    decision,
    delivered,
    offer_text,
)

SENDER = "+15005550006"
FAST = SandboxConfig(callback_delay_s=0.01)
WA_AUTH = {"Authorization": f"Bearer {FAST.whatsapp_token}"}


class ApiStandIn:
    """Answers the redemption link as the API would, recording every call: ``GET`` the
    offer as JSON, ``POST`` a redemption (or ``refusal`` when set)."""

    def __init__(self, refusal: int | None = None) -> None:
        self.refusal = refusal
        self.calls: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        token = request.url.path.rsplit("/r/", 1)[1]
        with self._lock:
            self.calls.append((request.method, token, request.headers.get("accept", "")))
        decision_id = token.rsplit(".", 2)[0]
        if request.method == "GET":
            return httpx.Response(200, json={"decision_id": decision_id, "discount": "40%"})
        if self.refusal is not None:
            return httpx.Response(self.refusal, json={"detail": "offer expired"})
        return httpx.Response(200, json={"decision_id": decision_id, "first": True})

    def methods_for(self, decision_id: str) -> list[str]:
        with self._lock:
            return [m for m, token, _ in self.calls if token.startswith(decision_id + ".")]


@dataclass
class RecordingProducer:
    sent: list[tuple[str, str, bytes]]
    flushes: int = 0

    def send(self, topic: str, key: str, value: bytes) -> None:
        self.sent.append((topic, key, value))

    def flush(self) -> None:
        self.flushes += 1

    def bookings(self) -> dict[str, BookingEvent]:
        events = [decode(value, expected=BookingEvent, clock=CLOCK) for _, _, value in self.sent]
        return {e.booking_ref or "": e for e in events if isinstance(e, BookingEvent)}


class ListSource:
    """Delivered records handed out in a chosen order, as the sandbox would list them."""

    def __init__(self, records: list[MessageRecord]) -> None:
        self.records = records

    def messages(self) -> list[MessageRecord]:
        return list(self.records)


def offline(
    records: list[MessageRecord],
    decisions: dict[str, OfferDecision],
    rates: ReactionRates,
    api: ApiStandIn | None = None,
) -> tuple[Responder, RecordingProducer, ApiStandIn, list[httpx.Request]]:
    """A responder over ``records`` whose HTTP calls all stay in the process."""
    api = api or ApiStandIn()
    replies: list[httpx.Request] = []

    def sandbox(request: httpx.Request) -> httpx.Response:
        replies.append(request)
        return httpx.Response(200, json={})

    http = httpx.Client(
        mounts={API: httpx.MockTransport(api), "http://sandbox.test": httpx.MockTransport(sandbox)}
    )
    producer = RecordingProducer([])
    responder = Responder(
        customers=customers(),
        source=ListSource(records),
        decisions=decisions,
        campaigns={CAMPAIGN: campaign()},
        http=http,
        producer=producer,
        rates=rates,
        sandbox_url="http://sandbox.test",
    )
    return responder, producer, api, replies


def by_decision(responses: list[Response]) -> dict[str, Response]:
    return {response.decision_id: response for response in responses}


# --- through the real sandbox -------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[Sandbox]:
    with running_sandbox(FAST) as sandbox:
        yield sandbox


def send_offers(sandbox: Sandbox, count: int) -> dict[str, OfferDecision]:
    assert sandbox.base_url is not None
    client = twilio_client(sandbox.base_url, FAST.account_sid, FAST.auth_token)
    decisions = {}
    for n in range(count):
        offer = decision(n)
        decisions[offer.decision_id] = offer
        client.messages.create(to=phone_number(n), from_=SENDER, body=offer_text(offer))
    offer = decision(count, channel="whatsapp")
    decisions[offer.decision_id] = offer
    payload = {
        "messaging_product": "whatsapp",
        "to": phone_number(count).removeprefix("+"),
        "text": {"body": offer_text(offer)},
    }
    path = f"/v21.0/{FAST.whatsapp_phone_number_id}/messages"
    httpx.post(sandbox.base_url + path, json=payload, headers=WA_AUTH).raise_for_status()
    client.messages.create(to=phone_number(0), from_=SENDER, body="Grazie, a presto!")
    sandbox.wait_idle()
    return decisions


def test_customers_answer_offers_delivered_by_the_sandbox(served: Sandbox) -> None:
    decisions = send_offers(served, 60)
    api = ApiStandIn()
    producer = RecordingProducer([])
    with httpx.Client(mounts={API: httpx.MockTransport(api)}) as http:
        responder = Responder(
            customers=customers(),
            source=served,
            decisions=decisions,
            campaigns={CAMPAIGN: campaign()},
            http=http,
            producer=producer,
            rates=ReactionRates(seed=3, click_rate=0.3, stop_rate=0.15),
        )
        made = responder.poll_once()
        assert responder.poll_once() == []
        served.wait_idle()
    responses = by_decision(made)
    assert set(responses) == set(decisions)
    assert responder.responses() == made
    bookings = producer.bookings()
    kinds = {"caused": 0, "clicked": 0, "stopped": 0, "ignored": 0}
    for decision_id, response in responses.items():
        offer = decisions[decision_id]
        calls = api.methods_for(decision_id)
        if response.stopped:
            kinds["stopped"] += 1
            assert calls == [] and response.channel == "sms"
            assert phone_number(int(offer.customer_id[1:]) - 1) in served.stop_list
        elif response.caused:
            kinds["caused"] += 1
            assert calls == ["GET", "POST"]
            assert response.redeemed and response.redemption_error is None
            event = bookings[response.booking_ref or ""]
            assert event.offer_decision_id == decision_id
            assert event.customer_id == offer.customer_id
            assert event.event_time == response.booked_at
            assert event.sales_channel.value == "app"
            assert event.sailing_id is not None and event.sailing_id.startswith(event.route_id)
        elif response.clicked:
            kinds["clicked"] += 1
            assert calls == ["GET"]
        else:
            kinds["ignored"] += 1
            assert calls == []
    assert all(kinds.values()), kinds
    assert len(bookings) == kinds["caused"] == len(producer.sent)
    assert all(topic == "events.booking" for topic, _, _ in producer.sent)
    assert [key for _, key, _ in producer.sent] == [b.customer_id for b in bookings.values()]
    assert producer.flushes == 1
    assert {accept for _, _, accept in api.calls} == {"application/json"}
    stops = [reply for reply in served.inbound() if reply.body == "STOP"]
    assert len(stops) == kinds["stopped"]


def test_a_served_sandbox_lends_its_address_for_stop_replies() -> None:
    with pytest.raises(ValueError, match="sandbox_url"):
        Responder(
            customers=customers(),
            source=Sandbox(FAST),  # not served: no base_url
            decisions={},
            campaigns={},
            http=httpx.Client(),
            producer=RecordingProducer([]),
        )


# --- in the process only ------------------------------------------------------------------


def test_the_same_seed_gives_the_same_responses_in_any_order() -> None:
    decisions = {d.decision_id: d for d in (decision(n) for n in range(80))}
    records = [delivered(d) for d in decisions.values()]
    rates = ReactionRates(seed=9, click_rate=0.3, stop_rate=0.1)
    forward, producer_a, _, _ = offline(records, decisions, rates)
    backward, producer_b, _, _ = offline(records[::-1], decisions, rates)
    first, second = by_decision(forward.poll_once()), by_decision(backward.poll_once())
    assert first == second
    assert sorted(producer_a.sent) == sorted(producer_b.sent)
    other, _, _, _ = offline(records, decisions, replace(rates, seed=10))
    assert by_decision(other.poll_once()) != first


def test_a_refused_redemption_is_recorded_and_the_booking_made_without_it() -> None:
    decisions = {d.decision_id: d for d in (decision(n) for n in range(40))}
    records = [delivered(d) for d in decisions.values()]
    responder, producer, api, _ = offline(
        records, decisions, ReactionRates(seed=2, stop_rate=0.0), ApiStandIn(refusal=410)
    )
    caused = [r for r in responder.poll_once() if r.caused]
    assert caused
    bookings = producer.bookings()
    for response in caused:
        assert not response.redeemed
        assert response.redemption_error is not None
        assert response.redemption_error.startswith("HTTP 410")
        assert bookings[response.booking_ref or ""].offer_decision_id is None


def test_stop_is_posted_to_the_sandbox_and_nothing_else_happens() -> None:
    decisions = {d.decision_id: d for d in (decision(n) for n in range(30))}
    records = [delivered(d) for d in decisions.values()]
    responder, producer, api, replies = offline(
        records, decisions, ReactionRates(seed=4, stop_rate=1.0, click_rate=1.0)
    )
    responses = responder.poll_once()
    assert len(responses) == 30 and all(r.stopped for r in responses)
    assert not any(r.caused or r.clicked for r in responses)
    assert api.calls == [] and producer.sent == []
    assert {str(r.url) for r in replies} == {"http://sandbox.test/sandbox/reply"}
    bodies = [json.loads(r.content) for r in replies]
    assert sorted(b["from"] for b in bodies) == sorted(r.to for r in records)
    assert {b["body"] for b in bodies} == {"STOP"}


def test_only_sms_recipients_reply_stop() -> None:
    offers = [decision(n, channel="whatsapp") for n in range(10)]
    records = [replace(delivered(d), channel="whatsapp") for d in offers]
    decisions = {d.decision_id: d for d in offers}
    responder, _, _, replies = offline(records, decisions, ReactionRates(stop_rate=1.0))
    assert not any(r.stopped for r in responder.poll_once())
    assert replies == []


def test_messages_without_offers_or_not_yet_received_are_passed_over() -> None:
    offer = decision(1)
    records = [
        delivered(offer, body="Non riceverai altri messaggi."),
        replace(delivered(decision(2)), statuses=delivered(decision(2)).statuses[:1]),
    ]
    responder, producer, api, _ = offline(records, {offer.decision_id: offer}, ReactionRates())
    assert responder.poll_once() == []
    assert api.calls == [] and producer.sent == [] and producer.flushes == 0


def test_a_message_waits_for_its_decision_and_is_answered_once() -> None:
    offer = decision(1)
    decisions: dict[str, OfferDecision] = {}
    record = delivered(offer)
    copy = replace(record, id="SMresent")
    responder, _, _, _ = offline([record, copy], decisions, ReactionRates())
    assert responder.poll_once() == []
    decisions[offer.decision_id] = offer
    (response,) = responder.poll_once()
    assert response.decision_id == offer.decision_id and response.message_id == record.id
    assert responder.poll_once() == []
    assert responder.response(offer.decision_id) == response


def test_messenger_offers_count_as_received_once_sent() -> None:
    offer = decision(1, channel="messenger")
    record = replace(delivered(offer, status="sent"), channel="messenger", to="1234567")
    responder, _, _, _ = offline([record], {offer.decision_id: offer}, ReactionRates())
    assert len(responder.poll_once()) == 1


def test_run_polls_until_stopped() -> None:
    offer = decision(1)
    responder, _, _, _ = offline([delivered(offer)], {offer.decision_id: offer}, ReactionRates())
    worker = threading.Thread(target=responder.run, kwargs={"poll_s": 0.01})
    worker.start()
    try:
        for _ in range(500):
            if responder.responses():
                break
            threading.Event().wait(0.01)
    finally:
        responder.stop()
        worker.join(timeout=5)
    assert not worker.is_alive()
    assert [r.decision_id for r in responder.responses()] == [offer.decision_id]


def test_booking_references_are_unique_and_stable() -> None:
    refs = {booking_ids(f"dec-{n}")[0] for n in range(1000)}
    assert len(refs) == 1000
    assert booking_ids("dec-1") == booking_ids("dec-1")
    assert all(len(ref) <= 64 for ref in refs)
    assert find_offer_link(offer_text(decision(1))) is not None


# --- the Kafka producer ---------------------------------------------------------------------


class FakeFuture:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def add_errback(self, callback: Any) -> None:
        if self.error is not None:
            callback(self.error)


class FakeKafka:
    def __init__(self, **config: Any) -> None:
        self.config = config
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.fail = False
        self.flushed = self.closed = 0

    def send(self, topic: str, key: bytes, value: bytes) -> FakeFuture:
        self.sent.append((topic, key, value))
        return FakeFuture(RuntimeError("broker down") if self.fail else None)

    def flush(self) -> None:
        self.flushed += 1

    def close(self) -> None:
        self.closed += 1


def test_the_kafka_producer_waits_for_all_replicas_and_reports_losses() -> None:
    from offers.settings import Settings

    made: list[FakeKafka] = []

    def factory(**config: Any) -> FakeKafka:
        made.append(FakeKafka(**config))
        return made[-1]

    with KafkaRecordProducer(Settings(), factory=factory) as producer:
        kafka = made[0]
        assert kafka.config["acks"] == "all"
        producer.send("events.booking", "c0000001", b"{}")
        producer.flush()
        assert kafka.sent == [("events.booking", b"c0000001", b"{}")]
        kafka.fail = True
        producer.send("events.booking", "c0000002", b"{}")
        with pytest.raises(UnacknowledgedRecords, match="broker down"):
            producer.flush()
        producer.flush()  # the loss is reported once
    assert kafka.closed == 1
