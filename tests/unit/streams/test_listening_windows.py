"""Windowed counts of mentions equal a plain recomputation over the same mentions, with
late and redelivered ones; and the state survives a round trip through its changelog."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from typing import Any

import orjson
import pytest
from stream_factories import BASE, at

from offers.contracts import ListeningWindow, SocialAggregate, SocialMention
from offers.contracts.events import SentimentLabel
from streams.features.sentiment import label_of
from streams.features.windows import to_ms
from streams.listening.windows import WINDOW_MS, SubjectWindows, aggregate_key, window_start

LATENESS_MS = 10 * 60_000
SUBJECTS = ("brand", "port:LIV", "route:LIV-OLB")
TOPICS = ("delay", "price", "onboard")


def make_mention(subject: str, post: int, t: float, score: float, topics: tuple[str, ...]) -> Any:
    return SocialMention(
        event_id=f"m{post}-{subject}",
        event_time=at(t),
        subject=subject,
        post_event_id=f"post-{post}",
        score=score,
        label=SentimentLabel(label_of(score)),
        topics=topics,
        language="it",
    )


def arrivals(seed: int, posts: int = 300) -> list[SocialMention]:
    """Mentions of ``posts`` posts over two days, mostly in order with jitter, some
    redelivered, some much later than their time."""
    rng = random.Random(seed)
    found: list[tuple[float, SocialMention]] = []
    for post in range(posts):
        t = rng.uniform(0, 2 * 86_400)
        score = rng.choice([-0.8, -0.3, 0.0, 0.02, 0.4, 0.9])
        topics = tuple(sorted(rng.sample(TOPICS, rng.randint(0, 2))))
        for subject in rng.sample(SUBJECTS, rng.randint(1, 3)):
            mention = make_mention(subject, post, t, score, topics)
            delay = rng.uniform(0, 300) if rng.random() > 0.1 else rng.uniform(600, 7_200)
            found.append((t + delay, mention))
            if rng.random() < 0.15:  # redelivered
                found.append((t + delay + rng.uniform(0, 1_200), mention))
    found.sort(key=lambda item: item[0])
    return [mention for _, mention in found]


def fold(mentions: list[SocialMention], *, round_trip: bool = False) -> dict[str, Any]:
    """The latest published counts by key (as the compacted topic holds them), and the
    late mentions per subject."""
    states: dict[str, SubjectWindows] = {}
    published: dict[str, SocialAggregate] = {}
    for i, mention in enumerate(mentions):
        state = states.setdefault(mention.subject, SubjectWindows(mention.subject))
        added = state.add(mention, lateness_ms=LATENESS_MS, max_post_ids=10_000)
        for aggregate in added.changed:
            published[aggregate.aggregate_key] = aggregate
        if round_trip and i % 7 == 0:
            raw = orjson.dumps(state.to_dict())
            states[mention.subject] = SubjectWindows.from_dict(orjson.loads(raw))
    return {"published": published, "late": {s: w.late for s, w in states.items()}}


def reference(mentions: list[SocialMention]) -> dict[str, Any]:
    """The same counts, recomputed plainly: per subject, a mention is late when older
    than the latest time seen minus the lateness, and each post counts once."""
    latest: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    late: dict[str, int] = defaultdict(int)
    counted: list[SocialMention] = []
    for mention in mentions:
        t = to_ms(mention.event_time)
        if mention.subject in latest and t < latest[mention.subject] - LATENESS_MS:
            late[mention.subject] += 1
            continue
        if (mention.subject, mention.post_event_id) in seen:
            continue
        seen.add((mention.subject, mention.post_event_id))
        latest[mention.subject] = max(latest.get(mention.subject, t), t)
        counted.append(mention)
    groups: dict[str, list[SocialMention]] = defaultdict(list)
    for mention in counted:
        for window in ListeningWindow:
            start = window_start(to_ms(mention.event_time), window)
            groups[aggregate_key(mention.subject, window, start)].append(mention)
    expected: dict[str, dict[str, Any]] = {}
    for key, group in groups.items():
        negative = [m for m in group if m.label is SentimentLabel.NEGATIVE]
        topics: dict[str, int] = defaultdict(int)
        for mention in negative:
            for topic in mention.topics:
                topics[topic] += 1
        expected[key] = {
            "volume": len(group),
            "negative": len(negative),
            "share_negative": len(negative) / len(group),
            "mean_sentiment": sum(m.score for m in group) / len(group),
            "negative_topics": dict(topics),
        }
    return {"expected": expected, "late": dict(late)}


def figures(aggregate: SocialAggregate) -> dict[str, Any]:
    return {
        "volume": aggregate.volume,
        "negative": aggregate.negative,
        "share_negative": aggregate.share_negative,
        "mean_sentiment": aggregate.mean_sentiment,
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("round_trip", [False, True])
def test_windows_equal_a_plain_recomputation(seed: int, round_trip: bool) -> None:
    mentions = arrivals(seed)
    got = fold(mentions, round_trip=round_trip)
    want = reference(mentions)
    assert sum(want["late"].values()) > 0
    assert len(mentions) > len({(m.subject, m.post_event_id) for m in mentions})
    assert got["late"] == {s: want["late"].get(s, 0) for s in got["late"]}
    assert set(got["published"]) == set(want["expected"])
    for key, aggregate in got["published"].items():
        expected = dict(want["expected"][key])
        assert aggregate.negative_topics == expected.pop("negative_topics"), key
        assert figures(aggregate) == pytest.approx(expected), key


def test_windows_are_aligned_and_keyed() -> None:
    state = SubjectWindows("port:LIV")
    added = state.add(
        make_mention("port:LIV", 1, 3_700, -0.5, ("delay",)),
        lateness_ms=LATENESS_MS,
        max_post_ids=10,
    )
    by_window = {a.window: a for a in added.changed}
    quarter = by_window[ListeningWindow.MINUTES_15]
    assert quarter.window_start == BASE + timedelta(hours=1)
    assert quarter.window_end - quarter.window_start == timedelta(minutes=15)
    assert by_window[ListeningWindow.DAY].window_start == BASE.replace(hour=0)
    assert quarter.aggregate_key == "port:LIV|15m|2026-07-14T10:00:00+00:00"
    assert quarter.negative_topics == {"delay": 1}
    assert {a.window for a in added.changed} == set(WINDOW_MS)


def test_a_duplicate_counts_once_and_a_late_one_not_at_all() -> None:
    state = SubjectWindows("brand")
    first = make_mention("brand", 1, 1_000, 0.5, ())
    assert state.add(first, lateness_ms=LATENESS_MS, max_post_ids=10).changed
    assert state.add(first, lateness_ms=LATENESS_MS, max_post_ids=10).duplicate
    state.add(make_mention("brand", 2, 5_000, 0.5, ()), lateness_ms=LATENESS_MS, max_post_ids=10)
    late = state.add(
        make_mention("brand", 3, 5_000 - 601, 0.5, ()), lateness_ms=LATENESS_MS, max_post_ids=10
    )
    assert late.late and not late.changed and state.late == 1
    within = state.add(
        make_mention("brand", 4, 5_000 - 600, 0.5, ()), lateness_ms=LATENESS_MS, max_post_ids=10
    )
    assert not within.late and within.changed


def test_closed_windows_are_forgotten() -> None:
    state = SubjectWindows("brand")
    for post, t in enumerate((0, 900, 1_800, 3 * 86_400)):
        state.add(make_mention("brand", post, t, 0.0, ()), lateness_ms=LATENESS_MS, max_post_ids=5)
    assert {window for window, _ in state.buckets} == set(WINDOW_MS)
    assert len(state.buckets) == 3
