"""The ports and routes a campaign may name: those of the operator's network.

The network is the one of ``simulators.ports`` and ``simulators.routes`` (real ports,
real routes); campaigns are validated against it when they are saved.
"""

from __future__ import annotations

from functools import lru_cache

from simulators.ports import PORTS, Port
from simulators.routes import all_routes


@lru_cache(maxsize=1)
def _ports() -> dict[str, Port]:
    return {port.code: port for port in PORTS}


@lru_cache(maxsize=1)
def route_ids() -> frozenset[str]:
    """The ids of every route (``"LIV-OLB"``), both directions."""
    return frozenset(route.route_id for route in all_routes())


def port_codes() -> frozenset[str]:
    """The codes of every port (``"LIV"``)."""
    return frozenset(_ports())


def port(code: str) -> Port | None:
    """The port with ``code``, or None if there is none."""
    return _ports().get(code)


@lru_cache(maxsize=1)
def _route_ports() -> dict[str, tuple[str, str]]:
    return {route.route_id: (route.origin, route.destination) for route in all_routes()}


def route_ports(route_id: str) -> tuple[str, str] | None:
    """The codes of the port a route leaves from and of the one it arrives at, or None
    for a route not in the network."""
    return _route_ports().get(route_id)
