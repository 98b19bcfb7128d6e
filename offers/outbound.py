"""The outbound URL policy: which hosts the engine may call, and at which addresses.

Every URL the engine calls that configuration can change (the message providers' API
bases, ``OFFERS_TWILIO_API_BASE`` and ``OFFERS_GRAPH_API_BASE``) passes this policy:

- its host must be in the allow-list, ``OFFERS_OUTBOUND_ALLOWED_HOSTS``: an exact name
  (``api.twilio.com``), an IP literal (``127.0.0.1``, ``::1``), or a pattern
  ``*.example.com`` for every name under ``example.com`` (not ``example.com`` itself);
- every address the host resolves to must be public: loopback, private, link-local,
  shared, reserved, multicast and unspecified addresses (IPv4, IPv6, and IPv4 written as
  IPv6) are refused unless ``OFFERS_OUTBOUND_ALLOW_PRIVATE`` is set, as the local stack
  does for the provider sandbox on 127.0.0.1. A name is refused if ANY of its addresses
  is, so that a public name made to resolve to 127.0.0.1 is caught.

The settings check names only (:func:`url_refusal`, no DNS while reading
configuration); the provider clients resolve and check the addresses when they are
built (:meth:`OutboundPolicy.check_url`) and again when they connect (see
:mod:`streams.delivery.providers`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from offers.errors import OutboundUrlRefused

if TYPE_CHECKING:
    from offers.settings import Settings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""The addresses a host name resolves to for a TCP connection to a port."""

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (``socket.getaddrinfo``), IPv4 and IPv6.
    Raises :class:`socket.gaierror` when it resolves to none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def normalise_host(host: str) -> str:
    """``host`` as the allow-list compares it: lower case, without a trailing dot or IPv6
    brackets, an IP address in its canonical form."""
    name = host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
    address = _address(name)
    return name if address is None else str(address)


def allow_list_entry(entry: str) -> str:
    """``entry`` of the allow-list, normalised; raises :class:`ValueError` when it is
    neither a host name, an IP address nor a ``*.`` pattern over a name."""
    name = normalise_host(entry)
    if _address(name) is not None:
        return name
    labels = name.removeprefix("*.").split(".")
    if all(_LABEL.fullmatch(label) for label in labels) and not (
        name.startswith("*.") and len(labels) < 2
    ):
        return name
    raise ValueError(
        f"{entry!r} is neither a host name, an IP address nor a pattern such as *.example.com"
    )


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether ``host`` is in the allow-list: equal to an entry, or under a ``*.`` one."""
    name = normalise_host(host)
    for entry in map(normalise_host, allowed):
        if entry.startswith("*."):
            if name.endswith(entry[1:]) and len(name) > len(entry) - 1:
                return True
        elif name == entry:
            return True
    return False


def address_refusal(address: IpAddress) -> str | None:
    """Why ``address`` is not a public one (``"a loopback address"``...), or None when it
    is. IPv4 written as IPv6 (``::ffff:127.0.0.1``, 6to4, Teredo) is judged by its IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            return address_refusal(embedded)
    kinds = (
        ("an unspecified", address.is_unspecified),
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a reserved", address.is_reserved),
        ("a private", address.is_private),
    )
    for kind, found in kinds:
        if found:
            return f"{kind} address"
    return None if address.is_global else "not a public address"


def url_refusal(url: str, allowed: Iterable[str], allow_private: bool) -> str | None:
    """Why ``url`` may not be called, judged by its name only (no DNS), or None: its host
    is not in ``allowed``, or it is an IP address that is not public while
    ``allow_private`` is false."""
    host = urlsplit(url).hostname
    if not host:
        return f"{url} names no host"
    name = normalise_host(host)
    if not host_allowed(name, allowed):
        return f"host {name} of {url} is not in OFFERS_OUTBOUND_ALLOWED_HOSTS"
    address = _address(name)
    reason = None if address is None or allow_private else address_refusal(address)
    if reason is not None:
        return f"host {name} of {url} is {reason} (OFFERS_OUTBOUND_ALLOW_PRIVATE is false)"
    return None


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """The hosts the engine may call and whether non-public addresses are allowed, with
    the resolver that names are looked up with."""

    allowed_hosts: tuple[str, ...]
    allow_private: bool = False
    resolve: Resolver = field(default=resolve_host, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        return cls(settings.outbound_allowed_hosts, settings.outbound_allow_private)

    def check_name(self, url: str) -> str:
        """The normalised host of ``url`` when its name is allowed; raises
        :class:`~offers.errors.OutboundUrlRefused` otherwise. No DNS."""
        host = urlsplit(url).hostname or ""
        reason = url_refusal(url, self.allowed_hosts, self.allow_private)
        if reason is not None:
            raise OutboundUrlRefused(url, host, reason)
        return normalise_host(host)

    def check_url(self, url: str) -> tuple[IpAddress, ...]:
        """The addresses ``url``'s host resolves to, every one of them allowed; raises
        :class:`~offers.errors.OutboundUrlRefused` when its name or any address is not,
        :class:`OSError` when it does not resolve."""
        host = self.check_name(url)
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return self.vetted_addresses(host, port, url)

    def vetted_addresses(self, host: str, port: int, url: str = "") -> tuple[IpAddress, ...]:
        """The addresses to connect to for ``host``: resolved, and every one allowed.
        Raises :class:`~offers.errors.OutboundUrlRefused` when the host is not in the
        allow-list or any address is refused (``url`` names what was called), and
        :class:`OSError` when it does not resolve."""
        shown = url or f"{host}:{port}"
        name = normalise_host(host)
        if not host_allowed(name, self.allowed_hosts):
            raise OutboundUrlRefused(
                shown, name, f"host {name} is not in OFFERS_OUTBOUND_ALLOWED_HOSTS"
            )
        literal = _address(name)
        found = [str(literal)] if literal is not None else self.resolve(name, port)
        addresses = tuple(ipaddress.ip_address(a) for a in found)
        if not addresses:
            raise OSError(f"{name} resolves to no address")
        if not self.allow_private:
            for address in addresses:
                reason = address_refusal(address)
                if reason is not None:
                    raise OutboundUrlRefused(
                        shown,
                        name,
                        f"host {name} resolves to {address}, {reason} "
                        "(OFFERS_OUTBOUND_ALLOW_PRIVATE is false)",
                    )
        return addresses


def _address(name: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


__all__ = [
    "IpAddress",
    "OutboundPolicy",
    "OutboundUrlRefused",
    "Resolver",
    "address_refusal",
    "allow_list_entry",
    "host_allowed",
    "normalise_host",
    "resolve_host",
    "url_refusal",
]
