from __future__ import annotations

from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.ports import PORTS, Port, port_named
from streams.features.geo import geofence_port, locate, nearest_port

latitudes = st.floats(min_value=38.0, max_value=45.0, allow_nan=False)
longitudes = st.floats(min_value=7.0, max_value=13.5, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(lat=latitudes, lon=longitudes)
def test_nearest_port_agrees_with_geodesic_within_a_metre(lat: float, lon: float) -> None:
    expected = min(geodesic((lat, lon), (p.lat, p.lon)).km for p in PORTS)
    _, km = nearest_port(lat, lon)
    assert abs(km - expected) * 1000 < 1.0


@settings(max_examples=200, deadline=None)
@given(
    port=st.sampled_from(PORTS),
    bearing=st.floats(min_value=0.0, max_value=360.0),
    km=st.floats(min_value=0.0, max_value=6.0),
)
def test_geofence_agrees_with_geodesic_near_ports(port: Port, bearing: float, km: float) -> None:
    point = geodesic(kilometers=km).destination((port.lat, port.lon), bearing)
    inside = [
        (geodesic((point.latitude, point.longitude), (p.lat, p.lon)).km, p.code)
        for p in PORTS
        if geodesic((point.latitude, point.longitude), (p.lat, p.lon)).km <= p.geofence_km
    ]
    expected = min(inside)[1] if inside else ""
    assert geofence_port(point.latitude, point.longitude) == expected


def test_geofence_boundary_is_inclusive() -> None:
    port = port_named("LIV")
    just_in = geodesic(kilometers=port.geofence_km - 0.001).destination((port.lat, port.lon), 90)
    just_out = geodesic(kilometers=port.geofence_km + 0.001).destination((port.lat, port.lon), 90)
    assert geofence_port(just_in.latitude, just_in.longitude) == "LIV"
    assert geofence_port(just_out.latitude, just_out.longitude) == ""
    assert locate(port.lat, port.lon).nearest_km == 0.0
    assert locate(just_out.latitude, just_out.longitude).nearest_port == "LIV"
