"""The sentiment of a post: its contract (a bounded score, never an error) and obvious
cases in each language."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.features import sentiment as module
from streams.features.sentiment import MAX_CHARS, label, label_of, sentiment

LANGUAGES = ("it", "en", "fr", "de")

OBVIOUS = [
    ("it", "Traversata perfetta, personale gentilissimo e nave pulita. Grazie!", "positive"),
    ("it", "Viaggio bellissimo, cabina comoda, tutto ottimo", "positive"),
    ("it", "Servizio pessimo e cabina sporca, esperienza terribile", "negative"),
    ("it", "Personale maleducato, viaggio orribile", "negative"),
    ("it", "Prenotato il traghetto per domani", "neutral"),
    ("en", "Lovely crew and a spotless ship, thanks for a great trip", "positive"),
    ("en", "Amazing crossing, really comfortable cabin!", "positive"),
    ("en", "Dirty cabin and rude staff, terrible trip", "negative"),
    ("en", "Awful service, never again", "negative"),
    ("en", "Booked our ferry for tomorrow", "neutral"),
    ("fr", "Traversée parfaite, équipage adorable, merci !", "positive"),
    ("fr", "Bateau magnifique et personnel très agréable", "positive"),
    ("fr", "Cabine sale et personnel désagréable, horrible", "negative"),
    ("fr", "Service nul, voyage épouvantable", "negative"),
    ("fr", "Ferry réservé pour demain", "neutral"),
    ("de", "Super nette Crew und ein sauberes Schiff, danke!", "positive"),
    ("de", "Tolle Überfahrt, freundliches Personal", "positive"),
    ("de", "Unfreundliches Personal und schlechtes Essen", "negative"),
    ("de", "Sehr enttäuscht, schreckliche Fahrt", "negative"),
    ("de", "Fähre für morgen gebucht", "neutral"),
]


@pytest.mark.parametrize(("language", "text", "expected"), OBVIOUS)
def test_obvious_posts_get_their_label(language: str, text: str, expected: str) -> None:
    assert label(text, language) == expected, sentiment(text, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_has_its_lexicon_loaded(language: str) -> None:
    # A missing lexicon would score every post 0 (and log it), not fail the stream.
    assert module._loaded(language) is not module._neutral


@pytest.mark.parametrize("language", [*LANGUAGES, "es", "", "EN"])
@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "😍😍😍",
        "🙄",
        "#",
        "!!!???",
        "\x00\ufffd\ud800",
        "Great crossing! Traversata perfetta, merci beaucoup, danke schön",
        "Moby " * 5_000,
        "é" * 100_000,
    ],
    ids=[
        "empty",
        "space",
        "emoji",
        "eye-roll",
        "hash",
        "punctuation",
        "control-and-surrogate",
        "mixed-languages",
        "long-words",
        "long-letters",
    ],
)
def test_any_text_scores_within_bounds(language: str, text: str) -> None:
    score = sentiment(text, language)
    assert math.isfinite(score) and -1.0 <= score <= 1.0
    assert label(text, language) in ("positive", "negative", "neutral")


def test_empty_and_emoji_only_posts() -> None:
    assert sentiment("", "it") == 0.0 and label("", "de") == "neutral"
    assert label("😍😍", "en") == "positive"
    assert label("😍 ❤️", "it") == "positive"
    assert label("😢😭", "fr") == "negative"


def test_only_the_first_characters_are_read() -> None:
    praise = "Lovely crew and a spotless ship. "
    long = "x " * MAX_CHARS + praise * 100
    assert sentiment(long, "en") == 0.0
    assert sentiment(praise + "x " * MAX_CHARS, "en") > 0


def test_other_languages_are_read_as_english() -> None:
    assert sentiment("great trip", "es") == sentiment("great trip", "en") > 0


def test_a_text_that_cannot_be_scored_is_neutral() -> None:
    assert sentiment(None, "en") == 0.0  # type: ignore[arg-type]  # a malformed event
    assert sentiment(42, "it") == 0.0  # type: ignore[arg-type]  # a malformed event


@pytest.mark.parametrize(
    ("score", "expected"),
    [(1.0, "positive"), (0.051, "positive"), (0.05, "neutral"), (0.0, "neutral")]
    + [(-0.05, "neutral"), (-0.051, "negative"), (-1.0, "negative")],
)
def test_label_thresholds(score: float, expected: str) -> None:
    assert label_of(score) == expected


def test_negation_turns_the_sign() -> None:
    # Pattern's negation (it, fr, de) reaches the next word, short words aside
    assert sentiment("The crossing was not good", "en") < 0 < sentiment("It was good", "en")
    assert sentiment("La traversata non è bella", "it") < 0 < sentiment("È bella", "it")
    assert sentiment("La traversée n'est pas belle", "fr") < 0 < sentiment("Très belle", "fr")
    assert sentiment("Die Überfahrt war nicht gut", "de") < 0 < sentiment("Sehr gut", "de")


def test_same_scores_from_several_threads() -> None:
    texts = [(language, text) for language, text, _ in OBVIOUS] * 20
    expected = [sentiment(text, language) for language, text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        scores = list(pool.map(lambda item: sentiment(item[1], item[0]), texts))
    assert scores == expected


def test_each_lexicon_is_loaded_once() -> None:
    for language in LANGUAGES:
        sentiment("ok", language)
    loaded = module._loaded.cache_info().currsize
    for language in LANGUAGES:
        sentiment("ok again", language)
    assert module._loaded.cache_info().currsize == loaded == len(LANGUAGES)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.sampled_from(LANGUAGES))
def test_random_text_is_bounded(text: str, language: str) -> None:
    score = sentiment(text, language)
    assert math.isfinite(score) and -1.0 <= score <= 1.0
