"""Injected faults: 429 with Retry-After at a seeded rate, transient 5xx, bursts and
latency, for Twilio and for the Graph API."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI

from simulators.sandbox import Sandbox, SandboxConfig, create_app
from simulators.sandbox.faults import FaultInjector

SID = SandboxConfig().account_sid
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
FORM = {"To": "+393331234567", "From": "+15005550006", "Body": "Offerta"}
WHATSAPP = "/v21.0/100000000000001/messages"
WHATSAPP_BODY = {
    "messaging_product": "whatsapp",
    "to": "393331234567",
    "type": "text",
    "text": {"body": "Offerta"},
}


def twilio_sends(app: FastAPI, count: int) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            auth = (SID, SandboxConfig().auth_token)
            return [await client.post(MESSAGES, data=FORM, auth=auth) for _ in range(count)]

    return asyncio.run(go())


def whatsapp_sends(app: FastAPI, count: int, url: str = WHATSAPP) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": "Bearer sandbox-whatsapp-token"}
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return [
                await client.post(url, json=WHATSAPP_BODY, headers=headers) for _ in range(count)
            ]

    return asyncio.run(go())


def test_rate_limit_answers_429_with_retry_after_at_the_configured_rate() -> None:
    config = SandboxConfig(rate_limit_rate=0.3, retry_after_s=7, seed=42)
    responses = twilio_sends(create_app(config), 200)
    limited = [response for response in responses if response.status_code == 429]
    assert {response.status_code for response in responses} == {201, 429}
    assert 40 <= len(limited) <= 80
    for response in limited:
        assert response.headers["Retry-After"] == "7"
        assert response.json() == {
            "code": 20429,
            "message": "Too Many Requests",
            "more_info": "https://www.twilio.com/docs/errors/20429",
            "status": 429,
        }


def test_faults_repeat_with_the_seed_and_change_with_another() -> None:
    def statuses(seed: int) -> list[int]:
        config = SandboxConfig(rate_limit_rate=0.2, server_error_rate=0.2, seed=seed)
        return [response.status_code for response in twilio_sends(create_app(config), 60)]

    first = statuses(7)
    assert first == statuses(7)
    assert first != statuses(8)
    assert {500, 503, 429, 201} <= set(first)


def test_server_errors_are_twilio_500_and_503() -> None:
    responses = twilio_sends(create_app(SandboxConfig(server_error_rate=1.0, seed=3)), 20)
    codes = {(response.status_code, response.json()["code"]) for response in responses}
    assert codes == {(500, 20500), (503, 20503)}


def test_faults_come_after_authentication() -> None:
    app = create_app(SandboxConfig(rate_limit_rate=1.0))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.post(MESSAGES, data=FORM)

    assert asyncio.run(go()).status_code == 401


def test_burst_answers_the_next_requests_429_then_recovers() -> None:
    sandbox = Sandbox(SandboxConfig())
    app = create_app(sandbox=sandbox)
    sandbox.burst(3, "twilio")
    assert [response.status_code for response in twilio_sends(app, 5)] == [429] * 3 + [201] * 2
    assert [response.status_code for response in whatsapp_sends(app, 1)] == [200]
    assert len(sandbox.messages(provider="twilio")) == 2


def test_burst_through_the_http_endpoint() -> None:
    sandbox = Sandbox(SandboxConfig())
    app = create_app(sandbox=sandbox)

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            answer = await client.post("/sandbox/faults/burst", json={"count": 2})
            assert answer.status_code == 200

    asyncio.run(go())
    assert sandbox.faults["twilio"].burst_left == 2
    assert sandbox.faults["graph"].burst_left == 2


def test_whatsapp_rate_limit_is_130429_and_messenger_613() -> None:
    config = SandboxConfig(rate_limit_rate=1.0, retry_after_s=2)
    [whatsapp] = whatsapp_sends(create_app(config), 1)
    assert whatsapp.status_code == 429
    assert whatsapp.headers["Retry-After"] == "2"
    error = whatsapp.json()["error"]
    assert (error["code"], error["type"]) == (130429, "OAuthException")
    assert error["fbtrace_id"]

    async def messenger() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(config))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.post(
                "/v21.0/me/messages",
                params={"access_token": "sandbox-messenger-token"},
                json={
                    "recipient": {"id": "42"},
                    "messaging_type": "UPDATE",
                    "message": {"text": "x"},
                },
            )

    answer = asyncio.run(messenger())
    assert (answer.status_code, answer.json()["error"]["code"]) == (429, 613)


def test_graph_server_errors_are_transient() -> None:
    responses = whatsapp_sends(create_app(SandboxConfig(server_error_rate=1.0, seed=1)), 10)
    seen = {(response.status_code, response.json()["error"]["code"]) for response in responses}
    assert seen == {(500, 1), (503, 2)}
    assert all(response.json()["error"]["is_transient"] for response in responses)


def test_latency_is_added_to_each_request() -> None:
    app = create_app(SandboxConfig(latency_s=0.15))
    started = time.perf_counter()
    [response] = twilio_sends(app, 1)
    assert response.status_code == 201
    assert time.perf_counter() - started >= 0.15


def test_injectors_are_independent_per_provider() -> None:
    alone = FaultInjector("twilio", 5, 0.5, 0.0)
    shared = FaultInjector("twilio", 5, 0.5, 0.0)
    other = FaultInjector("graph", 5, 0.5, 0.0)
    expected = [alone.draw() for _ in range(30)]
    drawn = []
    for _ in range(30):
        other.draw()
        drawn.append(shared.draw())
    assert drawn == expected


def test_config_rejects_impossible_rates() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        SandboxConfig(rate_limit_rate=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        SandboxConfig(rate_limit_rate=0.6, server_error_rate=0.6)


def test_command_line_builds_the_config() -> None:
    from simulators.sandbox.__main__ import parse

    args, config = parse(["--port", "9000", "--rate-limit-rate", "0.1", "--seed", "4"])
    assert args.port == 9000
    assert (config.rate_limit_rate, config.seed, config.inbound_url) == (0.1, 4, None)


def test_a_seeded_share_of_answers_comes_slow_s_late() -> None:
    sandbox = Sandbox(SandboxConfig(slow_rate=0.25, slow_s=2.0, seed=5))
    delays = [sandbox.answer_delay() for _ in range(400)]
    assert set(delays) == {0.0, 2.0}
    assert 70 <= delays.count(2.0) <= 130
    again = Sandbox(SandboxConfig(slow_rate=0.25, slow_s=2.0, seed=5))
    assert [again.answer_delay() for _ in range(400)] == delays


def test_a_late_answer_comes_after_the_message_exists() -> None:
    sandbox = Sandbox(SandboxConfig(slow_rate=1.0, slow_s=0.3, seed=1))
    app = create_app(sandbox=sandbox)

    async def go() -> tuple[int, float, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            auth = (SID, SandboxConfig().auth_token)
            started = time.monotonic()
            sending = asyncio.create_task(client.post(MESSAGES, data=FORM, auth=auth))
            await asyncio.sleep(0.15)
            created_before_the_answer = len(sandbox.messages())
            response = await sending
            return response.status_code, time.monotonic() - started, created_before_the_answer

    status, took, created = asyncio.run(go())
    assert (status, created) == (201, 1)
    assert took >= 0.3


@pytest.mark.parametrize("field", ["slow_rate", "slow_s"])
def test_slowness_cannot_be_negative(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        SandboxConfig(**{field: -0.5})
