"""A campaign's report read from the real topics equals the fold of the events written to
them; an unreadable record on one of the topics is skipped and counted."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer

from offers.campaigns import Campaign
from offers.contracts import (
    BookingEvent,
    CustomerResponse,
    DecisionOutcome,
    DeliveryStatus,
    Event,
    OfferDecision,
    SocialPost,
)
from offers.reports import campaign_report
from offers.reports.source import (
    ReadCount,
    ReportSourceError,
    discount_terms,
    read_report_events,
    report_from_topics,
)
from offers.settings import Settings
from offers.topics import RESPONSES
from tests.integration.kafka_io import produce
from tests.unit.campaigns.factories import valid_campaign

TREATED = 40
CONTROL = 30
UNREADABLE = b'{"type": "customer_response", "schema_version": 1, "event_id": '


@dataclass(frozen=True, slots=True)
class Written:
    """What the module's fixture wrote, and what a read found just before."""

    campaign: Campaign
    events: list[Event]
    before: ReadCount


class CampaignWorld:
    """Events of one campaign whose ids (campaign, customers, decisions) are all fresh."""

    def __init__(self, campaign_id: str) -> None:
        self.campaign_id = campaign_id
        self.tag = campaign_id.removeprefix("cmp-")
        self.start = datetime.now(UTC) - timedelta(days=3)

    def at(self, hours: float) -> datetime:
        return self.start + timedelta(hours=hours)

    def decision(
        self, name: str, customer: str, outcome: DecisionOutcome, hours: float, *, copy: int = 0
    ) -> OfferDecision:
        return OfferDecision(
            event_id=f"od-{self.tag}-{name}-{copy}",
            event_time=self.at(hours),
            decision_id=f"dec-{self.tag}-{name}",
            customer_id=customer,
            trigger_event_id=f"trg-{self.tag}-{name}",
            trigger="near_port",
            outcome=outcome,
            reason="highest expected value",
            campaign_id=self.campaign_id,
            channel="sms" if outcome is DecisionOutcome.SEND else None,
        )

    def status(self, name: str, customer: str, hours: float) -> DeliveryStatus:
        return DeliveryStatus(
            event_id=f"ds-{self.tag}-{name}",
            event_time=self.at(hours),
            decision_id=f"dec-{self.tag}-{name}",
            customer_id=customer,
            channel="sms",
            status="delivered",
        )

    def response(self, name: str, customer: str, action: str, hours: float) -> CustomerResponse:
        return CustomerResponse(
            event_id=f"cr-{self.tag}-{name}-{action}",
            event_time=self.at(hours),
            customer_id=customer,
            action=action,
            channel="sms",
            decision_id=f"dec-{self.tag}-{name}",
        )

    def post(self, customer: str, hours: float, text: str) -> SocialPost:
        return SocialPost(
            event_id=f"sp-{self.tag}-{customer}",
            event_time=self.at(hours),
            customer_id=customer,
            platform="instagram",
            language="en",
            text=text,
        )

    def booking(
        self, ref: str, customer: str, hours: float, *, action: str = "book", name: str = ""
    ) -> BookingEvent:
        return BookingEvent(
            event_id=f"bk-{self.tag}-{ref}-{action}",
            event_time=self.at(hours),
            customer_id=customer,
            action=action,
            route_id="LIV-OLB",
            sailing_id="S-LIV-OLB-0800",
            price_eur=180.0 if action == "book" else None,
            booking_ref=f"{self.tag}-{ref}",
            offer_decision_id=f"dec-{self.tag}-{name}" if name else None,
        )

    def events(self) -> list[Event]:
        """Treated customers book 30 % of the time with the offer (one booking is then
        cancelled), held-out ones 10 % of the time; one decision arrives twice. Four treated
        customers who book and one held-out customer who books posted about Olbia before;
        another treated customer posted without booking."""
        events: list[Event] = []
        for i in range(TREATED):
            name, customer = f"t{i}", f"c-{self.tag}-t{i}"
            events += [
                self.decision(name, customer, DecisionOutcome.SEND, i),
                self.status(name, customer, i + 0.1),
            ]
            if i % 4 == 0:
                events.append(self.response(name, customer, "click", i + 0.5))
            if i % 10 < 3:
                events += [
                    self.response(name, customer, "redeem", i + 1),
                    self.booking(f"T{i}", customer, i + 1, name=name),
                ]
            if i % 20 in (1, 2) or i == 5:
                events.append(self.post(customer, i + 0.5, "Olbia with Moby next week!"))
        events.append(self.booking("T0", f"c-{self.tag}-t0", 2, action="cancel"))
        events.append(self.decision("t1", f"c-{self.tag}-t1", DecisionOutcome.SEND, 3, copy=1))
        for i in range(CONTROL):
            name, customer = f"h{i}", f"c-{self.tag}-h{i}"
            events.append(self.decision(name, customer, DecisionOutcome.HOLDOUT, i))
            if i % 10 == 0:
                events.append(self.booking(f"H{i}", customer, i + 2))
        events.append(self.post(f"c-{self.tag}-h0", 1, "Olbia with Moby next week!"))
        events.append(self.decision("s0", f"c-{self.tag}-s0", DecisionOutcome.SUPPRESSED, 1))
        return events


def write_unreadable(bootstrap: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send(RESPONSES.name, key=b"c-unreadable", value=UNREADABLE).get(timeout=30)
    finally:
        producer.close()


def read_count(bootstrap: str) -> ReadCount:
    count = ReadCount()
    for _ in read_report_events(bootstrap, count=count):
        pass
    return count


@pytest.fixture(scope="module")
def written(stack_settings: Settings) -> Written:
    bootstrap = stack_settings.kafka_bootstrap
    campaign_id = f"cmp-{uuid.uuid4().hex[:12]}"
    campaign = valid_campaign(campaign_id=campaign_id)
    events = CampaignWorld(campaign_id).events()
    before = read_count(bootstrap)
    produce(bootstrap, events)
    write_unreadable(bootstrap)
    return Written(campaign, events, before)


def test_the_report_from_the_topics_equals_the_fold_of_the_events_written(
    stack_settings: Settings, written: Written
) -> None:
    report = report_from_topics(stack_settings.kafka_bootstrap, written.campaign)

    expected = campaign_report(
        written.campaign.id, written.events, discount=discount_terms(written.campaign)
    )
    assert report == expected
    funnel = report.funnel
    assert (funnel.decided, funnel.sent, funnel.delivered) == (TREATED + CONTROL + 1, 40, 40)
    assert (funnel.clicked, funnel.redeemed, funnel.converted) == (10, 12, 11)
    assert (funnel.held_out, funnel.held_out_converted, funnel.suppressed) == (30, 3, 1)
    assert funnel.revenue_eur == 11 * 180.0
    assert funnel.discount_cost_eur == pytest.approx(11 * 180.0 * 0.15)
    assert report.incrementality == expected.incrementality
    assert report.incrementality.enough_data
    lift = report.incrementality.absolute_lift
    assert lift is not None and lift.value == pytest.approx(11 / 40 - 3 / 30)
    social = report.social
    assert (social.treated.conversions, social.treated.after_social) == (11, 4)
    assert (social.offer_driven.conversions, social.offer_driven.after_social) == (11, 4)
    assert (social.control.conversions, social.control.after_social) == (3, 1)
    assert social.treated.by_touchpoint["mention"] == 4


def test_the_unreadable_record_is_skipped_counted_and_logged(
    stack_settings: Settings, written: Written, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="offers.reports.source"):
        after = read_count(stack_settings.kafka_bootstrap)

    assert after.unreadable - written.before.unreadable == 1
    assert after.events - written.before.events == len(written.events)
    [warning] = [r for r in caplog.records if r.name == "offers.reports.source"]
    assert f"skipped {after.unreadable} unreadable records" in warning.getMessage()


def test_an_unreachable_broker_is_reported_within_the_timeout() -> None:
    with pytest.raises(ReportSourceError, match=r"cannot reach the Kafka broker at 127\.0\.0\.1:1"):
        list(read_report_events("127.0.0.1:1", timeout_s=1.0))
