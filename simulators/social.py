"""Social posts in Italian, English, German and French, with a known true sentiment.

A post is a template of its language and sentiment, filled with a brand mention and the
customer's island, followed by hashtags. The sentiment is never put on the event: it is
the simulator's truth, recovered from the text by :func:`true_sentiment` (every
template belongs to exactly one sentiment).

:func:`route_posts` writes posts that all name one route, at given times: a burst of
complaints about it (a cancelled or late sailing), or the kind posts after it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from offers.contracts.events import SocialPost
from simulators.ports import port_named
from simulators.routes import Route


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEUTRAL = "neutral"


BRANDS: tuple[str, ...] = ("Moby", "@mobylines", "Moby Lines", "Tirrenia")
_BRAND_SHARES = (0.4, 0.3, 0.15, 0.15)
PLATFORMS: tuple[str, ...] = ("instagram", "facebook", "x", "tiktok", "messenger", "whatsapp")
_PLATFORM_SHARES = (0.35, 0.3, 0.15, 0.1, 0.05, 0.05)

_ISLAND_OF_PORT = {"OLB": 0, "GAR": 0, "PTO": 0, "CAG": 0, "ARB": 0, "BAS": 1, "BON": 1, "PFE": 2}
_ISLAND_NAMES = {
    "it": ("Sardegna", "Corsica", "Elba"),
    "en": ("Sardinia", "Corsica", "Elba"),
    "de": ("Sardinien", "Korsika", "Elba"),
    "fr": ("Sardaigne", "Corse", "Elbe"),
}
_ISLAND_TAGS = (("#sardegna", "#sardinia"), ("#corsica", "#corse"), ("#elba", "#isoladelba"))
_LANGUAGE_TAGS = {
    "it": ("#vacanze", "#traghetto", "#mare", "#estate"),
    "en": ("#holiday", "#ferry", "#travel", "#summer"),
    "de": ("#urlaub", "#fähre", "#reisen", "#sommer"),
    "fr": ("#vacances", "#ferry", "#voyage", "#été"),
}

_TEMPLATES: dict[str, dict[Sentiment, tuple[str, ...]]] = {
    "it": {
        Sentiment.POSITIVE: (
            "Traversata perfetta con {brand}, tra poche ore siamo in {island}!",
            "Personale gentilissimo e nave pulita, grazie {brand} per il viaggio {route}",
            "Che bello tornare in {island}, {brand} sempre puntuale",
        ),
        Sentiment.NEGATIVE: (
            "Ritardo di due ore sulla {route}, {brand} nessuna comunicazione. Vergogna",
            "Prezzi assurdi per andare in {island}, {brand} ci state derubando",
            "Cabina sporca e aria condizionata rotta, mai più {brand}",
        ),
        Sentiment.NEUTRAL: (
            "Qualcuno sa se {brand} fa sconti per famiglie sulla {route}?",
            "Domani partenza per la {island} con {brand}, a che ora conviene arrivare al porto?",
            "Prenotato il traghetto {route} con {brand}",
        ),
    },
    "en": {
        Sentiment.POSITIVE: (
            "Smooth crossing with {brand}, {island} here we come!",
            "Lovely crew and a spotless ship, thanks {brand} for a great {route} trip",
            "Back to {island} again, {brand} right on time as usual",
        ),
        Sentiment.NEGATIVE: (
            "Two hours late on {route} and not a word from {brand}. Awful",
            "Ridiculous prices to get to {island}, {brand} this is a rip-off",
            "Dirty cabin and broken air conditioning, never again {brand}",
        ),
        Sentiment.NEUTRAL: (
            "Does anyone know if {brand} has family discounts on {route}?",
            "Off to {island} tomorrow with {brand}, how early should we be at the port?",
            "Booked our {route} ferry with {brand}",
        ),
    },
    "de": {
        Sentiment.POSITIVE: (
            "Entspannte Überfahrt mit {brand}, {island} wir kommen!",
            "Super nette Crew und sauberes Schiff, danke {brand} für die Fahrt {route}",
            "Endlich wieder {island}, {brand} wie immer pünktlich",
        ),
        Sentiment.NEGATIVE: (
            "Zwei Stunden Verspätung auf {route} und keine Info von {brand}. Unmöglich",
            "Völlig überteuert nach {island}, {brand} das ist Abzocke",
            "Schmutzige Kabine und kaputte Klimaanlage, nie wieder {brand}",
        ),
        Sentiment.NEUTRAL: (
            "Weiß jemand, ob {brand} Familienrabatt auf {route} anbietet?",
            "Morgen geht es mit {brand} nach {island}, wann sollten wir am Hafen sein?",
            "Fähre {route} bei {brand} gebucht",
        ),
    },
    "fr": {
        Sentiment.POSITIVE: (
            "Traversée parfaite avec {brand}, la {island} nous voilà !",
            "Équipage adorable et bateau impeccable, merci {brand} pour le trajet {route}",
            "De retour en {island}, {brand} toujours à l'heure",
        ),
        Sentiment.NEGATIVE: (
            "Deux heures de retard sur {route} et aucune info de {brand}. Honteux",
            "Des prix délirants pour aller en {island}, {brand} c'est du vol",
            "Cabine sale et clim en panne, plus jamais {brand}",
        ),
        Sentiment.NEUTRAL: (
            "Quelqu'un sait si {brand} fait des réductions famille sur {route} ?",
            "Départ demain pour la {island} avec {brand}, à quelle heure arriver au port ?",
            "Ferry {route} réservé avec {brand}",
        ),
    },
}
_SENTIMENT_ORDER = (Sentiment.POSITIVE, Sentiment.NEGATIVE, Sentiment.NEUTRAL)


def draw_sentiments(
    rng: np.random.Generator, brand_affinity: npt.NDArray[np.float32]
) -> list[Sentiment]:
    """One true sentiment per customer: fans lean positive, detractors negative."""
    affinity = brand_affinity.astype(np.float64)
    weights = np.stack(
        [np.exp(1.5 * affinity), 0.6 * np.exp(-1.5 * affinity), np.ones_like(affinity)], axis=1
    )
    cumulative = np.cumsum(weights, axis=1)
    draws = rng.random(len(affinity))[:, None] * cumulative[:, -1:]
    picks = np.minimum((draws >= cumulative).sum(axis=1), 2)
    return [_SENTIMENT_ORDER[int(k)] for k in picks]


def compose_post(
    rng: np.random.Generator,
    language: str,
    sentiment: Sentiment,
    route: Route,
    *,
    naming_route: bool = False,
) -> dict[str, Any]:
    """The platform, text, brand mentions and hashtags of one post; with ``naming_route``
    its text names the route."""
    templates = tuple(
        t for t in _TEMPLATES[language][sentiment] if not naming_route or "{route}" in t
    )
    template = templates[int(rng.integers(len(templates)))]
    brand = BRANDS[int(rng.choice(len(BRANDS), p=_BRAND_SHARES))]
    island = _ISLAND_OF_PORT.get(route.destination, _ISLAND_OF_PORT.get(route.origin, 0))
    body = template.format(
        brand=brand,
        island=_ISLAND_NAMES[language][island],
        route=f"{port_named(route.origin).name}-{port_named(route.destination).name}",
    )
    tags = [_ISLAND_TAGS[island][int(rng.integers(2))]]
    extra = _LANGUAGE_TAGS[language]
    tags += [
        extra[int(k)] for k in rng.choice(len(extra), size=int(rng.integers(0, 3)), replace=False)
    ]
    if rng.random() < 0.3:
        tags.append("#mobylines")
    return {
        "platform": PLATFORMS[int(rng.choice(len(PLATFORMS), p=_PLATFORM_SHARES))],
        "language": language,
        "text": " ".join([body, *tags]),
        "brand_mentions": (brand,),
        "hashtags": tuple(tags),
    }


def route_posts(
    route: Route,
    sentiment: Sentiment,
    times: Sequence[datetime],
    customers: Sequence[str],
    *,
    seed: int,
    languages: Sequence[str] = tuple(_TEMPLATES),
) -> list[SocialPost]:
    """One post of ``sentiment`` naming ``route`` at each of ``times``, by ``customers``
    and in ``languages`` taken in turn (both cycled).

    The same arguments give the same posts, event ids included.
    """
    if not customers or not languages:
        raise ValueError("route_posts: customers and languages must not be empty")
    rng = np.random.default_rng(seed)
    posts = []
    for k, moment in enumerate(times):
        language = languages[k % len(languages)]
        fields = compose_post(rng, language, sentiment, route, naming_route=True)
        digest = hashlib.blake2b(f"{seed}|{route.route_id}|{k}".encode(), digest_size=8)
        posts.append(
            SocialPost(
                event_id=f"post-{sentiment.value}-{digest.hexdigest()}",
                event_time=moment,
                customer_id=customers[k % len(customers)],
                **fields,
            )
        )
    return posts


def _pattern(template: str) -> str:
    parts = re.split(r"(\{brand\}|\{island\}|\{route\})", template)
    brands = "|".join(re.escape(b) for b in BRANDS)
    pieces = {"{brand}": f"(?:{brands})", "{island}": r"\S+", "{route}": r"[^-]+-[^-]+?"}
    return "".join(pieces.get(part, re.escape(part)) for part in parts) + r"(?: #\S+)*"


def true_sentiment(text: str, language: str) -> Sentiment:
    """The sentiment a simulated post was written with (raises if the text is not one)."""
    for sentiment, templates in _TEMPLATES[language].items():
        if any(re.fullmatch(_pattern(template), text) for template in templates):
            return sentiment
    raise ValueError(f"not a simulated {language} post: {text!r}")
