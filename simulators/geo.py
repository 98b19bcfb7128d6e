"""Distances and positions on the Earth's surface, scalar or vectorised over numpy arrays."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_KM = 6_371.0088
KM_PER_DEGREE_LAT = 111.32

FloatArray = npt.NDArray[np.float64]


def haversine_km(
    lat1: float | FloatArray,
    lon1: float | FloatArray,
    lat2: float | FloatArray,
    lon2: float | FloatArray,
) -> FloatArray:
    """Great-circle distance in km between points given in degrees (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a)), dtype=np.float64)


def offset_point(
    lat: float, lon: float, distance_km: FloatArray, bearing_deg: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Points at ``distance_km`` from (lat, lon) along ``bearing_deg`` (great circle)."""
    phi1, lam1 = np.radians(lat), np.radians(lon)
    delta = np.asarray(distance_km, dtype=np.float64) / EARTH_RADIUS_KM
    theta = np.radians(np.asarray(bearing_deg, dtype=np.float64))
    phi2 = np.arcsin(np.sin(phi1) * np.cos(delta) + np.cos(phi1) * np.sin(delta) * np.cos(theta))
    lam2 = lam1 + np.arctan2(
        np.sin(theta) * np.sin(delta) * np.cos(phi1), np.cos(delta) - np.sin(phi1) * np.sin(phi2)
    )
    return np.degrees(phi2), np.degrees(lam2)


def jitter_km(
    rng: np.random.Generator,
    lat: float | FloatArray,
    lon: float | FloatArray,
    sigma_km: float,
    size: int,
) -> tuple[FloatArray, FloatArray]:
    """Points scattered normally (``sigma_km`` per axis) around (lat, lon) (broadcasts)."""
    dlat = rng.normal(0.0, sigma_km, size) / KM_PER_DEGREE_LAT
    dlon = rng.normal(0.0, sigma_km, size) / (KM_PER_DEGREE_LAT * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon
