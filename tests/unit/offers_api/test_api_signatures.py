"""X-Twilio-Signature checks of offers_api.signatures, through Twilio's own validator."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from offers_api.signatures import (
    TWILIO_SIGNATURE_HEADER,
    public_url,
    sign_twilio,
    sign_twilio_json,
    verify_twilio,
    verify_twilio_json,
)

TOKEN = "0123456789abcdef0123456789abcdef"
URL = "https://offers.example.com/webhooks/twilio/sms?tenant=moby"
PARAMS = {
    "AccountSid": "AC00000000000000000000000000000000",
    "MessageSid": "SM00000000000000000000000000000001",
    "From": "+393331234567",
    "To": "+390000000000",
    "Body": "STOP",
}

# Published test vectors of twilio-python (tests/unit/test_request_validator.py)
VECTOR_TOKEN = "12345"
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
VECTOR_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
VECTOR_BODY = '{"property": "value", "boolean": true}'
VECTOR_BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
VECTOR_BODY_SIGNATURE = "a9nBmqA0ju/hNViExpshrM61xv4="


@pytest.fixture
def signature() -> str:
    return sign_twilio(TOKEN, URL, PARAMS)


def test_header_name() -> None:
    assert TWILIO_SIGNATURE_HEADER == "X-Twilio-Signature"


def test_known_good_signature_verifies(signature: str) -> None:
    assert verify_twilio(TOKEN, URL, PARAMS, signature)


def test_published_vector() -> None:
    assert sign_twilio(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS) == VECTOR_SIGNATURE
    assert verify_twilio(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE)


def test_parameter_order_does_not_matter(signature: str) -> None:
    assert verify_twilio(TOKEN, URL, dict(reversed(list(PARAMS.items()))), signature)


@pytest.mark.parametrize(
    "url",
    [
        "http://offers.example.com/webhooks/twilio/sms?tenant=moby",  # scheme
        "https://offers.example.org/webhooks/twilio/sms?tenant=moby",  # host
        "https://offers.example.com/webhooks/twilio/sms/?tenant=moby",  # trailing slash
        "https://offers.example.com/internal/webhooks/twilio/sms?tenant=moby",  # path
        "https://offers.example.com/webhooks/twilio/sms?tenant=other",  # query value
        "https://offers.example.com/webhooks/twilio/sms",  # query dropped
        "https://offers.example.com/webhooks/twilio/sms?tenant=moby&x=1",  # query added
    ],
)
def test_any_change_to_the_url_fails(signature: str, url: str) -> None:
    assert not verify_twilio(TOKEN, url, PARAMS, signature)


def test_default_port_is_accepted_either_way(signature: str) -> None:
    # Twilio signs with or without the port; the official validator tries both.
    with_port = URL.replace(".com/", ".com:443/")
    assert verify_twilio(TOKEN, with_port, PARAMS, signature)
    assert verify_twilio(TOKEN, URL, PARAMS, sign_twilio(TOKEN, with_port, PARAMS))


@pytest.mark.parametrize(
    "params",
    [
        {**PARAMS, "Body": "START"},  # a value changed
        {**PARAMS, "NumMedia": "0"},  # a field added
        {name: value for name, value in PARAMS.items() if name != "Body"},  # a field removed
        {**{name: value for name, value in PARAMS.items() if name != "To"}, "to": PARAMS["To"]},
        {},
    ],
)
def test_any_change_to_a_param_fails(signature: str, params: dict[str, str]) -> None:
    assert not verify_twilio(TOKEN, URL, params, signature)


def test_another_token_fails(signature: str) -> None:
    assert not verify_twilio("f" * 32, URL, PARAMS, signature)
    assert not verify_twilio("", URL, PARAMS, signature)


@pytest.mark.parametrize("header", [None, "", "not-a-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8="])
def test_missing_or_wrong_header_fails(header: str | None) -> None:
    assert not verify_twilio(TOKEN, URL, PARAMS, header)


def test_a_tampered_signature_fails(signature: str) -> None:
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert not verify_twilio(TOKEN, URL, PARAMS, flipped)


def test_form_data_with_repeated_fields() -> None:
    # twilio-python's vector for repeated fields, read from Starlette's FormData
    form = FormData(
        [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    )
    assert sign_twilio(VECTOR_TOKEN, VECTOR_URL, form) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    assert verify_twilio(VECTOR_TOKEN, VECTOR_URL, form, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    only_one = FormData([("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "1234")])
    assert not verify_twilio(VECTOR_TOKEN, VECTOR_URL, only_one, "IK+Dwps556ElfBT0I3Rgjkr1wJU=")


def test_shared_key_sha256_signature() -> None:
    settings_header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    signature = sign_twilio(TOKEN, URL, PARAMS, algorithm="HMAC_SHA256")
    assert verify_twilio(TOKEN, URL, PARAMS, signature, signature_settings=settings_header)
    assert not verify_twilio(TOKEN, URL, PARAMS, signature)  # read as HMAC-SHA1
    assert not verify_twilio(TOKEN, URL, PARAMS, signature, signature_settings="algorithm=HMAC_MD5")


# JSON bodies


def test_json_published_vector() -> None:
    url, signature = sign_twilio_json(VECTOR_TOKEN, VECTOR_URL, VECTOR_BODY)
    assert url == f"{VECTOR_URL}&bodySHA256={VECTOR_BODY_HASH}"
    assert signature == VECTOR_BODY_SIGNATURE
    assert verify_twilio_json(VECTOR_TOKEN, url, VECTOR_BODY, VECTOR_BODY_SIGNATURE)


def test_json_round_trip_and_changes() -> None:
    body = '{"from": "+393331234567", "body": "STOP"}'
    url, signature = sign_twilio_json(TOKEN, "https://offers.example.com/webhooks/json", body)
    assert url.startswith("https://offers.example.com/webhooks/json?bodySHA256=")
    assert verify_twilio_json(TOKEN, url, body, signature)
    assert verify_twilio_json(TOKEN, url, body.encode("utf-8"), signature)

    assert not verify_twilio_json(TOKEN, url, body.replace("STOP", "START"), signature)
    assert not verify_twilio_json(TOKEN, url.replace("offers.", "other."), body, signature)
    assert not verify_twilio_json("f" * 32, url, body, signature)
    assert not verify_twilio_json(TOKEN, url, body, None)
    assert not verify_twilio_json(TOKEN, url, b"\xff\xfe", signature)


def test_json_without_body_hash_in_the_url_fails() -> None:
    body = '{"a": 1}'
    signature = sign_twilio(TOKEN, URL, {})
    assert not verify_twilio_json(TOKEN, URL, body, signature)


# The public URL


@pytest.mark.parametrize(
    ("base", "path", "query", "expected"),
    [
        (
            "https://offers.example.com",
            "/webhooks/twilio/sms",
            "tenant=moby",
            "https://offers.example.com/webhooks/twilio/sms?tenant=moby",
        ),
        (
            "https://api.example.com:8443/offers/",
            "/webhooks/twilio/sms",
            "",
            "https://api.example.com:8443/offers/webhooks/twilio/sms",
        ),
        ("http://localhost:8000", "hook", "", "http://localhost:8000/hook"),
    ],
)
def test_public_url(base: str, path: str, query: str, expected: str) -> None:
    assert public_url(base, path, query) == expected


def test_signature_checked_against_the_public_url_not_the_internal_one() -> None:
    public = public_url("https://offers.example.com", "/webhooks/twilio/sms", "tenant=moby")
    signature = sign_twilio(TOKEN, public, PARAMS)
    internal = "http://10.0.0.7:8080/webhooks/twilio/sms?tenant=moby"
    assert verify_twilio(TOKEN, public, PARAMS, signature)
    assert not verify_twilio(TOKEN, internal, PARAMS, signature)
