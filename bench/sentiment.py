"""Accuracy of the post sentiment (``streams.features.sentiment``) per language, on two
labelled sets, and its cost per post. Needs no services.

- ``simulated``: ``--posts`` posts per language composed by the simulator
  (``simulators.social.compose_post``), each true sentiment and route drawn uniformly
  with ``--seed``; the truth is the template's (``simulators.social.true_sentiment``);
- ``labelled``: the hand-labelled customer posts of ``tests/data/sentiment_labelled.jsonl``
  (about 50 per language, written in each language, with a few sarcastic ones).

A post is read as :func:`streams.features.sentiment.label` reads it. For each language and
set: accuracy and macro-F1 (the mean of the F1 of positive, negative and neutral), and µs
per post over the simulated set (lexicons loaded beforehand).

Prints JSON and a markdown table (the one in ``docs/sentiment.md``).

    .venv/bin/python -m bench.sentiment [--posts 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from simulators.ports import LANGUAGES
from simulators.routes import all_routes
from simulators.social import Sentiment, compose_post, true_sentiment
from streams.features.sentiment import Label, label, sentiment

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "data" / "sentiment_labelled.jsonl"
LABELS: tuple[Label, ...] = ("positive", "negative", "neutral")

Post = tuple[str, Label]
"""A text and its true label."""


@dataclass(frozen=True, slots=True)
class Measurement:
    posts: int
    accuracy: float
    macro_f1: float


@dataclass(frozen=True, slots=True)
class LanguageResult:
    simulated: Measurement
    labelled: Measurement
    us_per_post: float


def simulated_posts(language: str, count: int = 2000, seed: int = 7) -> list[Post]:
    """``count`` simulated posts in ``language``, true sentiments drawn uniformly."""
    rng = np.random.default_rng(seed)
    routes = all_routes()
    kinds = (Sentiment.POSITIVE, Sentiment.NEGATIVE, Sentiment.NEUTRAL)
    posts: list[Post] = []
    for _ in range(count):
        kind = kinds[int(rng.integers(len(kinds)))]
        text = compose_post(rng, language, kind, routes[int(rng.integers(len(routes)))])["text"]
        posts.append((text, _label(true_sentiment(text, language).value)))
    return posts


def labelled_posts(language: str, path: Path = LABELLED) -> list[Post]:
    """The hand-labelled posts in ``language``."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(row["text"], _label(row["label"])) for row in rows if row["language"] == language]


def measure(posts: Sequence[Post], language: str) -> Measurement:
    """Accuracy and macro-F1 of :func:`label` on ``posts``."""
    truth = [truth for _, truth in posts]
    predicted = [label(text, language) for text, _ in posts]
    return Measurement(len(posts), accuracy(truth, predicted), macro_f1(truth, predicted))


def accuracy(truth: Sequence[Label], predicted: Sequence[Label]) -> float:
    return sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth)


def macro_f1(truth: Sequence[Label], predicted: Sequence[Label]) -> float:
    """Mean F1 of the three labels (a label never predicted nor true counts 0)."""
    scores = []
    for kind in LABELS:
        hits = sum(t == kind and p == kind for t, p in zip(truth, predicted, strict=True))
        wrong = sum(t != kind and p == kind for t, p in zip(truth, predicted, strict=True))
        missed = sum(t == kind and p != kind for t, p in zip(truth, predicted, strict=True))
        scores.append(2 * hits / (2 * hits + wrong + missed) if hits else 0.0)
    return sum(scores) / len(scores)


def us_per_post(posts: Sequence[Post], language: str) -> float:
    """Mean µs of :func:`sentiment` per post (the language's lexicon loaded first),
    without its cache of the latest scores: each post scored afresh."""
    score = sentiment.__wrapped__
    score("", language)
    score(posts[0][0], language)
    started = time.perf_counter()
    for text, _ in posts:
        score(text, language)
    return (time.perf_counter() - started) * 1e6 / len(posts)


def _label(value: str) -> Label:
    for kind in LABELS:
        if value == kind:
            return kind
    raise ValueError(f"not a sentiment label: {value!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=2000, help="simulated posts per language")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result: dict[str, LanguageResult] = {}
    for language in LANGUAGES:
        simulated = simulated_posts(language, args.posts, args.seed)
        result[language] = LanguageResult(
            simulated=measure(simulated, language),
            labelled=measure(labelled_posts(language), language),
            us_per_post=us_per_post(simulated, language),
        )
    by_language = {language: asdict(figures) for language, figures in result.items()}
    print(
        json.dumps({"posts": args.posts, "seed": args.seed, "by_language": by_language}, indent=2)
    )
    print()
    print(
        "| language | simulated: accuracy | simulated: macro-F1 | labelled: accuracy "
        "| labelled: macro-F1 | µs per post |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for language, figures in result.items():
        sim, hand = figures.simulated, figures.labelled
        print(
            f"| {language} | {sim.accuracy:.3f} | {sim.macro_f1:.3f} "
            f"| {hand.accuracy:.3f} ({hand.posts} posts) | {hand.macro_f1:.3f} "
            f"| {figures.us_per_post:.0f} |"
        )


if __name__ == "__main__":
    main()
