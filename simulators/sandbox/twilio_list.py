"""Twilio's Message list, ``GET /2010-04-01/Accounts/{AccountSid}/Messages.json``: the
account's messages, sent and received, newest first, one page at a time.

Filters, as Twilio names them: ``To``, ``From``, and the date the message was sent in
UTC, ``DateSent`` (that day), ``DateSent>`` (on or after) and ``DateSent<`` (on or
before), each a ``YYYY-MM-DD`` date or an ISO 8601 instant (the official client sends
``YYYY-MM-DDTHH:MM:SSZ`` for a ``datetime``; an instant bounds to the second, and
``DateSent`` takes its day). A message that was never sent matches no date filter.

Paging: ``PageSize`` (50 by default, 1 to 1,000), ``Page`` (the page's number, from 0) and
``PageToken``. ``next_page_uri`` carries a token naming the last message of the page, so
that reading on is not disturbed by messages sent meanwhile (they go to the front); it is
``null`` on the last page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from simulators.sandbox.state import Sandbox
from simulators.sandbox.twilio_api import (
    MESSAGES_PATH,
    authenticated,
    inbound_resource,
    resource,
    twilio_error,
    unauthorised,
)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
NEXT_TOKEN = "PA"
"""Prefix of a token for the page after a message (the token ends with its SID)."""
PREVIOUS_TOKEN = "PB"
"""Prefix of a token for the page before a message."""
BAD_PARAMETER = 20001
"""The code the sandbox answers a list parameter it refuses with."""


class ListError(ValueError):
    """A list parameter Twilio would refuse."""


@dataclass(frozen=True, slots=True)
class Listed:
    """One message of the account, as the list orders and filters it."""

    sid: str
    created: datetime
    sent: datetime | None
    to: str
    sender: str | None
    resource: dict[str, Any]

    @property
    def key(self) -> tuple[datetime, str]:
        """Its place in the list: newest first, by creation time then SID."""
        return self.created, self.sid


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The filters and paging of one list request."""

    to: str | None = None
    sender: str | None = None
    on: date | None = None
    after: date | datetime | None = None
    before: date | datetime | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    page: int = 0
    page_token: str | None = None

    def matches(self, item: Listed) -> bool:
        if self.to is not None and item.to != self.to:
            return False
        if self.sender is not None and item.sender != self.sender:
            return False
        if self.on is None and self.after is None and self.before is None:
            return True
        sent = item.sent
        if sent is None:
            return False
        if self.on is not None and sent.date() != self.on:
            return False
        if self.after is not None and not _at_or_after(sent, self.after):
            return False
        return self.before is None or _at_or_before(sent, self.before)


def _at_or_after(sent: datetime, bound: date | datetime) -> bool:
    if isinstance(bound, datetime):
        return sent.replace(microsecond=0) >= bound
    return sent.date() >= bound


def _at_or_before(sent: datetime, bound: date | datetime) -> bool:
    if isinstance(bound, datetime):
        return sent.replace(microsecond=0) <= bound
    return sent.date() <= bound


def parse_date(name: str, raw: str) -> date | datetime:
    """A ``YYYY-MM-DD`` date, or an ISO 8601 instant (UTC when it names no offset)."""
    text = raw.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ListError(f"Invalid {name} value: {raw}. Use YYYY-MM-DD.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _whole_number(name: str, raw: str, lowest: int, highest: int | None) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = lowest - 1
    if value < lowest or (highest is not None and value > highest):
        upper = f" to {highest}" if highest is not None else " or more"
        raise ListError(f"Invalid {name} value: {raw}. Use an integer from {lowest}{upper}.")
    return value


def parse_query(params: Mapping[str, str]) -> ListQuery:
    """The request's filters and paging; :class:`ListError` for a value Twilio refuses."""
    on = params.get("DateSent")
    after = params.get("DateSent>")
    before = params.get("DateSent<")
    day = parse_date("DateSent", on) if on else None
    return ListQuery(
        to=params.get("To") or None,
        sender=params.get("From") or None,
        on=day.date() if isinstance(day, datetime) else day,
        after=parse_date("DateSent>", after) if after else None,
        before=parse_date("DateSent<", before) if before else None,
        page_size=_whole_number(
            "PageSize", params.get("PageSize", str(DEFAULT_PAGE_SIZE)), 1, MAX_PAGE_SIZE
        ),
        page=_whole_number("Page", params.get("Page", "0"), 0, None),
        page_token=params.get("PageToken") or None,
    )


def listed(sandbox: Sandbox, account_sid: str) -> list[Listed]:
    """Every Twilio message of the sandbox, sent and received, newest first."""
    items = [
        Listed(
            sid=record.id,
            created=record.accepted_at,
            sent=sent.at if (sent := record.reached("sent")) is not None else None,
            to=record.to,
            sender=record.sender,
            resource=resource(record, account_sid),
        )
        for record in sandbox.messages(provider="twilio")
    ]
    items += [
        Listed(
            sid=record.sid,
            created=record.at,
            sent=record.at,
            to=record.to,
            sender=record.sender,
            resource=inbound_resource(record, account_sid),
        )
        for record in sandbox.inbound()
    ]
    return sorted(items, key=lambda item: item.key, reverse=True)


def select_page(items: list[Listed], query: ListQuery) -> tuple[list[Listed], bool]:
    """The page the query asks for among ``items`` (all messages, newest first), and
    whether more matching messages follow it."""
    token = query.page_token
    size = query.page_size
    if token is None:
        matching = [item for item in items if query.matches(item)]
        start = query.page * size
        return matching[start : start + size], len(matching) > start + size
    keys = {item.sid: item.key for item in items}
    prefix, sid = token[:2], token[2:]
    if prefix not in (NEXT_TOKEN, PREVIOUS_TOKEN) or sid not in keys:
        raise ListError(f"Invalid PageToken value: {token}.")
    if prefix == NEXT_TOKEN:
        later = [item for item in items if item.key < keys[sid] and query.matches(item)]
        return later[:size], len(later) > size
    earlier = [item for item in items if item.key > keys[sid] and query.matches(item)]
    return earlier[-size:], True


def _uri(account_sid: str, query: ListQuery, page: int, token: str | None) -> str:
    params = {
        name: value
        for name, value in (
            ("To", query.to),
            ("From", query.sender),
            ("DateSent", query.on.isoformat() if query.on is not None else None),
            ("DateSent>", _text(query.after)),
            ("DateSent<", _text(query.before)),
        )
        if value is not None
    }
    params |= {"PageSize": str(query.page_size), "Page": str(page)}
    if token is not None:
        params["PageToken"] = token
    return MESSAGES_PATH.format(account_sid=account_sid) + "?" + urlencode(params)


def _text(bound: date | datetime | None) -> str | None:
    if isinstance(bound, datetime):
        return bound.strftime("%Y-%m-%dT%H:%M:%SZ")
    return bound.isoformat() if bound is not None else None


def page_body(account_sid: str, query: ListQuery, page: list[Listed], more: bool) -> dict[str, Any]:
    """The list answer in Twilio's shape."""
    number = query.page
    start = number * query.page_size
    next_uri = previous_uri = None
    if more and page:
        next_uri = _uri(account_sid, query, number + 1, NEXT_TOKEN + page[-1].sid)
    if number > 0 and page:
        previous_uri = _uri(account_sid, query, number - 1, PREVIOUS_TOKEN + page[0].sid)
    return {
        "messages": [item.resource for item in page],
        "page": number,
        "page_size": query.page_size,
        "first_page_uri": _uri(account_sid, query, 0, None),
        "next_page_uri": next_uri,
        "previous_page_uri": previous_uri,
        "uri": _uri(account_sid, query, number, query.page_token),
        "start": start,
        "end": start + max(len(page) - 1, 0),
    }


def twilio_list_routes(sandbox: Sandbox) -> APIRouter:
    router = APIRouter(tags=["twilio"])

    @router.get(MESSAGES_PATH)
    async def list_messages(account_sid: str, request: Request) -> Response:
        config = sandbox.config
        if not authenticated(request, account_sid, config.account_sid, config.auth_token):
            return unauthorised()
        try:
            query = parse_query(request.query_params)
            page, more = select_page(listed(sandbox, config.account_sid), query)
        except ListError as error:
            return twilio_error(400, BAD_PARAMETER, str(error))
        return JSONResponse(page_body(config.account_sid, query, page, more))

    return router
