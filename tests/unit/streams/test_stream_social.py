from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from stream_factories import LATENESS, arrival_order, make_post, rows_match

from simulators.routes import all_routes
from simulators.social import Sentiment, compose_post
from streams.features import reference
from streams.features.interests import brand_mentions, interest_tags
from streams.features.sentiment import sentiment
from streams.features.social import State, apply

DAY = 86_400


def fold(posts: list) -> list:
    state, updates = State(), []
    for post in posts:
        update = apply(state, post, allowed_lateness=LATENESS)
        state = update.state
        updates.append(update)
    return updates


def test_sentiment_is_bounded_and_signed() -> None:
    assert 0 < sentiment("Traversata perfetta, grazie!", "it") <= 1.0
    assert -1.0 <= sentiment("Cabine sale et clim en panne, horrible", "fr") < 0
    assert sentiment("Dirty cabin, awful crossing, never again", "en") < 0
    assert sentiment("Fähre gebucht", "de") == 0.0


def test_lexicon_mostly_gets_the_sign_of_simulated_posts() -> None:
    # The engine never sees the simulator's truth; this test only checks the lexicon
    # (its accuracy per language: test_stream_sentiment_accuracy.py).
    rng = np.random.default_rng(0)
    routes = all_routes()
    expected = {Sentiment.POSITIVE: 1, Sentiment.NEGATIVE: -1, Sentiment.NEUTRAL: 0}
    right = 0
    for language in ("it", "en", "de", "fr"):
        for truth, sign in expected.items():
            for k in range(20):
                post = compose_post(rng, language, truth, routes[k % len(routes)])
                right += np.sign(sentiment(post["text"], language)) == sign
    assert right >= 0.6 * 4 * 3 * 20


def test_brand_mentions_are_not_counted_twice() -> None:
    assert brand_mentions("Moby, see you #mobylines", ["Moby"]) == 2
    assert brand_mentions("Con @mobylines!", ["@mobylines"]) == 1
    assert brand_mentions("Tirrenia again", ["Tirrenia"]) == 1
    assert brand_mentions("moby moby", []) == 2


def test_interest_tags() -> None:
    text = "Sconti per famiglie sulla Livorno-Olbia? Viaggiamo in auto"
    assert interest_tags(text, ["#corse"]) == ("car", "corsica", "family", "route:LIV-OLB")
    assert interest_tags("nothing here", []) == ()


def test_seven_day_windows_and_latest_language() -> None:
    updates = fold(
        [
            make_post(0, "Traversata perfetta", "it", hashtags=("#elba",)),
            make_post(3 * DAY, "Awful delay", "en", brand_mentions=("Moby",)),
            make_post(7 * DAY, "Fähre gebucht", "de"),
        ]
    )
    row = updates[-1].row
    assert row["posts_7d"] == 2  # the first post is exactly 7 days old: out
    week = (sentiment("Awful delay", "en"), sentiment("Fähre gebucht", "de"))
    assert row["sentiment_7d"] == sum(week) / 2 < 0
    assert row["brand_mentions_7d"] == 1
    assert row["interest_tags"] == []
    assert row["language"] == "de"
    assert updates[1].row["interest_tags"] == ["elba"]


def test_late_post_does_not_change_language_and_too_late_is_counted() -> None:
    updates = fold(
        [
            make_post(1000, language="fr", text="Ferry réservé"),
            make_post(900, language="it"),
            make_post(0, language="de", text="gebucht"),
        ]
    )
    assert updates[1].row["language"] == "fr" and updates[1].row["posts_7d"] == 2
    assert updates[2].late and updates[2].state.watermark.late_events == 1
    assert updates[2].row == updates[1].row


texts = st.sampled_from(
    [
        ("it", "Traversata perfetta con Moby verso la Sardegna #mobylines"),
        ("en", "Two hours late on Livorno-Olbia, never again Moby"),
        ("de", "Weiß jemand, ob es Familienrabatt gibt? #korsika"),
        ("fr", "Ferry réservé en voiture avec Tirrenia"),
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10 * DAY), texts, st.integers(0, 900)), min_size=1, max_size=20
    )
)
def test_fold_equals_reference(events: list) -> None:
    order = arrival_order([float(t) for t, _, _ in events], [float(d) for _, _, d in events])
    posts = [
        make_post(events[i][0], events[i][1][1], events[i][1][0], brand_mentions=("Moby",))
        for i in order
    ]
    updates = fold(posts)
    assert rows_match(updates[-1].row, reference.social_row(posts, LATENESS))
    assert updates[-1].state.watermark.late_events == reference.late_count(posts, LATENESS)
    assert State.from_dict(updates[-1].state.to_dict()) == updates[-1].state
