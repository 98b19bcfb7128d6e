"""The request limits (offers_api.limits), driven as ASGI: a Content-Length above the limit
is refused before the application runs; a chunked body is counted as the application reads
it and cut off at the limit; a JSON body that is not UTF-8, nested too deeply or carries a
number too long is refused with the reason, chunk boundaries anywhere; whatever the
application makes of a refusal, the refusal is the answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from offers.settings import Settings
from offers_api import errors
from offers_api.credentials import InMemoryApiKeyStore
from offers_api.limits import (
    MAX_JSON_DEPTH,
    MAX_NUMBER_CHARS,
    BodyLimits,
    JsonShape,
    RequestLimits,
)
from offers_api.main import create_app
from offers_api.schemas import LocationIn
from tests.unit.offers_api.state_fakes import api_client as fake_api_client

LIMIT = 1024
API_LIMIT = 64 * 1024
JSON_TYPE = (b"content-type", b"application/json")
JSON = ("Content-Type", "application/json")


@dataclass
class Answer:
    """What the middleware sent, and how many body chunks it pulled from the server."""

    status: int
    headers: dict[str, str]
    body: bytes
    pulled: int

    def detail(self) -> Any:
        return json.loads(self.body)["detail"]

    def reason(self) -> str:
        """The message of a refusal naming the body (``loc == ["body"]``)."""
        (problem,) = self.detail()
        assert problem["loc"] == ["body"], problem
        return str(problem["msg"])


def scope_of(path: str, headers: Sequence[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": list(headers),
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
    }


def call(
    app: ASGIApp,
    chunks: Sequence[bytes],
    headers: Sequence[tuple[bytes, bytes]] = (JSON_TYPE,),
    path: str = "/",
) -> Answer:
    """Send ``chunks`` as one request body (chunked: the last has ``more_body`` false) and
    collect the answer."""
    pulled = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {
                "type": "http.request",
                "body": chunks[pulled - 1],
                "more_body": pulled < len(chunks),
            }
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def exchange() -> None:
        await app(scope_of(path, headers), receive, send)

    asyncio.run(exchange())
    start, *parts = sent
    assert start["type"] == "http.response.start"
    assert [part["type"] for part in parts] == ["http.response.body"] * len(parts)
    return Answer(
        status=start["status"],
        headers={k.decode().lower(): v.decode() for k, v in start["headers"]},
        body=b"".join(part.get("body", b"") for part in parts),
        pulled=pulled,
    )


@dataclass
class Echo:
    """An application that reads the whole body and answers with its length."""

    calls: int = 0
    read: list[int] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        body = await Request(scope, receive).body()
        self.read.append(len(body))
        await JSONResponse({"read": len(body)})(scope, receive, send)


def limited(app: ASGIApp, max_bytes: int = LIMIT) -> RequestLimits:
    return RequestLimits(app, lambda: BodyLimits(max_bytes=max_bytes))


def content_length(size: int) -> tuple[bytes, bytes]:
    return (b"content-length", str(size).encode())


# Size


def test_a_content_length_above_the_limit_is_refused_before_the_application_runs() -> None:
    echo = Echo()
    answer = call(limited(echo), [b"x" * 2000], [JSON_TYPE, content_length(2000)])
    assert answer.status == 413
    assert answer.headers["content-type"] == "application/json"
    assert answer.detail() == (
        "the request body (Content-Length 2000) is larger than the limit of 1024 bytes"
    )
    assert echo.calls == 0 and answer.pulled == 0


def test_a_chunked_body_is_cut_off_when_it_passes_the_limit() -> None:
    echo = Echo()
    chunks = [b"x" * 400] * 10  # 4,000 bytes, no Content-Length
    answer = call(limited(echo), chunks, [(b"content-type", b"text/plain")])
    assert answer.status == 413
    assert answer.detail() == "the request body is larger than the limit of 1024 bytes"
    assert echo.read == []  # the application never got the body
    assert answer.pulled == 3  # 1,200 bytes read: the rest was never pulled in


def test_a_body_of_exactly_the_limit_passes_whole() -> None:
    echo = Echo()
    plain = (b"content-type", b"text/plain")
    answer = call(limited(echo), [b"1" * 1000, b"2" * 24], [plain, content_length(1024)])
    assert (answer.status, json.loads(answer.body)) == (200, {"read": 1024})


def test_a_lying_content_length_is_still_counted() -> None:
    echo = Echo()
    answer = call(limited(echo), [b"7" * 600, b"7" * 600], [JSON_TYPE, content_length(10)])
    assert answer.status == 413 and echo.read == []


def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        return {"type": "lifespan.startup"}

    async def ignore(message: Message) -> None:
        return None

    async def start() -> None:
        await limited(app)({"type": "lifespan"}, nothing, ignore)

    asyncio.run(start())
    assert seen == ["lifespan"]


# The shape of JSON, fed in chunks


def feed(chunks: Sequence[bytes], shape: JsonShape | None = None) -> str | None:
    """The reason the body is refused, or None."""
    shape = shape or JsonShape()
    for chunk in chunks:
        refusal = shape.feed(chunk)
        if refusal is not None:
            return str(refusal.detail[0]["msg"])  # type: ignore[index]  # body problems are lists
    refusal = shape.end()
    return None if refusal is None else str(refusal.detail[0]["msg"])  # type: ignore[index]  # as above


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def split_everywhere(body: bytes) -> list[list[bytes]]:
    """``body`` cut in two at every position."""
    return [[body[:i], body[i:]] for i in range(len(body) + 1)]


@pytest.mark.parametrize("depth", [1, 8, MAX_JSON_DEPTH])
def test_json_up_to_the_depth_limit_is_accepted(depth: int) -> None:
    assert feed([nested(depth)]) is None


def test_one_level_more_is_refused_however_it_is_nested() -> None:
    reason = f"JSON is nested deeper than {MAX_JSON_DEPTH} arrays or objects"
    assert feed([nested(MAX_JSON_DEPTH + 1)]) == reason
    objects = b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1)
    assert feed([objects]) == reason
    assert feed([b"[" * 20, b"[" * 20]) == reason  # counted across chunks


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"message": "[" * 100 + '{ "quoted \\" [[[ ' + "\\\\" + "{" * 50})
    assert feed([text.encode()]) is None
    for chunks in split_everywhere(text.encode()):
        assert feed(chunks) is None, chunks


def test_an_escape_split_between_chunks_is_understood() -> None:
    body = json.dumps({"a": 'x"' + "[" * 40}).encode()  # the quote is escaped: \"
    at = body.index(b"\\") + 1
    assert feed([body[:at], body[at:]]) is None


def test_a_character_split_between_chunks_is_valid_utf8() -> None:
    body = json.dumps({"name": "Città di Porto Torres, Bonifacio €"}, ensure_ascii=False).encode()
    for chunks in split_everywhere(body):
        assert feed(chunks) is None


@pytest.mark.parametrize(
    ("chunks", "reason"),
    [
        ([b'{"a": "\xff"}'], "the body is not valid UTF-8: invalid start byte at byte 7"),
        ([b'{"a": "', b"\xc3\x28", b'"}'], "invalid continuation byte at byte 7"),
        ([b'{"a": "\xe2\x82'], "unexpected end of data at byte 7"),
        ([b'{"a": 1}\x00'], "the body holds a NUL byte at byte 8"),
        ([b"\x00{\x00}"], "NUL byte at byte 0"),
    ],
)
def test_text_that_is_not_utf8_is_refused_saying_where(chunks: list[bytes], reason: str) -> None:
    found = feed(chunks)
    assert found is not None and reason in found


def test_a_number_too_long_is_refused_even_across_chunks() -> None:
    digits = b"9" * (MAX_NUMBER_CHARS + 1)
    reason = f"a number is longer than {MAX_NUMBER_CHARS} characters"
    assert feed([b'{"n": ' + digits + b"}"]) == reason
    assert feed([b'{"n": ' + digits[:600], digits[600:] + b"}"]) == reason
    assert feed([b'{"n": ' + digits[:MAX_NUMBER_CHARS] + b"}"]) is None
    assert feed([b'{"n": "' + digits + b'"}']) is None  # a string of digits is no number


# Through the application


@pytest.fixture
def location_app() -> FastAPI:
    """An app with the API's error handlers and a location body, behind the limits."""
    app = FastAPI()
    errors.install(app)
    app.add_middleware(RequestLimits, limits=lambda: BodyLimits(max_bytes=API_LIMIT))

    @app.post("/ping")
    def ping(body: LocationIn) -> dict[str, float]:
        return {"lat": body.lat}

    return app


def test_a_refusal_replaces_fastapis_own_answer(location_app: FastAPI) -> None:
    """FastAPI turns an error while reading a body into a vague 400; the limit's answer
    is sent instead."""
    padding = [b"x" * 10_000] * 7
    oversized = call(location_app, [b'{"lat": 1.0, "pad": "', *padding, b'"}'], path="/ping")
    assert oversized.status == 413
    assert "limit of 65536 bytes" in oversized.detail()
    deep = call(location_app, [nested(5000)], path="/ping")  # RecursionError in json.loads
    assert deep.status == 422 and "nested deeper than 32" in deep.reason()
    bad_text = call(location_app, [b'{"lat": "\xc0\xaf"}'], path="/ping")
    assert bad_text.status == 400 and "not valid UTF-8" in bad_text.reason()
    huge = call(location_app, [b'{"lat": 1' + b"0" * 5000 + b"}"], path="/ping")
    assert huge.status == 422 and "longer than 1000 characters" in huge.reason()


def fields_at_fault(answer: Answer) -> dict[str, str]:
    return {".".join(map(str, d["loc"])): d["msg"] for d in answer.detail()}


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        (b'{"lat": 1e400, "lon": 1, "accuracy_m": 1}', "body.lat", "finite number"),
        (b'{"lat": 1' + b"0" * 400 + b', "lon": 1, "accuracy_m": 1}', "body.lat", "number"),
        (b'{"lat": 91, "lon": 1, "accuracy_m": 1}', "body.lat", "less than or equal to 90"),
        (b'{"lat": 1, "lon": 181, "accuracy_m": 1}', "body.lon", "less than or equal to 180"),
        (b'{"lat": 1, "lon": 1, "accuracy_m": 1, "measured_at": "0001-01-01T00:00:00Z"}',
         "body.measured_at", "more than 24 hours before"),
        (b'{"lat": 1, "lon": 1, "accuracy_m": 1, "measured_at": "9999-12-31T23:59:59Z"}',
         "body.measured_at", "event_time, which may not lie in the future"),
        (b'{"lat": 1, "lon": 1, "accuracy_m": 1, "measured_at": 1e12}',
         "body.measured_at", "2001-09-09"),
        (b'{"lat": 1, "lon": ', "body", "Invalid JSON: Expecting value at character"),
    ],
)  # fmt: skip
def test_within_the_limits_bad_fields_are_named_by_the_schema(
    location_app: FastAPI, body: bytes, field: str, fragment: str
) -> None:
    answer = call(location_app, [body], path="/ping")
    assert answer.status == 422, answer.body
    problems = fields_at_fault(answer)
    assert fragment in problems[field], problems


def test_a_good_body_is_read_once_and_whole(location_app: FastAPI) -> None:
    body = b'{"lat": 43.55, "lon": 10.31, "accuracy_m": 8.0}'
    answer = call(location_app, [body[:10], body[10:30], body[30:]], path="/ping")
    assert (answer.status, json.loads(answer.body)) == (200, {"lat": 43.55})


@pytest.mark.parametrize(
    "content_type", [b"application/x-www-form-urlencoded", b"text/plain", None]
)
def test_a_body_that_is_not_json_is_held_to_the_size_only(content_type: bytes | None) -> None:
    echo = Echo()
    headers = [] if content_type is None else [(b"content-type", content_type)]
    assert call(limited(echo), [b"Body=\xff\x00" + b"[" * 100], headers).status == 200
    assert call(limited(echo), [b"Body=" + b"x" * 2000], headers).status == 413


@pytest.mark.parametrize(
    "content_type",
    [b"application/json", b"application/json; charset=utf-8", b"Application/Problem+JSON"],
)
def test_every_json_media_type_is_checked(content_type: bytes) -> None:
    answer = call(limited(Echo()), [nested(40)], [(b"content-type", content_type)])
    assert answer.status == 422


# In the API


def api_client(max_bytes: int) -> TestClient:
    settings = Settings(environment="test", max_request_bytes=max_bytes)
    client, _ = fake_api_client(settings, api_keys=InMemoryApiKeyStore())
    return client


def chunked(*chunks: bytes) -> Iterator[bytes]:
    """A body without Content-Length: the client sends it chunked."""
    yield from chunks


def test_the_api_holds_bodies_to_its_setting() -> None:
    """OFFERS_MAX_REQUEST_BYTES is read from the app's settings; a body over it is refused
    before any credentials are looked at, one under it goes on (here to a 401)."""
    path = "/v1/customers/c-1/locations"
    padded = b'{"lat": 1, "pad": "' + b"x" * 3000 + b'"}'
    small, large = api_client(4096), api_client(2048)
    assert large.post(path, content=padded, headers=dict([JSON])).status_code == 413
    assert large.post(path, content=chunked(padded[:100], padded[100:])).status_code == 413
    assert small.post(path, content=padded, headers=dict([JSON])).status_code == 401
    assert small.post(path, content=chunked(padded[:100], padded[100:])).status_code == 401
    deep = small.post(path, content=nested(100), headers=dict([JSON]))
    assert deep.status_code == 422 and "nested deeper" in deep.text


def test_the_limit_is_documented_for_every_route() -> None:
    spec = create_app(Settings(environment="test")).openapi()
    operations = [op for path in spec["paths"].values() for op in path.values()]
    assert operations and all("413" in op["responses"] for op in operations)
