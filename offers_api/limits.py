"""What a request may carry: at most ``OFFERS_MAX_REQUEST_BYTES`` of body, and a JSON body
that is UTF-8, nested no deeper than :data:`MAX_JSON_DEPTH` and without numbers longer
than :data:`MAX_NUMBER_CHARS`.

:class:`RequestLimits` is a pure ASGI middleware: it counts the body chunk by chunk as the
application reads it, whether it comes with a ``Content-Length`` or chunked, and holds
nothing to count it. A ``Content-Length`` above the limit is answered 413 before the
application runs; a body that goes beyond the limit while streaming is cut off there and
answered 413 in place of whatever the application would have answered. A JSON body is
checked as UTF-8 as it arrives, and for its shape once it has all arrived, before the
application parses it (which holds it whole anyway). The refusals are the API's usual
problem body (``{"detail": ...}``, see :mod:`offers_api.schemas`):

- 413 when the body is larger than the limit;
- 400 when the body is not UTF-8 (JSON is exchanged as UTF-8, RFC 8259), or holds a NUL
  byte, which would make the JSON parser guess another encoding;
- 422 when JSON arrays and objects are nested deeper than :data:`MAX_JSON_DEPTH`: no body
  of this API is nested beyond a few levels, and a deeply nested one would exhaust the
  parser's recursion (a ``RecursionError``, never to become a 500);
- 422 when a number is written with more than :data:`MAX_NUMBER_CHARS` characters: Python
  refuses to read an integer of more than 4,300 digits, and no field needs a tenth of that.
"""

from __future__ import annotations

import codecs
import itertools
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from offers.settings import Settings

MAX_JSON_DEPTH = 32
"""Arrays and objects inside one another in a JSON body; a campaign, the deepest body of
the API, uses fewer than ten."""
MAX_NUMBER_CHARS = 1_000
"""Characters of one number in a JSON body (digits, sign, point and exponent)."""

_NUMBER_CHARS = b"-+.0123456789eE"
_NUMBER_RUNS = bytes.maketrans(
    bytes(range(256)), bytes(b"1"[0] if i in _NUMBER_CHARS else b" "[0] for i in range(256))
)
"""The characters of a number as ``1``, any other as a space: runs of them become words."""
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
"""Opening brackets as 2, closing ones as 0: after k brackets, the depth is the sum less k."""
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[{]}")))


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """The limits a request body is held to."""

    max_bytes: int
    max_json_depth: int = MAX_JSON_DEPTH
    max_number_chars: int = MAX_NUMBER_CHARS

    @classmethod
    def of(cls, settings: Settings) -> BodyLimits:
        return cls(max_bytes=settings.max_request_bytes)


@dataclass(frozen=True, slots=True)
class Refusal:
    """An answer to a request refused for what its body carries: a status and the problem
    body (``detail``: a sentence, or the fields at fault)."""

    status: int
    detail: str | list[dict[str, Any]]

    def messages(self) -> tuple[Message, Message]:
        """The ASGI messages of the answer."""
        body = json.dumps({"detail": self.detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        start = {"type": "http.response.start", "status": self.status, "headers": headers}
        return start, {"type": "http.response.body", "body": body, "more_body": False}


def too_large(limit: int, declared: int | None = None) -> Refusal:
    """413: the body is larger than ``limit`` bytes (``declared`` by its Content-Length)."""
    size = f" (Content-Length {declared})" if declared is not None else ""
    return Refusal(413, f"the request body{size} is larger than the limit of {limit} bytes")


def _body_problem(status: int, reason: str) -> Refusal:
    return Refusal(status, [{"loc": ["body"], "msg": reason, "type": "value_error"}])


class RequestRefused(Exception):
    """Raised from ``receive`` to stop the application reading a body that was refused."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


class JsonShape:
    """The checks of a JSON body, fed chunk by chunk: UTF-8 without NUL bytes as it
    arrives (a character may be split between chunks), then, once it has all arrived,
    its depth and the length of its numbers, before the application parses it. Holds the
    body meanwhile (at most the size limit), as the application does."""

    def __init__(
        self, max_depth: int = MAX_JSON_DEPTH, max_number_chars: int = MAX_NUMBER_CHARS
    ) -> None:
        self.max_depth = max_depth
        self.max_number_chars = max_number_chars
        self._body = bytearray()
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")

    def feed(self, chunk: bytes) -> Refusal | None:
        """The refusal of the body if this chunk is not UTF-8 text, else None."""
        refusal = self._text_refusal(chunk, final=False)
        self._body += chunk
        return refusal

    def end(self) -> Refusal | None:
        """The refusal of the whole body (fed before), else None."""
        return self._text_refusal(b"", final=True) or shape_refusal(
            bytes(self._body), self.max_depth, self.max_number_chars
        )

    def _text_refusal(self, chunk: bytes, *, final: bool) -> Refusal | None:
        fed = len(self._body)
        held = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(chunk, final=final)
        except UnicodeDecodeError as error:
            at = fed - held + error.start
            return _body_problem(400, f"the body is not valid UTF-8: {error.reason} at byte {at}")
        nul = chunk.find(b"\x00")
        if nul >= 0:
            return _body_problem(
                400, f"the body holds a NUL byte at byte {fed + nul}; JSON is UTF-8 text"
            )
        return None


def shape_refusal(body: bytes, max_depth: int, max_number_chars: int) -> Refusal | None:
    """422 if arrays and objects in ``body`` nest deeper than ``max_depth`` or a number is
    longer than ``max_number_chars``, else None. What is inside strings does not count.
    Every step runs in C (``split``, ``translate``, iterators), so that a body of the size
    limit is checked in a few milliseconds whatever it holds."""
    outside = outside_strings(body)
    steps = outside.translate(_BRACKET_STEPS, _NOT_BRACKETS)
    depth = max(map(operator.sub, itertools.accumulate(steps), itertools.count(1)), default=0)
    if depth > max_depth:
        return _body_problem(422, f"JSON is nested deeper than {max_depth} arrays or objects")
    longest = max(map(len, outside.translate(_NUMBER_RUNS).split()), default=0)
    if longest > max_number_chars:
        return _body_problem(422, f"a number is longer than {max_number_chars} characters")
    return None


def outside_strings(body: bytes) -> bytes:
    """The text of JSON ``body`` outside its strings. Escaped backslashes, then escaped
    quotes go first (escapes are read from the left, two characters each), so that no
    escaped quote ends a string; then every other piece between quotes is a string."""
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(body.split(b'"')[0::2])


def is_json(scope: Scope) -> bool:
    """Whether the application reads the body as JSON: ``application/json`` or
    ``application/*+json`` (without a Content-Type, FastAPI does not parse it)."""
    content_type = _header(scope, b"content-type")
    if content_type is None:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length; None if it has none (chunked) or it is not a number,
    which the server refuses before the application sees the request."""
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class _Exchange:
    """One request and its answer: the body counted and checked as the application reads
    it, and the application's answer replaced by the refusal once the body is refused."""

    def __init__(self, limits: BodyLimits, scope: Scope, receive: Receive, send: Send) -> None:
        self.limits = limits
        self.received = 0
        self.shape = JsonShape(limits.max_json_depth, limits.max_number_chars)
        self.checks_json = is_json(scope)
        self.refusal: Refusal | None = None
        self.started = False
        """Whether the application's own answer has begun (before any refusal)."""
        self.answered = False
        self._receive = receive
        self._send = send

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request" and self.refusal is None:
            refusal = self._check(message.get("body", b""), message.get("more_body", False))
            if refusal is not None:
                self.refusal = refusal
                raise RequestRefused(refusal)
        return message

    def _check(self, chunk: bytes, more_body: bool) -> Refusal | None:
        self.received += len(chunk)
        if self.received > self.limits.max_bytes:
            return too_large(self.limits.max_bytes)
        if not self.checks_json:
            return None
        return self.shape.feed(chunk) or (None if more_body else self.shape.end())

    async def send(self, message: Message) -> None:
        if self.refusal is not None and not self.started:
            await self.answer()  # the application's own answer is dropped
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)

    async def answer(self) -> None:
        """Send the refusal, once."""
        if self.answered or self.refusal is None:
            return
        self.answered = True
        for message in self.refusal.messages():
            await self._send(message)


class RequestLimits:
    """ASGI middleware holding every HTTP request to :class:`BodyLimits`; ``limits`` gives
    them when a request arrives (the settings are read when the app starts serving, not
    when it is built)."""

    def __init__(self, app: ASGIApp, limits: Callable[[], BodyLimits]) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits()
        declared = declared_length(scope)
        if declared is not None and declared > limits.max_bytes:
            for message in too_large(limits.max_bytes, declared).messages():
                await send(message)
            return
        exchange = _Exchange(limits, scope, receive, send)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            # whatever the refusal became inside the application (FastAPI turns an error
            # while reading a body into a vague 400), the refusal is the answer
            if exchange.refusal is None or exchange.started:
                raise
        if not exchange.started:
            await exchange.answer()
