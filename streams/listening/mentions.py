"""A social post split into mentions: one per subject it talks about.

Subjects: ``brand`` when the post names the brand (listed brand mentions, or "Moby" in
its text), ``port:<CODE>`` for each port and ``route:<ROUTE_ID>`` for each route it
names (:func:`streams.features.topics.places`). Each mention carries the post's
sentiment score and label, topics, language, event time and event id; the customer id
and the text stay behind.
"""

from __future__ import annotations

import hashlib

from offers.contracts import SocialMention, SocialPost
from offers.contracts.events import SentimentLabel
from streams.features.interests import brand_mentions
from streams.features.sentiment import label_of, sentiment
from streams.features.topics import places, topics

BRAND = "brand"


def subjects(post: SocialPost) -> tuple[str, ...]:
    """The subjects of a post, the brand first, then ports and routes as first named."""
    named = places(post.text, post.hashtags, post.language.value)
    found: list[str] = []
    if brand_mentions(post.text, post.brand_mentions):
        found.append(BRAND)
    found += [f"port:{code}" for code in named.ports]
    found += [f"route:{route_id}" for route_id in named.routes]
    return tuple(found)


def mentions_of(post: SocialPost) -> tuple[SocialMention, ...]:
    """One mention per subject of ``post`` (none when it names none)."""
    found = subjects(post)
    if not found:
        return ()
    language = post.language.value
    score = sentiment(post.text, language)
    post_topics = tuple(sorted(topics(post.text, language, post.hashtags)))
    return tuple(
        SocialMention(
            event_id=mention_id(post.event_id, subject),
            event_time=post.event_time,
            subject=subject,
            post_event_id=post.event_id,
            score=score,
            label=SentimentLabel(label_of(score)),
            topics=post_topics,
            language=post.language,
        )
        for subject in found
    )


def mention_id(post_event_id: str, subject: str) -> str:
    """The id of a post's mention of ``subject``: the same whenever it is derived again."""
    digest = hashlib.blake2b(f"{post_event_id}|{subject}".encode(), digest_size=16)
    return f"mention-{digest.hexdigest()}"


def subject_kind(subject: str) -> str:
    """``brand``, ``port`` or ``route``."""
    return subject.split(":", 1)[0]
