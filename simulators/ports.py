"""Ferry ports of the Tyrrhenian and Ligurian seas, and the home cities of customers.

Coordinates are those of the ferry terminals (4 decimals, about 10 m); time zones are
IANA names. Each port has a geofence radius and the direction travellers come from on
land (``approach_bearing_deg`` seen from the port, with a spread), so that trips never
start at sea.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Port:
    """A ferry port and its geofence."""

    code: str
    name: str
    lat: float
    lon: float
    timezone: str
    country: str
    geofence_km: float
    approach_bearing_deg: float
    approach_spread_deg: float
    approach_max_km: float = 60.0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class HomeCity:
    """Where customers live: position, time zone, share of customers and languages."""

    code: str
    name: str
    lat: float
    lon: float
    timezone: str
    weight: float
    """Relative share of customers living there."""
    languages: tuple[float, float, float, float]
    """Probabilities of it, en, de, fr."""


PORTS: tuple[Port, ...] = (
    Port("LIV", "Livorno", 43.5580, 10.2990, "Europe/Rome", "IT", 2.5, 90.0, 60.0),
    Port("PIO", "Piombino", 42.9262, 10.5483, "Europe/Rome", "IT", 1.5, 40.0, 35.0),
    Port("PFE", "Portoferraio", 42.8133, 10.3290, "Europe/Rome", "IT", 1.5, 200.0, 40.0, 14.0),
    Port("GOA", "Genoa", 44.4105, 8.9080, "Europe/Rome", "IT", 3.0, 10.0, 60.0),
    Port("CIV", "Civitavecchia", 42.0950, 11.7870, "Europe/Rome", "IT", 2.5, 110.0, 40.0),
    Port("OLB", "Olbia", 40.9213, 9.5176, "Europe/Rome", "IT", 2.0, 240.0, 50.0),
    Port("GAR", "Golfo Aranci", 40.9990, 9.6200, "Europe/Rome", "IT", 1.5, 220.0, 25.0, 40.0),
    Port("BAS", "Bastia", 42.6980, 9.4530, "Europe/Paris", "FR", 2.0, 200.0, 25.0),
    Port("PTO", "Porto Torres", 40.8400, 8.4050, "Europe/Rome", "IT", 2.0, 150.0, 40.0),
    Port("STE", "Santa Teresa Gallura", 41.2430, 9.1940, "Europe/Rome", "IT", 1.5, 170.0, 30.0),
    Port("BON", "Bonifacio", 41.3880, 9.1600, "Europe/Paris", "FR", 1.5, 10.0, 35.0),
    Port("CAG", "Cagliari", 39.2140, 9.1100, "Europe/Rome", "IT", 2.5, 0.0, 45.0),
    Port("ARB", "Arbatax", 39.9390, 9.7060, "Europe/Rome", "IT", 1.5, 260.0, 40.0, 45.0),
)

_IT = (0.90, 0.06, 0.02, 0.02)
_DE = (0.03, 0.12, 0.85, 0.00)
_FR = (0.04, 0.08, 0.00, 0.88)

HOME_CITIES: tuple[HomeCity, ...] = (
    HomeCity("MIL", "Milan", 45.4642, 9.1900, "Europe/Rome", 16.0, _IT),
    HomeCity("ROM", "Rome", 41.9028, 12.4964, "Europe/Rome", 15.0, _IT),
    HomeCity("FLR", "Florence", 43.7696, 11.2558, "Europe/Rome", 7.0, _IT),
    HomeCity("TRN", "Turin", 45.0703, 7.6869, "Europe/Rome", 7.0, _IT),
    HomeCity("BLQ", "Bologna", 44.4949, 11.3426, "Europe/Rome", 5.0, _IT),
    HomeCity("GEN", "Genoa", 44.4056, 8.9463, "Europe/Rome", 4.0, _IT),
    HomeCity("PSA", "Pisa", 43.7228, 10.4017, "Europe/Rome", 3.0, _IT),
    HomeCity("SSR", "Sassari", 40.7259, 8.5557, "Europe/Rome", 3.0, _IT),
    HomeCity("CAL", "Cagliari", 39.2238, 9.1217, "Europe/Rome", 3.0, _IT),
    HomeCity("MUC", "Munich", 48.1351, 11.5820, "Europe/Berlin", 6.0, _DE),
    HomeCity("STR", "Stuttgart", 48.7758, 9.1829, "Europe/Berlin", 4.0, _DE),
    HomeCity("VIE", "Vienna", 48.2082, 16.3738, "Europe/Vienna", 3.0, _DE),
    HomeCity("ZRH", "Zurich", 47.3769, 8.5417, "Europe/Zurich", 4.0, (0.10, 0.15, 0.65, 0.10)),
    HomeCity("PAR", "Paris", 48.8566, 2.3522, "Europe/Paris", 6.0, _FR),
    HomeCity("LYS", "Lyon", 45.7640, 4.8357, "Europe/Paris", 4.0, _FR),
    HomeCity("MRS", "Marseille", 43.2965, 5.3698, "Europe/Paris", 3.0, _FR),
    HomeCity("LON", "London", 51.5074, -0.1278, "Europe/London", 4.0, (0.03, 0.95, 0.00, 0.02)),
)

LANGUAGES: tuple[str, ...] = ("it", "en", "de", "fr")


def port_named(code: str) -> Port:
    """The port with ``code`` (e.g. ``"LIV"``)."""
    for port in PORTS:
        if port.code == code:
            return port
    raise KeyError(f"unknown port {code!r}")


def port_index(code: str) -> int:
    """Position of the port with ``code`` in :data:`PORTS`."""
    return PORTS.index(port_named(code))
