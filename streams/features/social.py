"""The customer-social view: sentiment, posts, brand mentions and interests over 7 days.

All windows hold the posts with ``T - 7 days < t <= T``, ``T`` the latest post time of
the customer; posts older than the watermark are ignored. Sentiment comes from the text
(:func:`streams.features.sentiment.sentiment`), mentions and interest tags from
:mod:`streams.features.interests`. ``language`` is that of the post with the greatest
event time (ties: the one that arrived last).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from offers.contracts.events import SocialPost
from streams.features.interests import brand_mentions, interest_tags
from streams.features.rows import Row, Update
from streams.features.sentiment import sentiment
from streams.features.windows import Items, Watermark, from_ms, lateness_ms, merge, observe, to_ms

POSTS_WINDOW_MS = 7 * 86_400_000

PostSummary = tuple[float, int, tuple[str, ...]]
"""A post reduced to (sentiment, brand mentions, interest tags)."""


@dataclass(frozen=True, slots=True)
class State:
    watermark: Watermark = Watermark()
    posts: Items[PostSummary] = ()
    language: tuple[int, str] = (0, "")
    """Time and language of the latest post."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "wm": self.watermark.to_list(),
            "posts": [[t, s, m, list(tags)] for t, (s, m, tags) in self.posts],
            "lang": list(self.language),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        posts = tuple(
            (int(t), (float(s), int(m), tuple(str(tag) for tag in tags)))
            for t, s, m, tags in data["posts"]
        )
        lang_ms, language = data["lang"]
        return cls(Watermark.from_list(data["wm"]), posts, (int(lang_ms), str(language)))


def summarise(post: SocialPost) -> PostSummary:
    """What the view keeps of a post."""
    return (
        sentiment(post.text, post.language.value),
        brand_mentions(post.text, post.brand_mentions),
        interest_tags(post.text, post.hashtags),
    )


def apply(state: State, post: SocialPost, *, allowed_lateness: timedelta) -> Update[State]:
    """The state and row after ``post``."""
    time_ms = to_ms(post.event_time)
    watermark, latest, late = observe(state.watermark, time_ms, lateness_ms(allowed_lateness))
    if late:
        new = replace(state, watermark=watermark)
        return Update(new, row(new, post.customer_id), True)
    posts = merge(state.posts, time_ms, summarise(post), as_of=latest, length=POSTS_WINDOW_MS)
    language = state.language
    if not language[1] or time_ms >= language[0]:
        language = (time_ms, post.language.value)
    new = State(watermark, posts, language)
    return Update(new, row(new, post.customer_id), False)


def row(state: State, customer_id: str) -> Row:
    """The feature row of the customer-social view, as of the latest post."""
    count = len(state.posts)
    total = sum((s for _, (s, _, _) in state.posts), 0.0)
    tags = sorted({tag for _, (_, _, post_tags) in state.posts for tag in post_tags})
    return {
        "customer_id": customer_id,
        "event_timestamp": from_ms(state.watermark.latest_ms or 0),
        "sentiment_7d": total / count if count else 0.0,
        "posts_7d": count,
        "brand_mentions_7d": sum(m for _, (_, m, _) in state.posts),
        "interest_tags": tags,
        "language": state.language[1],
    }
