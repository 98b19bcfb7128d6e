"""TopicReplica keeps each key's latest row from changelog records; no broker needed."""

from __future__ import annotations

from streams.replica import TopicReplica


def decode(key: str, value: bytes) -> dict[str, object]:
    if value == b"bad":
        raise ValueError("unreadable")
    return {"key": key, "value": value.decode()}


def test_the_latest_value_of_each_key_wins_and_a_tombstone_removes_it() -> None:
    replica = TopicReplica("unused:9092", "t-changelog", decode)
    replica.apply(b"s1", b"a")
    replica.apply(b"s2", b"b")
    replica.apply(b"s1", b"c")
    assert dict(replica) == {"s1": {"key": "s1", "value": "c"}, "s2": {"key": "s2", "value": "b"}}
    replica.apply(b"s2", None)
    assert list(replica) == ["s1"]
    assert len(replica) == 1


def test_an_unreadable_value_or_a_record_without_key_is_skipped_not_fatal() -> None:
    replica = TopicReplica("unused:9092", "t-changelog", decode)
    replica.apply(b"s1", b"a")
    replica.apply(b"s1", b"bad")
    replica.apply(None, b"x")
    assert replica["s1"] == {"key": "s1", "value": "a"}
    assert len(replica) == 1


def test_a_key_that_is_not_utf8_is_skipped_not_fatal() -> None:
    replica = TopicReplica("unused:9092", "t-changelog", decode)
    replica.apply(b"\xff\xfe", b"a")
    replica.apply(b"\xff\xfe", None)
    replica.apply(b"s1", b"b")
    assert dict(replica) == {"s1": {"key": "s1", "value": "b"}}
