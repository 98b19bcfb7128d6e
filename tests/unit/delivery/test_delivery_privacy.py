"""No recipient's number leaves the adapters in what they report: providers quote it in
their errors and requests, and failures go on to the ledger, the logs and the
dead-letter topic."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from offers.contracts import Channel
from offers.settings import Settings
from simulators.sandbox import Sandbox
from streams.delivery.adapters import (
    RECIPIENT,
    LookupFailed,
    SmsAdapter,
    WhatsAppAdapter,
    without_address,
)
from streams.delivery.messages import OutboundMessage
from streams.delivery.providers import GraphAccount, TwilioAccount, graph_http_client
from streams.delivery.results import SendResult
from tests.unit.delivery.conftest import closed_port, sandbox_settings

NATIONAL = "3400000417"
"""The national digits of the numbers below, which must never show."""


def outbound(channel: Channel, address: str) -> OutboundMessage:
    return OutboundMessage(
        decision_id="dec-1",
        channel=channel,
        address=address,
        body="Ciao! -20% su Livorno-Olbia stasera",
        valid_until=datetime.now(UTC) + timedelta(hours=1),
    )


def sms_adapter(settings: Settings) -> SmsAdapter:
    return SmsAdapter(TwilioAccount.from_settings(settings), timeout_s=2.0)


@pytest.mark.parametrize(
    ("text", "address", "shown"),
    [
        ("The 'To' number +393400000417 is invalid.", "+393400000417", "<recipient> is invalid"),
        ("393400000417 is not a valid WhatsApp number.", "+393400000417", "<recipient> is not"),
        ("GET /Messages.json?To=%2B393400000417&PageSize=100", "+393400000417", "%2B<recipient>&"),
        ("national 3400000417 only", "+393400000417", "national <recipient> only"),
        ("longer 0393400000417x", "+393400000417", "longer <recipient>x"),
        ("code 21211, 20 s, 2026-12-02", "+393400000417", "code 21211, 20 s, 2026-12-02"),
        ("page 24681357900 unknown", "24681357900", "page <recipient> unknown"),
    ],
)
def test_the_address_is_taken_out_in_every_form(text: str, address: str, shown: str) -> None:
    redacted = without_address(text, address)
    assert shown in redacted
    assert NATIONAL not in redacted


def test_twilio_quoting_an_invalid_number_is_reported_without_it(settings: Settings) -> None:
    adapter = sms_adapter(settings)
    try:
        result = adapter.send_blocking(outbound(Channel.SMS, "+0393400000417"))
    finally:
        adapter.close()
    assert result.failure is not None and result.failure.code == "21211"
    assert result.failure.message.endswith(
        f"The 'To' number {RECIPIENT} is not a valid phone number."
    )


def test_the_cloud_api_quoting_a_number_is_reported_without_it(settings: Settings) -> None:
    async def go() -> SendResult:
        async with graph_http_client(2.0) as http:
            adapter = WhatsAppAdapter(GraphAccount.from_settings(settings), http)
            return await adapter.send(outbound(Channel.WHATSAPP, "0393400000417"))

    result = asyncio.run(go())
    assert result.failure is not None and result.failure.code == "131026"
    assert RECIPIENT in result.failure.message
    assert NATIONAL not in result.failure.message


def test_twilio_s_client_logs_a_lookup_without_the_number(
    settings: Settings, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = sms_adapter(settings)
    caplog.set_level(logging.DEBUG, logger="twilio.http_client")
    try:
        found = adapter.find_sent_blocking("dec-1", "+393400000417", datetime.now(UTC))
    finally:
        adapter.close()
    assert found is None
    assert "GET" in caplog.text and "Messages.json" in caplog.text
    assert NATIONAL not in caplog.text


def test_a_failed_lookup_is_raised_without_the_number(sandbox: Sandbox) -> None:
    """``requests`` quotes the URL, query included, when it cannot connect."""
    settings = sandbox_settings(sandbox, twilio_api_base=f"http://127.0.0.1:{closed_port()}")
    adapter = sms_adapter(settings)
    try:
        with pytest.raises(LookupFailed) as failed:
            adapter.find_sent_blocking("dec-1", "+393400000417", datetime.now(UTC))
    finally:
        adapter.close()
    message = str(failed.value)
    assert message.startswith("Twilio: ConnectionError: ")
    assert RECIPIENT in message
    assert NATIONAL not in message
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
