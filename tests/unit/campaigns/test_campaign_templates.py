"""Message templates: fields checked when saved, SMS length, rendering."""

from __future__ import annotations

from typing import Any

import pytest

from offers.campaigns import MessageTemplate, RenderError, render
from offers.campaigns.templates import (
    FIELD_MAX_CHARS,
    MAX_SMS_CHARS,
    PERSONALISATION_FIELDS,
    rendered_length_bound,
    template_fields,
)
from offers.errors import FieldError
from tests.unit.campaigns.factories import assert_rejected, errors_of

VALUES = {
    "name": "Giulia",
    "port": "Livorno",
    "sailing": "Livorno → Olbia, 1 Jul 22:00",
    "fare": "€ 49.00",
    "discount": "15 %",
    "expiry": "3 Jul 23:59",
}


def template(text: str, channel: str = "sms", language: str = "it") -> dict[str, Any]:
    return {"channel": channel, "language": language, "text": text}


def test_the_personalisation_fields() -> None:
    assert PERSONALISATION_FIELDS == {"name", "port", "sailing", "fare", "discount", "expiry"}


GOOD_TEXTS = [
    pytest.param("Ciao {name}!", id="one-field"),
    pytest.param("{name} {port} {sailing} {fare} {discount} {expiry}", id="every-field"),
    pytest.param("{name}, {name}!", id="field-twice"),
    pytest.param("Nessun campo", id="no-field"),
    pytest.param("Braces {{like this}} and {name}", id="escaped-braces"),
    pytest.param("{{}}", id="only-escaped-braces"),
    pytest.param("Prezzo: {fare} 🙂", id="emoji"),
]


@pytest.mark.parametrize("text", GOOD_TEXTS)
@pytest.mark.parametrize("channel", ["sms", "messenger", "whatsapp", "push"])
def test_good_templates_are_accepted(text: str, channel: str) -> None:
    saved = MessageTemplate.model_validate(template(text, channel))
    assert saved.text == text


BAD_TEXTS = [
    pytest.param(
        "Ciao {nome}", "unknown field '{nome}'; allowed: discount, expiry, fare, name", id="unknown"
    ),
    pytest.param("Ciao {Name}", "unknown field '{Name}'", id="case-matters"),
    pytest.param("Ciao { name }", "unknown field '{ name }'", id="spaces-inside"),
    pytest.param("Ciao {}", "positional field '{}' is not allowed", id="positional"),
    pytest.param("Ciao {0}", "positional field '{0}' is not allowed", id="numbered"),
    pytest.param("Ciao {name!r}", "field '{name}': conversion '!r' is not allowed", id="conv"),
    pytest.param("{fare:>8}", "field '{fare}': format spec ':>8' is not allowed", id="spec"),
    pytest.param(
        "{fare:{port}}", "field '{fare}': format spec ':{port}' is not allowed", id="nest"
    ),
    pytest.param(
        "{name.upper}", "field '{name.upper}': attribute access and indexing", id="attribute"
    ),
    pytest.param("{name[0]}", "field '{name[0]}': attribute access and indexing", id="index"),
    pytest.param("Ciao {name", "unbalanced '{' at character 6", id="unclosed"),
    pytest.param("Ciao { a", "unbalanced '{' at character 6", id="open-brace"),
    pytest.param("Ciao } a", "unbalanced '}' at character 6; write '}}'", id="close-brace"),
    pytest.param("{name}} a", "unbalanced '}' at character 7", id="extra-close"),
    pytest.param("{name!}", "malformed field (unmatched '{' in format spec)", id="bare-bang"),
    pytest.param("", "at least 1 character", id="empty"),
    pytest.param("   ", "must not be blank", id="blank"),
    pytest.param("x" * 1001, "at most 1000 characters", id="too-long"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD_TEXTS)
def test_bad_templates_are_rejected(text: str, fragment: str) -> None:
    assert_rejected(MessageTemplate, template(text, "whatsapp"), "text", fragment)


def test_every_field_problem_is_reported() -> None:
    [error] = errors_of(MessageTemplate, template("{nome} {} {fare:>3}", "push"))
    assert error.field == "text"
    assert error.reason.count(";") >= 2
    assert "'{nome}'" in error.reason
    assert "'{}'" in error.reason
    assert "':>3'" in error.reason


def test_channel_and_language_must_be_known() -> None:
    assert_rejected(MessageTemplate, template("x", channel="fax"), "channel", "'sms'")
    assert_rejected(MessageTemplate, template("x", language="es"), "language", "'it'")
    assert_rejected(MessageTemplate, {**template("x"), "subject": "s"}, "subject", "Extra")


def test_an_sms_must_fit_once_rendered_with_the_longest_values() -> None:
    name_only = "{name}" * (MAX_SMS_CHARS // FIELD_MAX_CHARS["name"])
    assert rendered_length_bound(name_only) == MAX_SMS_CHARS
    MessageTemplate.model_validate(template(name_only))
    one_more = name_only + "!"
    assert_rejected(
        MessageTemplate,
        template(one_more),
        "text",
        f"an SMS may be at most 480 characters once rendered; with the longest value of each "
        f"field this one has {MAX_SMS_CHARS + 1}",
    )
    # other channels only have the limit on the text as written
    MessageTemplate.model_validate(template(one_more, "whatsapp"))


def test_escaped_braces_count_as_one_character() -> None:
    assert rendered_length_bound("{{x}}") == 3
    assert rendered_length_bound("a{fare}b") == 2 + FIELD_MAX_CHARS["fare"]


def test_fields_are_listed_in_order_of_first_use() -> None:
    assert template_fields("{port} {name} {port}") == ("port", "name")
    saved = MessageTemplate.model_validate(template("{expiry}{{name}}{fare}"))
    assert saved.used_fields == ("expiry", "fare")


# --- rendering -----------------------------------------------------------------------------


def test_render_fills_every_field() -> None:
    saved = MessageTemplate.model_validate(
        template("Ciao {name}! {discount} su {sailing} da {port} a {fare}, entro {expiry}.")
    )
    assert render(saved, VALUES) == (
        "Ciao Giulia! 15 % su Livorno → Olbia, 1 Jul 22:00 da Livorno a € 49.00, entro 3 Jul 23:59."
    )


def test_render_keeps_escaped_braces_and_ignores_unused_values() -> None:
    saved = MessageTemplate.model_validate(template("{{codice}}: {name}"))
    assert render(saved, VALUES) == "{codice}: Giulia"


def test_render_does_not_interpret_values() -> None:
    saved = MessageTemplate.model_validate(template("Ciao {name}"))
    assert render(saved, {"name": "{port} {0} %s"}) == "Ciao {port} {0} %s"


def test_render_shortens_values_longer_than_their_limit() -> None:
    saved = MessageTemplate.model_validate(template("Ciao {name}"))
    rendered = render(saved, {"name": "A" * 100})
    assert rendered == "Ciao " + "A" * (FIELD_MAX_CHARS["name"] - 1) + "…"
    assert len(rendered) == len("Ciao ") + FIELD_MAX_CHARS["name"]


def test_render_refuses_missing_and_non_string_values() -> None:
    saved = MessageTemplate.model_validate(template("{name} {fare} {port}"))
    with pytest.raises(RenderError) as info:
        render(saved, {"name": "Giulia", "fare": 49})  # type: ignore[dict-item]
    assert info.value.errors == (
        FieldError("values.port", "is missing"),
        FieldError("values.fare", "must be a string, got int"),
    )


def test_rendered_sms_never_exceeds_the_limit() -> None:
    text = "{name}{port}{sailing}{fare}{discount}{expiry}" * 2
    saved = MessageTemplate.model_validate(template(text))
    huge = {name: "x" * 1_000 for name in PERSONALISATION_FIELDS}
    assert len(render(saved, huge)) == rendered_length_bound(text) <= MAX_SMS_CHARS
