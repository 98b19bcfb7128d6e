"""The channel adapters against the provider sandbox, over real HTTP: what they send,
and how every answer of the providers is classified."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import SecretStr

from offers.contracts import Channel
from offers.settings import Settings
from simulators.sandbox import Sandbox
from streams.delivery.adapters import (
    MessengerAdapter,
    SmsAdapter,
    WhatsAppAdapter,
    channel_adapters,
    utc_now,
)
from streams.delivery.messages import OutboundMessage
from streams.delivery.policy import retry_delay
from streams.delivery.providers import GraphAccount, TwilioAccount, graph_http_client
from streams.delivery.results import FailureKind, Reachability, SendFailure, SendResult
from tests.unit.delivery.conftest import FAST, closed_port, sandbox_settings

CUSTOMER = "+393331234567"
PSID = "24681357900"
CALLBACK = "https://offers.example/v1/webhooks/twilio/status?decision_id=dec-1&customer_id=c-1"


def message(
    channel: Channel = Channel.SMS,
    address: str = CUSTOMER,
    *,
    body: str = "Ciao! -20% su Livorno-Olbia stasera",
    valid_for: timedelta = timedelta(hours=1),
    status_callback: str | None = None,
) -> OutboundMessage:
    return OutboundMessage(
        decision_id="dec-1",
        channel=channel,
        address=address,
        body=body,
        valid_until=utc_now() + valid_for,
        status_callback=status_callback,
    )


def send_sms(settings: Settings, outbound: OutboundMessage) -> SendResult:
    adapter = SmsAdapter(
        TwilioAccount.from_settings(settings), timeout_s=settings.send_timeout_seconds
    )
    try:
        return asyncio.run(adapter.send(outbound))
    finally:
        adapter.close()


def send_graph(settings: Settings, outbound: OutboundMessage) -> SendResult:
    async def go() -> SendResult:
        account = GraphAccount.from_settings(settings)
        async with graph_http_client(settings.send_timeout_seconds) as http:
            if outbound.channel is Channel.WHATSAPP:
                return await WhatsAppAdapter(account, http).send(outbound)
            return await MessengerAdapter(account, http).send(outbound)

    return asyncio.run(go())


def failure_of(result: SendResult) -> SendFailure:
    assert not result.sent and result.provider_message_id is None
    assert result.failure is not None
    return result.failure


def assert_permanent(
    result: SendResult,
    code: str,
    reachability: Reachability = Reachability.UNCHANGED,
    *,
    auth: bool = False,
) -> SendFailure:
    failure = failure_of(result)
    assert (failure.kind, failure.code) == (FailureKind.PERMANENT, code), failure
    assert failure.reachability is reachability
    assert failure.auth is auth
    assert failure.message
    return failure


def assert_transient(result: SendResult, codes: set[str]) -> SendFailure:
    failure = failure_of(result)
    assert failure.kind is FailureKind.TRANSIENT and failure.code in codes, failure
    assert failure.reachability is Reachability.UNCHANGED and not failure.auth
    return failure


# --- SMS ---------------------------------------------------------------------------------


def test_sms_is_sent_with_sender_validity_and_status_callback(
    sandbox: Sandbox, settings: Settings
) -> None:
    result = send_sms(settings, message(status_callback=CALLBACK))
    assert result.sent and result.failure is None
    assert (result.decision_id, result.channel) == ("dec-1", Channel.SMS)
    assert result.provider_message_id is not None
    record = sandbox.message(result.provider_message_id)
    assert (record.to, record.sender, record.body) == (CUSTOMER, FAST.twilio_number, message().body)
    assert record.status_callback == CALLBACK
    assert record.validity_period_s is not None and 3590 <= record.validity_period_s <= 3600
    sandbox.wait_for(record.id, "delivered")


def test_sms_validity_is_capped_at_twilios_longest(sandbox: Sandbox, settings: Settings) -> None:
    result = send_sms(settings, message(valid_for=timedelta(hours=20)))
    assert result.provider_message_id is not None
    assert sandbox.message(result.provider_message_id).validity_period_s == 36_000


def test_sms_from_a_messaging_service(sandbox: Sandbox) -> None:
    service = "MG" + "ab" * 16
    result = send_sms(sandbox_settings(sandbox, twilio_sender=service), message())
    assert result.provider_message_id is not None
    record = sandbox.message(result.provider_message_id)
    assert (record.sender, record.messaging_service_sid) == (None, service)


def test_an_expired_message_is_not_sent(sandbox: Sandbox, settings: Settings) -> None:
    outbound = message(valid_for=timedelta(milliseconds=500))
    outbound = replace(outbound, valid_until=outbound.valid_until - timedelta(seconds=1))
    assert_permanent(send_sms(settings, outbound), "validity_expired")
    assert_permanent(
        send_graph(settings, replace(outbound, channel=Channel.WHATSAPP)), "validity_expired"
    )
    assert sandbox.messages() == []


def test_sms_to_an_invalid_number(sandbox: Sandbox, settings: Settings) -> None:
    failure = assert_permanent(
        send_sms(settings, message(address="12345")), "21211", Reachability.INVALID_ADDRESS
    )
    assert failure.http_status == 400


def test_sms_to_a_number_that_opted_out(sandbox: Sandbox, settings: Settings) -> None:
    sandbox.opt_out(CUSTOMER)
    assert_permanent(send_sms(settings, message()), "21610", Reachability.OPTED_OUT)


def test_sms_rate_limited_is_transient_with_retry_after(
    sandbox: Sandbox, settings: Settings
) -> None:
    sandbox.burst(1, "twilio")
    failure = assert_transient(send_sms(settings, message()), {"20429"})
    assert (failure.http_status, failure.retry_after_s) == (429, 7.0)
    delay = retry_delay(failure, 1, settings.send_max_attempts, rng=random.Random(1))
    assert delay == 7.0
    assert send_sms(settings, message()).sent


def test_sms_server_errors_are_transient(sandbox: Sandbox, settings: Settings) -> None:
    sandbox.reset(replace(FAST, server_error_rate=1.0))
    for _ in range(4):
        failure = assert_transient(send_sms(settings, message()), {"20500", "20503"})
        assert failure.http_status in (500, 503) and failure.retry_after_s is None
    assert sandbox.messages() == []


def test_sms_with_a_wrong_token_is_an_auth_failure(sandbox: Sandbox) -> None:
    settings = sandbox_settings(sandbox, twilio_auth_token=SecretStr("not-the-token"))
    failure = assert_permanent(send_sms(settings, message()), "20003", auth=True)
    assert failure.http_status == 401


def test_sms_timeout_is_transient(sandbox: Sandbox) -> None:
    sandbox.reset(replace(FAST, latency_s=1.0))
    settings = sandbox_settings(sandbox, send_timeout_seconds=0.2)
    assert_transient(send_sms(settings, message()), {"timeout"})


def test_sms_without_a_connection_is_transient(sandbox: Sandbox) -> None:
    settings = sandbox_settings(sandbox, twilio_api_base=f"http://127.0.0.1:{closed_port()}")
    assert_transient(send_sms(settings, message()), {"connection"})


# --- WhatsApp ----------------------------------------------------------------------------


def test_whatsapp_text_is_sent(sandbox: Sandbox, settings: Settings) -> None:
    result = send_graph(settings, message(Channel.WHATSAPP))
    assert result.sent and result.channel is Channel.WHATSAPP
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith("wamid.")
    record = sandbox.message(result.provider_message_id)
    assert (record.channel, record.to, record.body) == ("whatsapp", "393331234567", message().body)
    assert record.sender == FAST.whatsapp_phone_number_id


def test_whatsapp_to_a_number_without_whatsapp(sandbox: Sandbox, settings: Settings) -> None:
    result = send_graph(settings, message(Channel.WHATSAPP, "12"))
    assert_permanent(result, "131026", Reachability.INVALID_ADDRESS)


def test_whatsapp_to_a_recipient_outside_the_allowed_list(sandbox: Sandbox) -> None:
    sandbox.reset(replace(FAST, whatsapp_allowed_recipients=frozenset({"393330000000"})))
    result = send_graph(sandbox_settings(sandbox), message(Channel.WHATSAPP))
    assert_permanent(result, "131030")


def test_whatsapp_invalid_parameters(sandbox: Sandbox, settings: Settings) -> None:
    too_long = message(Channel.WHATSAPP, body="x" * 4097)
    assert_permanent(send_graph(settings, too_long), "100")
    unknown_number = sandbox_settings(sandbox, whatsapp_phone_number_id="999")
    assert_permanent(send_graph(unknown_number, message(Channel.WHATSAPP)), "100/33")


def test_whatsapp_with_a_wrong_token_is_an_auth_failure(sandbox: Sandbox) -> None:
    settings = sandbox_settings(sandbox, whatsapp_access_token=SecretStr("nope"))
    failure = assert_permanent(send_graph(settings, message(Channel.WHATSAPP)), "190", auth=True)
    assert failure.http_status == 401


def test_whatsapp_rate_limited_is_transient_with_retry_after(
    sandbox: Sandbox, settings: Settings
) -> None:
    sandbox.burst(1, "graph")
    failure = assert_transient(send_graph(settings, message(Channel.WHATSAPP)), {"130429"})
    assert (failure.http_status, failure.retry_after_s) == (429, 7.0)


def test_whatsapp_server_errors_are_transient(sandbox: Sandbox) -> None:
    sandbox.reset(replace(FAST, server_error_rate=1.0))
    settings = sandbox_settings(sandbox)
    for _ in range(3):
        failure = assert_transient(send_graph(settings, message(Channel.WHATSAPP)), {"1", "2"})
        assert failure.http_status in (500, 503)


def test_graph_without_a_connection_is_transient(sandbox: Sandbox) -> None:
    settings = sandbox_settings(sandbox, graph_api_base=f"http://127.0.0.1:{closed_port()}")
    assert_transient(send_graph(settings, message(Channel.WHATSAPP)), {"connection"})


# --- Messenger ---------------------------------------------------------------------------


def test_messenger_message_is_sent(sandbox: Sandbox, settings: Settings) -> None:
    result = send_graph(settings, message(Channel.MESSENGER, PSID))
    assert result.sent and result.provider_message_id is not None
    record = sandbox.message(result.provider_message_id)
    assert (record.channel, record.to, record.body) == ("messenger", PSID, message().body)


def test_messenger_to_an_unknown_user(sandbox: Sandbox, settings: Settings) -> None:
    result = send_graph(settings, message(Channel.MESSENGER, "not-a-psid"))
    assert_permanent(result, "100/2018001", Reachability.INVALID_ADDRESS)


def test_messenger_with_a_wrong_token_and_rate_limited(sandbox: Sandbox) -> None:
    wrong = sandbox_settings(sandbox, messenger_page_token=SecretStr("nope"))
    assert_permanent(send_graph(wrong, message(Channel.MESSENGER, PSID)), "190", auth=True)
    sandbox.burst(1, "graph")
    result = send_graph(sandbox_settings(sandbox), message(Channel.MESSENGER, PSID))
    assert assert_transient(result, {"613"}).retry_after_s == 7.0


# --- All of them -------------------------------------------------------------------------


def test_channel_adapters_from_settings_send_each_channel(
    sandbox: Sandbox, settings: Settings
) -> None:
    addresses = {Channel.SMS: CUSTOMER, Channel.WHATSAPP: CUSTOMER, Channel.MESSENGER: PSID}

    async def go() -> dict[Channel, SendResult]:
        async with graph_http_client(settings.send_timeout_seconds) as http:
            adapters = channel_adapters(settings, http)
            assert set(adapters) == set(addresses)
            sends = [adapters[c].send(message(c, addresses[c])) for c in addresses]
            results = await asyncio.gather(*sends)
            sms = adapters[Channel.SMS]
            assert isinstance(sms, SmsAdapter)
            sms.close()
            return {result.channel: result for result in results}

    results = asyncio.run(go())
    assert all(result.sent for result in results.values()), results
    assert sorted(r.channel for r in sandbox.messages()) == ["messenger", "sms", "whatsapp"]


def test_an_adapter_refuses_a_message_of_another_channel(settings: Settings) -> None:
    adapter = SmsAdapter(TwilioAccount.from_settings(settings), timeout_s=1.0)
    with pytest.raises(ValueError, match="whatsapp message given to the sms adapter"):
        adapter.send_blocking(message(Channel.WHATSAPP))
    adapter.close()


def test_a_result_has_an_id_or_a_failure() -> None:
    with pytest.raises(ValueError, match="either"):
        SendResult("dec-1", Channel.SMS)
    failure = SendFailure(FailureKind.TRANSIENT, "timeout", "no answer")
    with pytest.raises(ValueError, match="either"):
        SendResult("dec-1", Channel.SMS, "SM1", failure)
