"""Message templates: one text per channel and language, with personalisation fields.

A template names fields with ``{field}``, among exactly :data:`PERSONALISATION_FIELDS`;
``{{`` and ``}}`` are literal braces. Positional fields (``{}``, ``{0}``), attribute
access or indexing (``{name.upper}``), conversions (``{name!r}``) and format specs
(``{fare:>8}``) are refused when the template is saved, as are unbalanced braces.

Lengths, kept simple:

- every template is at most :data:`MAX_TEMPLATE_CHARS` characters as written;
- an SMS is at most :data:`MAX_SMS_CHARS` characters (three concatenated segments) once
  rendered with the longest value each field may take (:data:`FIELD_MAX_CHARS`);
  :func:`render` shortens longer values, so the bound holds for every message sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from string import Formatter
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    field_validator,
    model_validator,
)

from offers.campaigns.errors import RenderError, field_problem
from offers.contracts.events import Channel, Language
from offers.errors import FieldError

FIELD_MAX_CHARS: dict[str, int] = {
    "name": 40,
    "port": 30,
    "sailing": 60,
    "fare": 16,
    "discount": 24,
    "expiry": 32,
}
"""The personalisation fields and the longest value of each, in characters."""

PERSONALISATION_FIELDS: frozenset[str] = frozenset(FIELD_MAX_CHARS)
MAX_TEMPLATE_CHARS = 1_000
MAX_SMS_CHARS = 480
ELLIPSIS = "…"

_ALLOWED = ", ".join(sorted(PERSONALISATION_FIELDS))
_POSITIONAL = re.compile(r"^\d*$")

TemplateText = Annotated[
    str, Strict(), StringConstraints(min_length=1, max_length=MAX_TEMPLATE_CHARS)
]


class MessageTemplate(BaseModel):
    """The text sent over one channel in one language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel = Field(description="Channel the text is sent over.")
    language: Language = Field(description="Language of the text.")
    text: TemplateText = Field(
        description=(
            "The message, with {name}, {port}, {sailing}, {fare}, {discount}, {expiry} "
            f"filled in when sent; at most {MAX_TEMPLATE_CHARS} characters."
        )
    )

    @field_validator("text")
    @classmethod
    def _valid_fields(cls, text: str) -> str:
        problems = template_problems(text)
        if problems:
            raise ValueError("; ".join(problems))
        if not text.strip():
            raise ValueError("must not be blank")
        return text

    @model_validator(mode="after")
    def _fits_an_sms(self) -> MessageTemplate:
        if self.channel is Channel.SMS:
            longest = rendered_length_bound(self.text)
            if longest > MAX_SMS_CHARS:
                raise field_problem(
                    "text",
                    f"an SMS may be at most {MAX_SMS_CHARS} characters once rendered; "
                    f"with the longest value of each field this one has {longest}",
                )
        return self

    @property
    def used_fields(self) -> tuple[str, ...]:
        """The personalisation fields the text uses, in order of first use."""
        return template_fields(self.text)


def template_problems(text: str) -> list[str]:
    """What is wrong with the fields and braces of ``text``; empty when it is valid."""
    try:
        parsed = list(Formatter().parse(text))
    except ValueError as exc:
        return [_brace_problem(text, str(exc))]
    problems: list[str] = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        shown = "{" + name + "}"
        if _POSITIONAL.match(name):
            problems.append(f"positional field '{shown}' is not allowed; name one of: {_ALLOWED}")
        elif name not in PERSONALISATION_FIELDS:
            if name.split(".")[0].split("[")[0] in PERSONALISATION_FIELDS:
                problems.append(
                    f"field '{shown}': attribute access and indexing are not allowed; "
                    f"write just the name"
                )
            else:
                problems.append(f"unknown field '{shown}'; allowed: {_ALLOWED}")
        if conversion is not None:
            problems.append(f"field '{shown}': conversion '!{conversion}' is not allowed")
        if spec:
            problems.append(f"field '{shown}': format spec ':{spec}' is not allowed")
    return problems


def template_fields(text: str) -> tuple[str, ...]:
    """The fields ``text`` names, in order of first use (``text`` must be valid)."""
    found: list[str] = []
    for _literal, name, _spec, _conversion in Formatter().parse(text):
        if name is not None and name not in found:
            found.append(name)
    return tuple(found)


def rendered_length_bound(text: str) -> int:
    """The length of ``text`` rendered with the longest value of each field."""
    length = 0
    for literal, name, _spec, _conversion in Formatter().parse(text):
        length += len(literal)
        if name is not None:
            length += FIELD_MAX_CHARS.get(name, 0)
    return length


def render(template: MessageTemplate, values: Mapping[str, str]) -> str:
    """The text of ``template`` with each field replaced by its value in ``values``.

    Values longer than :data:`FIELD_MAX_CHARS` allows are cut and end with an ellipsis;
    values of fields the text does not use are ignored. A field without a value, or a
    value that is not a string, raises :class:`RenderError`.
    """
    problems = [
        FieldError(f"values.{name}", "is missing")
        for name in template.used_fields
        if name not in values
    ]
    problems += [
        FieldError(f"values.{name}", f"must be a string, got {type(values[name]).__name__}")
        for name in template.used_fields
        if name in values and not isinstance(values[name], str)
    ]
    if problems:
        raise RenderError(problems)
    out: list[str] = []
    for literal, name, _spec, _conversion in Formatter().parse(template.text):
        out.append(literal)
        if name is not None:
            out.append(_fit(values[name], FIELD_MAX_CHARS[name]))
    return "".join(out)


def _fit(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def _brace_problem(text: str, error: str) -> str:
    where = _unbalanced_at(text)
    at = f" at character {where + 1}" if where is not None else ""
    if error.startswith("Single '}'"):
        return f"unbalanced '}}'{at}; write '}}}}' for a literal brace"
    if error.startswith("Single '{'") or error.startswith("expected '}'"):
        return (
            f"unbalanced '{{'{at}: a field is opened but never closed; "
            "write '{{' for a literal brace"
        )
    return f"malformed field{at} ({error}); conversions and format specs are not allowed"


def _unbalanced_at(text: str) -> int | None:
    """Index of the first brace that neither opens a closed field nor is doubled."""
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text[i + 1 : i + 2] == char:
            i += 2
        elif char == "{":
            end = text.find("}", i + 1)
            if end < 0 or "{" in text[i + 1 : end]:
                return i
            i = end + 1
        elif char == "}":
            return i
        else:
            i += 1
    return None
