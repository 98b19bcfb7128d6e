"""The message of a decision (template, language, link, callback) and redemption tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from offers.campaigns import Campaign, CampaignStatus, RenderError
from offers.contracts import Channel, Language, OfferDecision, ValidationClock
from offers.settings import Settings
from streams.delivery.messages import (
    STATUS_CALLBACK_PATH,
    MessageError,
    OutboundMessage,
    Recipient,
    outbound_message,
    template_for,
)
from streams.delivery.redemption import (
    REDEMPTION_PATH,
    ExpiredRedemption,
    InvalidRedemption,
    redemption_link,
    redemption_token,
    verify_redemption,
)
from tests.unit.campaigns.factories import CAMPAIGN_ID, valid_campaign

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(hours=48)
SECRET = SecretStr("redemption-secret-for-tests")
DECISION_ID = "dec-" + "0123456789abcdef" * 2 + "01234567"
SETTINGS = Settings(public_base_url="https://offers.example", redemption_secret=SECRET)
VALUES = {
    "name": "Giulia",
    "discount": "15%",
    "sailing": "Livorno-Olbia 21:30",
    "port": "Livorno",
    "fare": "39 EUR",
    "expiry": "4 giugno",
}


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return valid_campaign(CampaignStatus.ACTIVE)


def decision(**overrides: Any) -> OfferDecision:
    data: dict[str, Any] = {
        "event_id": DECISION_ID,
        "event_time": NOW.isoformat(),
        "decision_id": DECISION_ID,
        "customer_id": "cust-1",
        "trigger_event_id": "loc-1",
        "trigger": "geofence_enter",
        "outcome": "send",
        "reason": "send_now",
        "campaign_id": CAMPAIGN_ID,
        "channel": "sms",
        "expires_at": EXPIRES.isoformat(),
    } | overrides
    return OfferDecision.model_validate(data, context=ValidationClock(now=NOW))


def build(
    campaign: Campaign, language: Language = Language.IT, **overrides: Any
) -> OutboundMessage:
    recipient = Recipient("+393331234567", language, VALUES)
    valid_until = NOW + timedelta(hours=2)
    return outbound_message(
        decision(**overrides), campaign, recipient, valid_until=valid_until, settings=SETTINGS
    )


# --- redemption tokens -------------------------------------------------------------------


def test_a_token_round_trips_until_the_offer_expires() -> None:
    token = redemption_token(DECISION_ID, EXPIRES, SECRET)
    assert token.startswith(f"{DECISION_ID}.{int(EXPIRES.timestamp())}.")
    assert len(token) < 90
    assert verify_redemption(token, SECRET, NOW) == DECISION_ID
    assert verify_redemption(token, SECRET.get_secret_value(), EXPIRES - timedelta(seconds=1))


def test_an_expired_token_says_when() -> None:
    token = redemption_token(DECISION_ID, EXPIRES, SECRET)
    for moment in (EXPIRES, EXPIRES + timedelta(days=30)):
        with pytest.raises(ExpiredRedemption) as expired:
            verify_redemption(token, SECRET, moment)
        assert (expired.value.decision_id, expired.value.expired_at) == (DECISION_ID, EXPIRES)


def tampered(token: str) -> list[str]:
    decision_id, expiry, signature = token.rsplit(".", 2)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return [
        f"{decision_id}.{expiry}.{flipped}",
        f"dec-other.{expiry}.{signature}",
        f"{decision_id}.{int(expiry) + 86_400}.{signature}",
    ]


def test_a_tampered_token_is_refused() -> None:
    for forged in tampered(redemption_token(DECISION_ID, EXPIRES, SECRET)):
        with pytest.raises(InvalidRedemption, match="signature does not match"):
            verify_redemption(forged, SECRET, NOW)
    # a forged token is refused as forged even when its expiry has passed
    forged = tampered(redemption_token(DECISION_ID, NOW - timedelta(days=1), SECRET))[0]
    with pytest.raises(InvalidRedemption):
        verify_redemption(forged, SECRET, NOW)


def test_another_secret_does_not_verify() -> None:
    token = redemption_token(DECISION_ID, EXPIRES, SECRET)
    with pytest.raises(InvalidRedemption, match="signature"):
        verify_redemption(token, SecretStr("another-secret"), NOW)


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b.c", f"{DECISION_ID}.12x.{'A' * 22}", f"{DECISION_ID}.1.short", "."]
)
def test_a_malformed_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidRedemption, match="malformed"):
        verify_redemption(token, SECRET, NOW)


def test_ids_with_dots_and_colons_round_trip() -> None:
    token = redemption_token("dec.v2:42", EXPIRES, SECRET)
    assert verify_redemption(token, SECRET, NOW) == "dec.v2:42"


def test_a_token_needs_an_id_an_aware_expiry_and_a_secret() -> None:
    with pytest.raises(ValueError, match="not a decision id"):
        redemption_token("not an id", EXPIRES, SECRET)
    with pytest.raises(ValueError, match="timezone-aware"):
        redemption_token(DECISION_ID, datetime(2025, 6, 4), SECRET)  # noqa: DTZ001
    with pytest.raises(ValueError, match="empty"):
        redemption_token(DECISION_ID, EXPIRES, "")


# --- messages ----------------------------------------------------------------------------


def test_the_template_is_rendered_and_the_link_appended(campaign: Campaign) -> None:
    message = build(campaign)
    text, link = message.body.split("\n")
    assert text == "Ciao Giulia! 15% su Livorno-Olbia 21:30 da Livorno, entro 4 giugno."
    assert link.startswith("https://offers.example" + REDEMPTION_PATH)
    token = link.removeprefix("https://offers.example" + REDEMPTION_PATH)
    assert verify_redemption(token, SECRET, NOW) == DECISION_ID
    with pytest.raises(ExpiredRedemption):
        verify_redemption(token, SECRET, EXPIRES)
    assert (message.decision_id, message.channel, message.address) == (
        DECISION_ID,
        Channel.SMS,
        "+393331234567",
    )
    assert message.valid_until == NOW + timedelta(hours=2)


def test_an_sms_carries_its_status_callback(campaign: Campaign) -> None:
    callback = build(campaign).status_callback
    assert callback is not None
    parts = urlsplit(callback)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://offers.example" + STATUS_CALLBACK_PATH
    )
    assert parse_qs(parts.query) == {"decision_id": [DECISION_ID], "customer_id": ["cust-1"]}
    assert build(campaign, channel="whatsapp").status_callback is None


def test_the_customers_language_then_english(campaign: Campaign) -> None:
    english = build(campaign, Language.EN, channel="whatsapp").body
    assert english.startswith("Hi Giulia, Livorno-Olbia 21:30 for 39 EUR with 15% off.")
    assert build(campaign, Language.DE).body.startswith("Hi Giulia! 15% off")  # no German text
    assert template_for(campaign, Channel.SMS, Language.FR).language is Language.EN


def test_no_template_for_the_channel(campaign: Campaign) -> None:
    with pytest.raises(MessageError, match="no messenger template in any of: it, en"):
        template_for(campaign, Channel.MESSENGER, Language.IT)


def test_only_a_send_of_the_campaign_makes_a_message(campaign: Campaign) -> None:
    with pytest.raises(MessageError, match="holdout, not a send"):
        build(campaign, outcome="holdout")
    with pytest.raises(MessageError, match="for campaign cmp-other"):
        build(campaign, campaign_id="cmp-other")
    with pytest.raises(MessageError, match="no channel or no expiry"):
        build(campaign, expires_at=None)


def test_a_missing_value_is_a_render_error(campaign: Campaign) -> None:
    recipient = Recipient("+393331234567", Language.IT, {"name": "Giulia"})
    with pytest.raises(RenderError, match="values.discount"):
        outbound_message(decision(), campaign, recipient, valid_until=EXPIRES, settings=SETTINGS)


def test_a_message_needs_an_address_a_body_and_an_aware_deadline() -> None:
    fields: dict[str, Any] = {
        "decision_id": "dec-1",
        "channel": Channel.SMS,
        "address": "+393331234567",
        "body": "Ciao",
        "valid_until": EXPIRES,
    }
    OutboundMessage(**fields)
    for name, value in [("address", " "), ("body", ""), ("valid_until", datetime(2025, 6, 4))]:  # noqa: DTZ001
        with pytest.raises(ValueError):
            OutboundMessage(**(fields | {name: value}))


def test_the_link_follows_the_public_base_url() -> None:
    assert redemption_link("https://m.example/offers/", "t") == "https://m.example/offers/r/t"
