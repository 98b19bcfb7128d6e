"""A social post split into mentions: subjects, sentiment, and no personal data."""

from __future__ import annotations

from stream_factories import at, make_post

from offers.contracts import SocialMention, encode
from streams.features.sentiment import label, sentiment
from streams.listening.mentions import mention_id, mentions_of, subject_kind, subjects
from streams.listening.records import decode_record

COMPLAINT = "Traghetto Livorno-Olbia in ritardo di tre ore, vergognoso"


def test_a_post_names_the_brand_its_ports_and_its_routes() -> None:
    post = make_post(0, f"Moby: {COMPLAINT}")
    assert subjects(post) == ("brand", "port:LIV", "port:OLB", "route:LIV-OLB")


def test_listed_brand_mentions_name_the_brand() -> None:
    post = make_post(0, "Che traversata!", brand_mentions=("@mobylines",))
    assert subjects(post) == ("brand",)


def test_a_post_naming_nothing_has_no_mentions() -> None:
    assert mentions_of(make_post(0, "Che bella giornata al mare")) == ()


def test_each_mention_carries_the_posts_sentiment_topics_and_time() -> None:
    post = make_post(60, COMPLAINT, event_id="post-1")
    mentions = mentions_of(post)
    assert [m.subject for m in mentions] == ["port:LIV", "port:OLB", "route:LIV-OLB"]
    for mention in mentions:
        assert mention.score == sentiment(COMPLAINT, "it")
        assert mention.label == label(COMPLAINT, "it") == "negative"
        assert "delay" in mention.topics
        assert mention.event_time == at(60)
        assert mention.post_event_id == "post-1"
        assert mention.language == "it"
        assert mention.event_id == mention_id("post-1", mention.subject)
    assert len({m.event_id for m in mentions}) == 3


def test_no_customer_id_or_text_leaves_the_post() -> None:
    post = make_post(0, COMPLAINT, customer_id="cust-secret-42")
    for mention in mentions_of(post):
        raw = encode(mention)
        assert b"cust-secret-42" not in raw
        assert b"vergognoso" not in raw
        assert decode_record(raw, SocialMention) == mention


def test_a_redelivered_post_gives_the_same_mentions() -> None:
    post = make_post(0, COMPLAINT)
    assert mentions_of(post) == mentions_of(post.model_copy())


def test_subject_kinds() -> None:
    assert [subject_kind(s) for s in ("brand", "port:LIV", "route:LIV-OLB")] == [
        "brand",
        "port",
        "route",
    ]
