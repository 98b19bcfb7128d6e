"""The simulator's posts about one route: a burst of complaints, or kind posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from offers.contracts import decode, encode
from simulators.routes import all_routes
from simulators.social import Sentiment, route_posts, true_sentiment
from streams.listening.mentions import subjects

ROUTE = next(route for route in all_routes() if route.route_id == "GOA-PTO")
START = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
TIMES = [START + timedelta(seconds=20 * k) for k in range(8)]


@pytest.mark.parametrize("sentiment", list(Sentiment))
def test_every_post_names_the_route_with_the_wanted_sentiment(sentiment: Sentiment) -> None:
    posts = route_posts(ROUTE, sentiment, TIMES, ["c-1", "c-2", "c-3"], seed=5)

    assert [p.event_time for p in posts] == TIMES
    assert [p.customer_id for p in posts] == ["c-1", "c-2", "c-3"] * 2 + ["c-1", "c-2"]
    assert [p.language.value for p in posts] == ["it", "en", "de", "fr"] * 2
    for post in posts:
        assert true_sentiment(post.text, post.language.value) is sentiment
        assert {"route:GOA-PTO", "port:GOA", "port:PTO"} <= set(subjects(post))
        assert decode(encode(post)) == post
    assert len({p.event_id for p in posts}) == len(posts)


def test_the_same_arguments_give_the_same_posts() -> None:
    first = route_posts(ROUTE, Sentiment.NEGATIVE, TIMES, ["c-1"], seed=5, languages=["en"])
    again = route_posts(ROUTE, Sentiment.NEGATIVE, TIMES, ["c-1"], seed=5, languages=["en"])
    other = route_posts(ROUTE, Sentiment.NEGATIVE, TIMES, ["c-1"], seed=6, languages=["en"])
    assert first == again
    assert {p.event_id for p in first}.isdisjoint(p.event_id for p in other)


def test_no_customer_is_refused() -> None:
    with pytest.raises(ValueError, match="customers and languages must not be empty"):
        route_posts(ROUTE, Sentiment.NEGATIVE, TIMES, [], seed=5)
