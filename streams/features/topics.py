"""What a social post talks about: a fixed set of topics, and the ports, routes and islands
it names.

Topics (:class:`Topic`), from keyword lists per language (it, en, fr, de; any other
language reads the English list), matched on whole words, case- and accent-exactly as
written in each list but without regard to capitals, in the text and the hashtags:

- ``route``: names a route (:func:`places`), or says "route" (tratta, Strecke, ligne...);
- ``port``: names a port, or the port itself (porto, harbour, Hafen, quai, terminal...);
- ``delay``: delays and cancellations (ritardo, late, Verspätung, annulé...);
- ``price``: prices, fares, discounts, money (prezzi, expensive, teuer, tarif; €, £, $);
- ``onboard``: onboard service: food, cabins, seats, staff, cleanliness, toilets, wifi;
- ``family``: children and families (bambini, kids, Kinder, enfants, pushchair...);
- ``car``: vehicles on board (auto, car, Wohnmobil, voiture, moto, car deck...).

German compounds are matched by their first part where a list entry ends with ``*``
("Familien*" matches "Familienrabatt"); so are Italian and French plurals and genders
where the list gives a stem.

Places (:func:`places`): ports by the names of :data:`simulators.ports.PORTS` and their
names in each language (Genova, Gênes, Genua, Livourne...), or by a pair of port codes
("LIV-OLB"); a route when two ports of one service of :func:`simulators.routes.all_routes`
are named one after the other with at most a few words between them ("Livorno-Olbia",
"from Genoa to Porto Torres", "von Genua nach Olbia"), in the order named; islands
(Sardinia, Corsica, Elba) by their names in the four languages ("Elbe" is the river in
German posts, Elba elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from simulators.ports import PORTS
from simulators.routes import all_routes


class Topic(StrEnum):
    ROUTE = "route"
    PORT = "port"
    DELAY = "delay"
    PRICE = "price"
    ONBOARD = "onboard"
    FAMILY = "family"
    CAR = "car"


@dataclass(frozen=True, slots=True)
class Places:
    """The ports, routes and islands a post names, each once, in the order first named."""

    ports: tuple[str, ...] = ()
    """Port codes, e.g. ``("LIV", "OLB")``."""
    routes: tuple[str, ...] = ()
    """Route ids of :func:`simulators.routes.all_routes`, e.g. ``("LIV-OLB",)``."""
    islands: tuple[str, ...] = ()
    """``sardinia``, ``corsica``, ``elba``."""


PORT_NAMES: Mapping[str, tuple[str, ...]] = {
    "LIV": ("Livorno", "Livourne", "Leghorn"),
    "PIO": ("Piombino",),
    "PFE": ("Portoferraio", "Porto Ferraio"),
    "GOA": ("Genoa", "Genova", "Gênes", "Genes", "Genua", "Gênova"),
    "CIV": ("Civitavecchia",),
    "OLB": ("Olbia",),
    "GAR": ("Golfo Aranci",),
    "BAS": ("Bastia",),
    "PTO": ("Porto Torres",),
    "STE": ("Santa Teresa Gallura", "Santa Teresa", "Santa-Teresa", "S. Teresa"),
    "BON": ("Bonifacio",),
    "CAG": ("Cagliari",),
    "ARB": ("Arbatax",),
}
"""Names of each port in the four languages, besides its name in :data:`PORTS`."""

ISLAND_NAMES: Mapping[str, tuple[str, ...]] = {
    "sardinia": ("Sardegna", "Sardinia", "Sardaigne", "Sardinien"),
    "corsica": ("Corsica", "Corse", "Korsika", "Île de Beauté", "île de beauté"),
    "elba": ("Elba", "Elbe", "isoladelba", "Île d'Elbe", "isola d'Elba"),
}

_MAX_WORDS_BETWEEN_PORTS = 3
"""At most this many words between the two ports of a route ("from Livorno to Olbia")."""

_KEYWORDS: Mapping[Topic, Mapping[str, str]] = {
    Topic.ROUTE: {
        "it": "tratta tratte collegamento collegamenti",
        "en": "route routes",
        "fr": "ligne lignes liaison liaisons",
        "de": "Strecke Strecken Linie Verbindung Fährverbindung*",
    },
    Topic.PORT: {
        "it": "porto porti molo banchina darsena stazione marittima terminal",
        "en": "port ports harbour harbor terminal quay quayside dock docked",
        "fr": "port ports quai terminal gare maritime",
        "de": "Hafen* Häfen Terminal Anleger Kai Fährhafen*",
    },
    Topic.DELAY: {
        "it": (
            "ritardo ritardi ritardata ritardato ritardataria cancellat* annullat* "
            "soppress* posticipat*"
        ),
        "en": "delay delays delayed late cancelled canceled cancellation* postponed",
        "fr": "retard retards retardé* annul* supprimé* reporté*",
        "de": (
            "Verspätung* verspätet* storniert* gestrichen Stornierung* ausgefallen Ausfall "
            "abgesagt zu_spät"
        ),
    },
    Topic.PRICE: {
        "it": (
            "prezzo prezzi costo costi costoso* economic* sconto sconti scontat* tariff* "
            "offerta offerte conveniente euro rimborso rimborsi rapina"
        ),
        "en": (
            "price prices pricey priced overpriced expensive cheap cheaper fare fares cost "
            "costs discount discounts deal value euro euros refund rip-off rip_off"
        ),
        "fr": (
            "prix tarif tarifs cher chère chers chères coût coûte réduction réductions "
            "promo promotion euro euros remboursement remboursé* payant payante racket"
        ),
        "de": (
            "Preis* teuer teure* überteuert günstig* billig* Rabatt* Tarif* Euro kostet "
            "Kosten Abzocke Aufpreis Gebühr* Erstattung* Wucher Frühbucher*"
        ),
    },
    Topic.ONBOARD: {
        "it": (
            "cabina cabine poltrona poltrone bar ristorante cibo colazione cena pranzo "
            "panino panini tramezzino caffè cappuccino cornetto personale equipaggio "
            "marinai steward hostess pulit* sporc* bagno bagni toilette letto letti "
            "lenzuola aria_condizionata wifi moquette area_giochi"
        ),
        "en": (
            "cabin cabins berth berths seat seats lounge lounges bar restaurant cafe "
            "cafeteria canteen food breakfast lunch dinner meal meals coffee sandwich "
            "sandwiches pizza chips crew staff steward stewards clean spotless dirty filthy "
            "toilet toilets loo loos shower showers bed beds sheets aircon "
            "air_conditioning wifi"
        ),
        "fr": (
            "cabine cabines fauteuil fauteuils siège sièges bar restaurant self repas "
            "nourriture petit-déjeuner dîner déjeuner café sandwich équipage personnel "
            "serveurs steward hôtesse propre propres sale sales toilettes douche douches "
            "lit lits literie draps clim climatisation wifi boutique"
        ),
        "de": (
            "Kabine* Sitz Sitze Sitzplatz Sessel Pullmansitz* Bar Restaurant* Bordrestaurant* "
            "Essen Frühstück* Abendessen Mittagessen Kaffee Brötchen Pommes Crew Personal "
            "Besatzung Mitarbeiter* sauber* blitzsauber* schmutzig* dreckig* Toilette* Dusche* "
            "Bett Betten Handtücher Klimaanlage WLAN Kiosk"
        ),
    },
    Topic.FAMILY: {
        "it": (
            "famiglia famiglie famigli* bambini bambino bambina bambine bimbi bimbo bimba "
            "figli figlio figlia figlie neonato passeggino nonni"
        ),
        "en": (
            "family families kids kid children child toddler toddlers baby babies son "
            "daughter pushchair stroller buggy"
        ),
        "fr": "famille familles familial* enfants enfant bébé bébés fils fille filles poussette",
        "de": "Familie* Kinder* Kind Baby Babys Sohn Tochter Kinderwagen Eltern",
    },
    Topic.CAR: {
        "it": (
            "auto macchina macchine camper moto motocicletta garage veicolo veicoli "
            "roulotte carrello"
        ),
        "en": (
            "car cars car_deck vehicle vehicles campervan motorhome camper motorbike "
            "motorcycle trailer caravan roof_box"
        ),
        "fr": "voiture voitures véhicule véhicules camping-car camping-cars moto garage remorque",
        "de": (
            "Auto Autos Autodeck PKW Wagen Wohnmobil* Wohnwagen Camper Motorrad Motorräder "
            "Fahrzeug* Anhänger"
        ),
    },
}
"""Per topic and language, whole words; ``_`` joins words of an expression, ``*`` ends a
stem."""


def topics(text: str, language: str, hashtags: Iterable[str] = ()) -> frozenset[str]:
    """The topics of a post (values of :class:`Topic`) in ``language``."""
    words = _words(text, hashtags)
    found = {
        topic
        for topic, pattern in _topic_patterns(language if language in _LANGUAGES else "en")
        if pattern.search(words)
    }
    if _CURRENCY.search(text):
        found.add(Topic.PRICE)
    named = places(text, hashtags, language)
    if named.routes:
        found.add(Topic.ROUTE)
    if named.ports:
        found.add(Topic.PORT)
    return frozenset(str(topic) for topic in found)


def places(text: str, hashtags: Iterable[str] = (), language: str = "") -> Places:
    """The ports, routes and islands named in a post (``language`` tells "Elbe" apart)."""
    ports: list[tuple[int, int, str]] = []
    for match in _port_pattern().finditer(text):
        ports.append((match.start(), match.end(), _port_of(match.group(0))))
    for match in _CODE_PAIR.finditer(text):
        origin, destination = match.group(1), match.group(2)
        if origin in _CODES and destination in _CODES:
            ports.append((match.start(1), match.end(1), origin))
            ports.append((match.start(2), match.end(2), destination))
    ports.sort()
    routes = [
        f"{a}-{b}"
        for (_, end, a), (start, _, b) in zip(ports, ports[1:], strict=False)
        if f"{a}-{b}" in _route_ids()
        and len(_WORD.findall(text[end:start])) <= _MAX_WORDS_BETWEEN_PORTS
    ]
    words = _words(text, hashtags)
    islands = [
        island for island, pattern in _island_patterns(language == "de") if pattern.search(words)
    ]
    return Places(_unique(code for _, _, code in ports), _unique(routes), tuple(islands))


_LANGUAGES = ("it", "en", "fr", "de")
_WORD = re.compile(r"\w+", re.UNICODE)
_CODES = frozenset(port.code for port in PORTS)
_CODE_PAIR = re.compile(r"\b([A-Z]{3})-([A-Z]{3})\b")
_CURRENCY = re.compile(r"[€£$]")


def _words(text: str, hashtags: Iterable[str]) -> str:
    """The text and the hashtags (without "#"), one line, for whole-word searches."""
    tags = " ".join(tag.lstrip("#") for tag in hashtags)
    return f"{text} {tags}".replace("\n", " ")


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _alternative(entries: Iterable[str]) -> str:
    """A regex alternative of list entries: whole words, ``_`` spaces or hyphens, ``*``
    any ending of letters, ``'`` either apostrophe."""
    parts = []
    for entry in sorted(set(entries), key=len, reverse=True):
        stem = entry.endswith("*")
        body = re.escape(entry.rstrip("*")).replace("_", r"[\s-]+").replace("'", "['’]")
        parts.append(body + (r"\w*" if stem else ""))
    return r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)"


@cache
def _topic_patterns(language: str) -> tuple[tuple[Topic, re.Pattern[str]], ...]:
    return tuple(
        (topic, re.compile(_alternative(by_language[language].split()), re.IGNORECASE))
        for topic, by_language in _KEYWORDS.items()
    )


@cache
def _port_pattern() -> re.Pattern[str]:
    names = [name for port in PORTS for name in (port.name, *PORT_NAMES.get(port.code, ()))]
    return re.compile(_alternative(name.replace(" ", "_") for name in names), re.IGNORECASE)


@cache
def _port_codes_by_name() -> Mapping[str, str]:
    return {
        _folded(name): port.code
        for port in PORTS
        for name in (port.name, *PORT_NAMES.get(port.code, ()))
    }


def _port_of(name: str) -> str:
    return _port_codes_by_name()[_folded(name)]


def _folded(name: str) -> str:
    return " ".join(re.split(r"[\s-]+", name.casefold()))


@cache
def _route_ids() -> frozenset[str]:
    return frozenset(route.route_id for route in all_routes())


@cache
def _island_patterns(german: bool) -> tuple[tuple[str, re.Pattern[str]], ...]:
    patterns = []
    for island, names in ISLAND_NAMES.items():
        kept = [name for name in names if not (german and name == "Elbe")]
        patterns.append(
            (island, re.compile(_alternative(n.replace(" ", "_") for n in kept), re.IGNORECASE))
        )
    return tuple(patterns)
