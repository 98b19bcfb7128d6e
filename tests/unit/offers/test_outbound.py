"""The outbound URL policy: which hosts may be called, which addresses are refused, and
the settings that carry it (also through the environment of a child process)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest
from pydantic import ValidationError

from offers.errors import OffersError, OutboundUrlRefused
from offers.outbound import OutboundPolicy, allow_list_entry, host_allowed, url_refusal
from offers.settings import Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``OFFERS_*`` variable from the outer environment leaks into a test."""
    for name in list(os.environ):
        if name.upper().startswith("OFFERS_"):
            monkeypatch.delenv(name)


def answers(*addresses: str) -> OutboundPolicy:
    """A policy allowing ``api.example.com``, whose name resolves to ``addresses``."""

    def resolve(host: str, port: int) -> Sequence[str]:
        assert host == "api.example.com"
        return addresses

    return OutboundPolicy(("api.example.com",), resolve=resolve)


def test_the_default_hosts_are_twilio_and_meta() -> None:
    settings = Settings(environment="test")
    assert settings.outbound_allowed_hosts == ("api.twilio.com", "graph.facebook.com")
    assert not settings.outbound_allow_private


def test_an_allowed_host_passes_by_name_and_by_address() -> None:
    policy = answers("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert policy.check_name("https://API.example.com./v21.0/me") == "api.example.com"
    checked = policy.check_url("https://api.example.com/v21.0/me")
    assert [str(a) for a in checked] == ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    assert url_refusal("https://api.example.com", ("api.example.com",), False) is None


def test_a_pattern_allows_the_names_under_a_domain_only() -> None:
    allowed = ("*.example.com",)
    assert host_allowed("api.example.com", allowed)
    assert host_allowed("eu.api.example.com", allowed)
    assert not host_allowed("example.com", allowed)
    assert not host_allowed("badexample.com", allowed)
    assert not host_allowed("example.com.evil.net", allowed)


def test_a_host_not_in_the_list_is_refused_with_the_url_host_and_why() -> None:
    policy = OutboundPolicy(("api.twilio.com",))
    url = "https://api.twilio.com.evil.net/2010-04-01"
    with pytest.raises(OutboundUrlRefused) as refused:
        policy.check_url(url)
    error = refused.value
    assert isinstance(error, OffersError)
    assert (error.url, error.host) == (url, "api.twilio.com.evil.net")
    assert str(error) == (
        f"refused to call {url}: host api.twilio.com.evil.net of {url} is not in "
        "OFFERS_OUTBOUND_ALLOWED_HOSTS"
    )


def test_credentials_in_a_url_do_not_change_its_host() -> None:
    policy = OutboundPolicy(("api.twilio.com",))
    with pytest.raises(OutboundUrlRefused, match="host evil.net of"):
        policy.check_name("https://api.twilio.com@evil.net/")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback"),
        ("127.8.9.10", "a loopback"),
        ("10.1.2.3", "a private"),
        ("172.16.0.9", "a private"),
        ("192.168.1.20", "a private"),
        ("169.254.169.254", "a link-local"),
        ("0.0.0.0", "an unspecified"),
        ("224.0.0.251", "a multicast"),
        ("240.0.0.1", "a reserved"),
        ("100.64.0.1", "not a public"),
        ("::1", "a loopback"),
        ("fe80::1", "a link-local"),
        ("fd00::5", "a private"),
        ("ff02::1", "a multicast"),
        ("::", "an unspecified"),
        ("::ffff:127.0.0.1", "a loopback"),
        ("::ffff:10.0.0.1", "a private"),
        ("::ffff:169.254.169.254", "a link-local"),
        ("2002:7f00:1::", "a loopback"),
    ],
)
def test_a_non_public_address_is_refused_unless_allowed(address: str, kind: str) -> None:
    url = f"http://[{address}]:8080/" if ":" in address else f"http://{address}:8080/"
    refusing = OutboundPolicy((address,))
    with pytest.raises(OutboundUrlRefused, match=f"is {kind} address") as refused:
        refusing.check_name(url)
    assert refused.value.url == url
    with pytest.raises(OutboundUrlRefused, match=f"resolves to .*, {kind} address"):
        answers(address).check_url("https://api.example.com/")
    allowing = OutboundPolicy((address,), allow_private=True)
    assert allowing.check_name(url)
    assert [str(a) for a in allowing.check_url(url)] != []


def test_a_public_ip_literal_needs_no_lookup() -> None:
    def no_dns(host: str, port: int) -> Sequence[str]:
        raise AssertionError("an IP literal was looked up")

    policy = OutboundPolicy(("8.8.8.8", "2001:4860:4860::8888"), resolve=no_dns)
    assert [str(a) for a in policy.check_url("https://8.8.8.8/")] == ["8.8.8.8"]
    assert policy.check_name("https://[2001:4860:4860:0::8888]/") == "2001:4860:4860::8888"


def test_a_name_resolving_to_a_loopback_address_is_refused() -> None:
    """``localhost`` is looked up for real (``socket.getaddrinfo``)."""
    policy = OutboundPolicy(("localhost",))
    assert policy.check_name("http://localhost:8099") == "localhost"
    with pytest.raises(OutboundUrlRefused, match=r"host localhost resolves to (127\.|::1)"):
        policy.check_url("http://localhost:8099")
    allowing = OutboundPolicy(("localhost",), allow_private=True)
    assert all(a.is_loopback for a in allowing.check_url("http://localhost:8099"))


def test_a_name_is_refused_if_any_of_its_addresses_is() -> None:
    with pytest.raises(OutboundUrlRefused, match=r"resolves to 10\.0\.0\.7, a private"):
        answers("93.184.215.14", "10.0.0.7").check_url("https://api.example.com/")


def test_a_name_that_does_not_resolve_is_an_os_error() -> None:
    policy = OutboundPolicy(("no-such-host.invalid",))
    with pytest.raises(OSError):
        policy.check_url("https://no-such-host.invalid/")


@pytest.mark.parametrize(
    ("field", "url", "reason"),
    [
        (
            "twilio_api_base",
            "https://api.twilio.example",
            "is not in OFFERS_OUTBOUND_ALLOWED_HOSTS",
        ),
        ("graph_api_base", "http://10.0.0.8:8080", "is not in OFFERS_OUTBOUND_ALLOWED_HOSTS"),
    ],
)
def test_settings_refuse_a_provider_url_of_another_host(field: str, url: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=f"OFFERS_{field.upper()}: host .* of {url} {reason}"):
        Settings(**{field: url})


def test_settings_refuse_a_listed_private_address_unless_allowed() -> None:
    listed = ("api.twilio.com", "graph.facebook.com", "127.0.0.1")
    with pytest.raises(
        ValidationError, match=r"OFFERS_GRAPH_API_BASE: .* is a loopback address"
    ) as refused:
        Settings(graph_api_base="http://127.0.0.1:8099", outbound_allowed_hosts=listed)
    assert "OFFERS_TWILIO_API_BASE" not in str(refused.value)
    settings = Settings(
        graph_api_base="http://127.0.0.1:8099",
        outbound_allowed_hosts=listed,
        outbound_allow_private=True,
    )
    assert settings.graph_api_base == "http://127.0.0.1:8099"


def test_settings_check_names_without_a_lookup() -> None:
    """A listed name that resolves nowhere is accepted: the clients check addresses."""
    settings = Settings(
        twilio_api_base="https://twilio.proxy.invalid",
        outbound_allowed_hosts=["*.proxy.invalid", "graph.facebook.com"],
    )
    assert settings.twilio_api_base == "https://twilio.proxy.invalid"


@pytest.mark.parametrize("entry", ["*", "*.com.", "http://api.twilio.com", "a b", ""])
def test_a_malformed_allow_list_entry_is_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        allow_list_entry(entry)
    with pytest.raises(ValidationError, match="outbound_allowed_hosts"):
        Settings(outbound_allowed_hosts=[entry, "api.twilio.com", "graph.facebook.com"])


def test_allow_list_entries_are_normalised() -> None:
    settings = Settings(
        outbound_allowed_hosts=["API.Twilio.com.", "graph.facebook.com", "api.twilio.com", "[::1]"]
    )
    assert settings.outbound_allowed_hosts == ("api.twilio.com", "graph.facebook.com", "::1")


def test_the_allow_list_round_trips_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a child process started with :meth:`Settings.as_environment` reads back."""
    settings = Settings(
        environment="test",
        twilio_api_base="http://127.0.0.1:8099",
        graph_api_base="http://sandbox.local.test:8099",
        outbound_allowed_hosts=["127.0.0.1", "*.local.test", "api.twilio.com"],
        outbound_allow_private=True,
    )
    env = settings.as_environment()
    assert env["OFFERS_OUTBOUND_ALLOWED_HOSTS"] == '["127.0.0.1", "*.local.test", "api.twilio.com"]'
    assert env["OFFERS_OUTBOUND_ALLOW_PRIVATE"] == "True"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    child = Settings()
    assert child == settings
    assert child.outbound_allowed_hosts == ("127.0.0.1", "*.local.test", "api.twilio.com")
    assert child.outbound_allow_private


def test_the_default_allow_list_round_trips_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in Settings().as_environment().items():
        monkeypatch.setenv(name, value)
    assert Settings() == Settings()
    assert Settings().outbound_allowed_hosts == ("api.twilio.com", "graph.facebook.com")
