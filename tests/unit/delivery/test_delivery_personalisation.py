"""The values a message is rendered with, and when a message goes on the engine's clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis

from offers.campaigns import CampaignStatus
from offers.campaigns.offer import Offer
from offers.contacts import Contact
from offers.contracts import DeliveryState, Language, OfferDecision, ValidationClock
from offers.contracts.base import IDENTIFIER_PATTERN
from streams.decisions.clock import Watermark
from streams.delivery.clock import SendClock, SendMoment
from streams.delivery.personalisation import offer_text, personalisation
from streams.delivery.sender import status_event_id
from tests.unit.campaigns.factories import CAMPAIGN_ID, valid_campaign

NOW = datetime(2026, 7, 3, 10, 0, tzinfo=UTC)
CONTACT = Contact("c0000001", "+39 340 000 0001", Language.IT, "Giulia")


def decision(**overrides: Any) -> OfferDecision:
    data: dict[str, Any] = {
        "event_id": "dec-1",
        "event_time": NOW.isoformat(),
        "decision_id": "dec-1",
        "customer_id": "c0000001",
        "trigger_event_id": "loc-1",
        "trigger": "geofence_enter",
        "outcome": "send",
        "reason": "send_now",
        "campaign_id": CAMPAIGN_ID,
        "channel": "sms",
        "expires_at": (NOW + timedelta(hours=48)).isoformat(),
        "port": "LIV",
    } | overrides
    return OfferDecision.model_validate(data, context=ValidationClock(now=NOW))


def test_every_field_gets_a_value_from_the_decision_and_the_sailing() -> None:
    campaign = valid_campaign(CampaignStatus.ACTIVE)
    departure = datetime(2026, 7, 4, 19, 30, tzinfo=UTC)
    sailing = {"route_id": "LIV-OLB", "fare_eur": 39.0, "departure_ts": departure.timestamp()}
    values = personalisation(
        decision(sailing_id="s-1"), campaign, CONTACT, Language.IT,
        sailing=sailing, zone="Europe/Rome",
    )  # fmt: skip
    assert values["name"] == "Giulia"
    assert values["port"] == "Livorno"
    assert values["sailing"] == "Livorno → Olbia 04/07 21:30"  # CEST
    assert values["fare"] == "39 €"
    assert values["discount"] == offer_text(campaign.offer, Language.IT)
    assert values["expiry"] == "05/07 12:00"


def test_without_a_name_or_a_sailing_the_values_fall_back() -> None:
    campaign = valid_campaign(CampaignStatus.ACTIVE)
    anonymous = Contact("c0000002", "+393400000002")
    values = personalisation(
        decision(port=None), campaign, anonymous, Language.DE, sailing=None, zone="Europe/Rome"
    )
    assert values["name"] == "Reisende"
    assert values["port"] == "Livorno"  # the origin of the offer's first route
    assert values["sailing"] == "Livorno → Olbia"
    assert values["fare"] == values["discount"]


@pytest.mark.parametrize(
    ("offer", "language", "text"),
    [
        ({"kind": "percent_discount", "percent": 15}, Language.EN, "15%"),
        ({"kind": "fixed_discount", "amount_eur": 10.0}, Language.IT, "10 €"),
        ({"kind": "fixed_discount", "amount_eur": 7.5}, Language.IT, "7.50 €"),
        ({"kind": "upgrade", "upgrade": "cabin"}, Language.FR, "cabine"),
        ({"kind": "onboard_voucher", "amount_eur": 20.0}, Language.DE, "20 € an Bord"),
    ],
)
def test_offer_text_names_what_is_given(
    offer: dict[str, Any], language: Language, text: str
) -> None:
    terms = Offer.model_validate({"route_ids": ["LIV-OLB"], "cost_eur": 1.0, **offer})
    assert offer_text(terms, language) == text


def test_the_event_clock_sends_at_the_intended_moment_and_maps_it_onto_the_wall() -> None:
    clock = SendClock("event", Watermark(Redis()))  # the moment reads no watermark
    later = NOW + timedelta(hours=9)
    moment = clock.moment(decision(send_at=later.isoformat()))
    assert moment.engine == later
    wall_expiry = moment.to_wall(NOW + timedelta(hours=48))
    assert wall_expiry - moment.wall == timedelta(hours=39)


def test_the_wall_clock_sends_now() -> None:
    moment = SendClock("wall").moment(decision())
    assert moment.engine == moment.wall
    assert SendMoment(NOW, NOW).to_wall(NOW + timedelta(hours=1)) == NOW + timedelta(hours=1)


def test_the_event_clock_needs_the_watermark() -> None:
    with pytest.raises(ValueError, match="watermark"):
        SendClock("event")


def test_status_event_ids_are_identifiers_whatever_the_provider_ids() -> None:
    wamid = "wamid.HBgLMzkzNDAwMDAwMDAxFQIAERgSMEU5QkNGRTQ5RjA4OUQ1NjYA+/=="
    first = status_event_id("dec-1", DeliveryState.QUEUED, wamid)
    assert first == status_event_id("dec-1", DeliveryState.QUEUED, wamid)
    assert first != status_event_id("dec-1", DeliveryState.FAILED, wamid)
    assert len(first) <= 64 and re.fullmatch(IDENTIFIER_PATTERN, first)
