"""Who a campaign targets and on which signals: triggers, geofences, segment rules, languages."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)
from shapely import Point, Polygon
from shapely.validation import explain_validity

from offers.campaigns import network
from offers.campaigns.errors import field_problem
from offers.campaigns.primitives import StrictLatitude, StrictLongitude, canonical
from offers.campaigns.segments import SegmentRule
from offers.contracts.base import Identifier, ShortText
from offers.contracts.events import Language
from offers.contracts.events import Trigger as Trigger
from simulators.geo import haversine_km

MAX_POLYGON_POINTS = 500
MAX_GEOFENCES = 20
MAX_SEGMENT_RULES = 20


class PortGeofence(BaseModel):
    """A circle around a port of the network."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["port"] = Field("port", description="Always 'port'.")
    port: Identifier = Field(description="Code of the port (e.g. LIV).")
    radius_km: Annotated[float, Strict(), Field(ge=0.1, le=50.0)] | None = Field(
        None, description="Radius in km, 0.1 to 50; the port's own geofence when absent."
    )

    @field_validator("port")
    @classmethod
    def _known_port(cls, code: str) -> str:
        if network.port(code) is None:
            known = ", ".join(sorted(network.port_codes()))
            raise ValueError(f"unknown port {code!r}; known ports: {known}")
        return code

    @property
    def effective_radius_km(self) -> float:
        """The radius in km: the one given, or the port's own geofence radius."""
        if self.radius_km is not None:
            return self.radius_km
        port = network.port(self.port)
        assert port is not None  # checked when the geofence was validated
        return port.geofence_km

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point (``lat``, ``lon``) lies within the radius of the port."""
        port = network.port(self.port)
        assert port is not None  # checked when the geofence was validated
        return float(haversine_km(port.lat, port.lon, lat, lon)) <= self.effective_radius_km


Corner = tuple[StrictLatitude, StrictLongitude]


class PolygonGeofence(BaseModel):
    """An area drawn on the map: its corners as ``[lat, lon]`` pairs, in ring order.

    The ring may be given closed (the first corner repeated at the end) or open; it is
    stored open. It must be simple (no edge crosses another) and enclose an area;
    longitude and latitude are treated as plane coordinates (fine for areas of a few
    hundred km away from the poles and the antimeridian).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["polygon"] = Field("polygon", description="Always 'polygon'.")
    name: ShortText | None = Field(None, description="A label for the area.")
    points: tuple[Corner, ...] = Field(
        min_length=3,
        max_length=MAX_POLYGON_POINTS + 1,
        description="Corners as [lat, lon], at least 3, in order around the area.",
    )

    @field_validator("points")
    @classmethod
    def _simple_ring(cls, points: tuple[Corner, ...]) -> tuple[Corner, ...]:
        if len(points) > 3 and points[0] == points[-1]:
            points = points[:-1]
        if len(set(points)) < 3:
            raise ValueError("a polygon needs at least 3 distinct corners")
        if len(points) > MAX_POLYGON_POINTS:
            raise ValueError(f"a polygon may have at most {MAX_POLYGON_POINTS} corners")
        shape = _shape(points)
        if shape.convex_hull.area <= 0.0:
            raise ValueError("encloses no area: the corners lie on one line")
        if not shape.is_valid:
            raise ValueError(f"is not a simple ring: {_explain(shape)}")
        return points

    @cached_property
    def shape(self) -> Polygon:
        """The area as a shapely polygon (x is the longitude, y the latitude)."""
        return _shape(self.points)

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point (``lat``, ``lon``) lies inside the area or on its border."""
        return bool(self.shape.covers(Point(lon, lat)))


Geofence = Annotated[PortGeofence | PolygonGeofence, Field(discriminator="kind")]


def _shape(points: tuple[Corner, ...]) -> Polygon:
    return Polygon([(lon, lat) for lat, lon in points])


def _explain(shape: Polygon) -> str:
    """Shapely's reason (``Self-intersection[lon lat]``) in words, with lat before lon."""
    reason = str(explain_validity(shape))
    what, _, where = reason.partition("[")
    coordinates = where.rstrip("]").split()
    if len(coordinates) == 2:
        lon, lat = coordinates
        return f"{what.lower()} near lat {float(lat):.6g}, lon {float(lon):.6g}"
    return what.lower()


class Targeting(BaseModel):
    """When and to whom a campaign is considered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    triggers: Annotated[tuple[Trigger, ...], AfterValidator(canonical(Trigger))] = Field(
        min_length=1, description="Signals that make the campaign considered (a set)."
    )
    geofences: tuple[Geofence, ...] = Field(
        (),
        max_length=MAX_GEOFENCES,
        description="Areas of the geofence_enter trigger; required with it, only with it.",
    )
    segment_rules: tuple[SegmentRule, ...] = Field(
        (),
        max_length=MAX_SEGMENT_RULES,
        description="Feature conditions a customer must all meet; none: every customer.",
    )
    languages: Annotated[tuple[Language, ...], AfterValidator(canonical(Language))] = Field(
        (), description="Languages of the customers targeted (a set); none: every language."
    )
    max_position_age_s: Annotated[int, Strict(), Field(ge=10, le=86_400)] = Field(
        900,
        description=(
            "A geofence_enter trigger older than this many seconds is ignored "
            "(10 to 86400; default 15 minutes)."
        ),
    )

    @model_validator(mode="after")
    def _geofences_iff_geofence_trigger(self) -> Targeting:
        wants = Trigger.GEOFENCE_ENTER in self.triggers
        if wants and not self.geofences:
            raise field_problem(
                "geofences", "at least one geofence is required with the geofence_enter trigger"
            )
        if self.geofences and not wants:
            raise field_problem(
                "geofences",
                "are only used by the geofence_enter trigger; add it to triggers or remove "
                "the geofences",
            )
        return self

    @property
    def targeted_languages(self) -> tuple[Language, ...]:
        """The languages targeted: those listed, or all of them when none is."""
        return self.languages or tuple(Language)
