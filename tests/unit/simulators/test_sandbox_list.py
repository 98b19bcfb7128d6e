"""The sandbox's Twilio Message list: filters, paging and errors in Twilio's shape, and
the official client's ``messages.list`` against it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from simulators.sandbox import Sandbox, SandboxConfig, create_app, running_sandbox, twilio_client

FAST = SandboxConfig(callback_delay_s=0.01)
SLOW = SandboxConfig(callback_delay_s=30.0)
SID = FAST.account_sid
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
AUTH = (SID, FAST.auth_token)
ANNA, BRUNO = "+393400000001", "+393400000002"
SENDER = "+15005550006"
PAGE_KEYS = {
    "messages",
    "page",
    "page_size",
    "first_page_uri",
    "next_page_uri",
    "previous_page_uri",
    "uri",
    "start",
    "end",
}


def test_official_client_lists_by_recipient_and_date_newest_first() -> None:
    with running_sandbox(FAST) as sandbox:
        assert sandbox.base_url is not None
        client = twilio_client(sandbox.base_url, FAST.account_sid, FAST.auth_token)
        started = datetime.now(UTC) - timedelta(seconds=2)
        to_anna = [
            client.messages.create(to=ANNA, from_=SENDER, body=f"Offerta {n}").sid for n in range(3)
        ]
        client.messages.create(to=BRUNO, from_=SENDER, body="Altro")
        for sid in to_anna:
            sandbox.wait_for(sid, "delivered")
        listed = client.messages.list(to=ANNA, date_sent_after=started)
        later = client.messages.list(to=ANNA, date_sent_after=datetime.now(UTC) + timedelta(1))
        paged = client.messages.list(page_size=2)
    assert [message.sid for message in listed] == to_anna[::-1]
    assert all(message.to == ANNA and message.status == "delivered" for message in listed)
    assert later == []
    assert len(paged) == 4
    created = [message.date_created for message in paged]
    assert created == sorted(created, reverse=True)


def call(app: FastAPI, url: str, auth: Any = AUTH, **params: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.get(url, params=params or None, auth=auth)

    return asyncio.run(go())


def send(app: FastAPI, to: str, count: int) -> list[str]:
    async def go() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            sids = []
            for n in range(count):
                form = {"To": to, "From": SENDER, "Body": f"Messaggio {n}"}
                answer = await client.post(MESSAGES, data=form, auth=AUTH)
                sids.append(answer.json()["sid"])
            return sids

    return asyncio.run(go())


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(SLOW)


@pytest.fixture
def app(sandbox: Sandbox) -> FastAPI:
    return create_app(sandbox=sandbox)


def test_pages_follow_each_other_until_next_is_null(app: FastAPI) -> None:
    sids = send(app, ANNA, 5)[::-1]
    first = call(app, MESSAGES, PageSize="2").json()
    assert set(first) == PAGE_KEYS
    assert [m["sid"] for m in first["messages"]] == sids[:2]
    assert (first["page"], first["page_size"], first["start"], first["end"]) == (0, 2, 0, 1)
    assert first["previous_page_uri"] is None
    assert first["uri"].startswith(MESSAGES + "?")
    send(app, BRUNO, 1)  # newer messages do not shift the pages being read
    second = call(app, first["next_page_uri"]).json()
    assert [m["sid"] for m in second["messages"]] == sids[2:4]
    assert (second["page"], second["start"], second["end"]) == (1, 2, 3)
    third = call(app, second["next_page_uri"]).json()
    assert [m["sid"] for m in third["messages"]] == sids[4:]
    assert third["next_page_uri"] is None
    back = call(app, third["previous_page_uri"]).json()
    assert [m["sid"] for m in back["messages"]] == sids[2:4]
    first_again = call(app, third["first_page_uri"]).json()
    assert len(first_again["messages"]) == 2 and first_again["next_page_uri"] is not None


def test_page_numbers_without_a_token_skip_whole_pages(app: FastAPI) -> None:
    sids = send(app, ANNA, 5)[::-1]
    page = call(app, MESSAGES, PageSize="2", Page="2").json()
    assert [m["sid"] for m in page["messages"]] == sids[4:]
    assert page["next_page_uri"] is None


def test_filters_keep_their_values_in_page_uris(app: FastAPI) -> None:
    send(app, ANNA, 3)
    send(app, BRUNO, 1)
    page = call(app, MESSAGES, To=ANNA, PageSize="1").json()
    assert [m["to"] for m in page["messages"]] == [ANNA]
    query = parse_qs(urlsplit(page["next_page_uri"]).query)
    assert query["To"] == [ANNA] and query["PageSize"] == ["1"] and query["Page"] == ["1"]
    assert query["PageToken"][0].startswith("PA")
    assert len(call(app, MESSAGES, From=SENDER).json()["messages"]) == 4
    assert call(app, MESSAGES, From="+15005550001").json()["messages"] == []


def test_messages_not_sent_yet_match_no_date_filter(app: FastAPI) -> None:
    send(app, ANNA, 2)
    today = datetime.now(UTC).date().isoformat()
    assert len(call(app, MESSAGES).json()["messages"]) == 2
    for name in ("DateSent", "DateSent>", "DateSent<"):
        assert call(app, MESSAGES, **{name: today}).json()["messages"] == []


def test_sent_dates_filter_by_day_and_by_instant() -> None:
    with running_sandbox(FAST) as sandbox:
        assert sandbox.base_url is not None
        client = twilio_client(sandbox.base_url, FAST.account_sid, FAST.auth_token)
        sid = client.messages.create(to=ANNA, from_=SENDER, body="x").sid
        sent = sandbox.wait_for(sid, "sent").reached("sent")
        assert sent is not None
        day = sent.at.date()

        def count(**params: str) -> int:
            answer = httpx.get(f"{sandbox.base_url}{MESSAGES}", params=params, auth=AUTH)
            return len(answer.json()["messages"])

        assert count(DateSent=day.isoformat()) == 1
        assert count(DateSent=(day - timedelta(days=1)).isoformat()) == 0
        assert count(**{"DateSent>": day.isoformat(), "DateSent<": day.isoformat()}) == 1
        assert count(**{"DateSent<": (day - timedelta(days=1)).isoformat()}) == 0
        instant = sent.at.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert count(**{"DateSent>": instant, "DateSent<": instant}) == 1
        after = (sent.at + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert count(**{"DateSent>": after}) == 0


def test_inbound_messages_are_listed_and_fetched(app: FastAPI) -> None:
    async def reply() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            await client.post("/sandbox/reply", json={"from": ANNA, "body": "Info?"})

    asyncio.run(reply())
    (message,) = call(app, MESSAGES, From=ANNA).json()["messages"]
    assert (message["direction"], message["status"]) == ("inbound", "received")
    assert (message["to"], message["body"]) == (SLOW.twilio_number, "Info?")
    fetched = call(app, f"/2010-04-01/Accounts/{SID}/Messages/{message['sid']}.json")
    assert fetched.status_code == 200 and fetched.json() == message


@pytest.mark.parametrize(
    "params",
    [
        {"PageSize": "0"},
        {"PageSize": "1001"},
        {"PageSize": "many"},
        {"Page": "-1"},
        {"DateSent": "01/07/2026"},
        {"DateSent>": "yesterday"},
        {"PageToken": "PAnothing"},
        {"PageToken": "XX"},
    ],
)
def test_refused_parameters_get_twilio_400(app: FastAPI, params: dict[str, str]) -> None:
    answer = call(app, MESSAGES, **params)
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (body["code"], body["status"]) == (20001, 400)


def test_page_size_of_a_thousand_is_taken(app: FastAPI) -> None:
    send(app, ANNA, 1)
    assert call(app, MESSAGES, PageSize="1000").json()["page_size"] == 1000


def test_listing_needs_the_accounts_credentials(app: FastAPI) -> None:
    for auth in (None, (SID, "wrong")):
        answer = call(app, MESSAGES, auth=auth)
        assert answer.status_code == 401 and answer.json()["code"] == 20003
