"""Nearest port, distances and geofences, over the ports of :mod:`simulators.ports`.

Distances are geodesic on the WGS-84 ellipsoid (``geopy.distance.geodesic``). To find
the nearest port without 13 geodesic computations per ping, a vectorised haversine
ranks the ports first; the spherical distance is within 0.6 % of the geodesic one, so
only the ports within 1 % (+ 10 m) of the smallest haversine distance can be nearest,
and those few candidates (usually one) are measured geodesically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from geopy.distance import geodesic

from simulators.geo import haversine_km as great_circle_km
from simulators.ports import PORTS, Port

_CANDIDATE_RATIO = 1.01
_CANDIDATE_SLACK_KM = 0.01


@dataclass(frozen=True, slots=True)
class PortIndex:
    """Ports with their coordinates as arrays (degrees), for the haversine ranking."""

    ports: tuple[Port, ...]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    geofence_km: npt.NDArray[np.float64]


def index_ports(ports: tuple[Port, ...] = PORTS) -> PortIndex:
    lat = np.array([p.lat for p in ports], dtype=np.float64)
    lon = np.array([p.lon for p in ports], dtype=np.float64)
    radii = np.array([p.geofence_km for p in ports], dtype=np.float64)
    return PortIndex(tuple(ports), lat, lon, radii)


_DEFAULT_INDEX = index_ports()


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance in km on the WGS-84 ellipsoid."""
    return float(geodesic((lat1, lon1), (lat2, lon2)).km)


def haversine_km(lat: float, lon: float, index: PortIndex) -> npt.NDArray[np.float64]:
    """Great-circle distances from a point to every port of ``index``, in km."""
    return great_circle_km(lat, lon, index.lat, index.lon)


@dataclass(frozen=True, slots=True)
class Proximity:
    """Where a point stands relative to the ports."""

    nearest_port: str
    nearest_km: float
    geofence_port: str
    """The nearest port whose geofence (distance <= radius) holds the point, '' if none."""


def locate(lat: float, lon: float, index: PortIndex = _DEFAULT_INDEX) -> Proximity:
    """The nearest port, its geodesic distance, and the geofence holding the point."""
    rough = haversine_km(lat, lon, index)
    limit = float(rough.min()) * _CANDIDATE_RATIO + _CANDIDATE_SLACK_KM
    fence = index.geofence_km * _CANDIDATE_RATIO + _CANDIDATE_SLACK_KM
    candidates = np.flatnonzero((rough <= limit) | (rough <= fence))
    measured = sorted(
        (geodesic_km(lat, lon, index.ports[i].lat, index.ports[i].lon), int(i)) for i in candidates
    )
    nearest_km, nearest = measured[0]
    inside = [i for km, i in measured if km <= index.ports[i].geofence_km]
    geofence = index.ports[inside[0]].code if inside else ""
    return Proximity(index.ports[nearest].code, nearest_km, geofence)


def nearest_port(lat: float, lon: float) -> tuple[str, float]:
    """The code of the nearest port and its geodesic distance in km."""
    proximity = locate(lat, lon)
    return proximity.nearest_port, proximity.nearest_km


def geofence_port(lat: float, lon: float) -> str:
    """The port whose geofence holds the point, '' if none."""
    return locate(lat, lon).geofence_port
