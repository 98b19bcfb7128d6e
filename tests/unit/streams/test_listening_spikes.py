"""Alerts on spikes of negative mentions: the threshold, the minimum volume, the baseline
and its floor, one open alert per subject, and closing after quiet windows or silence."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from stream_factories import BASE

from offers.contracts import ListeningWindow, SocialAggregate, SocialAlert
from offers.contracts.events import AlertState
from offers.settings import Settings
from streams.features.windows import to_ms
from streams.listening.spikes import SpikeDetector, SpikeRule, SubjectHistory

SLOT = timedelta(minutes=15)
ROUTE = "route:LIV-OLB"


def window(
    slot: int,
    volume: int,
    negative: int,
    *,
    subject: str = ROUTE,
    topics: dict[str, int] | None = None,
    kind: ListeningWindow = ListeningWindow.MINUTES_15,
) -> SocialAggregate:
    start = BASE + slot * SLOT
    return SocialAggregate(
        event_id=f"{subject}.{slot}",
        event_time=start + timedelta(minutes=1),
        subject=subject,
        window=kind,
        window_start=start,
        window_end=start + SLOT,
        volume=volume,
        negative=negative,
        share_negative=negative / volume if volume else 0.0,
        mean_sentiment=0.0,
        negative_topics=topics or {},
    )


def feed(detector: SpikeDetector, *windows: SocialAggregate) -> list[SocialAlert]:
    return [change for w in windows for change in detector.observe(w)]


@pytest.fixture
def detector() -> SpikeDetector:
    return SpikeDetector(SpikeRule())


def test_the_rule_follows_the_settings() -> None:
    settings = Settings(
        listening_min_negative=3,
        listening_baseline_floor=0.2,
        listening_spike_factor=3.0,
        listening_spike_margin=0.1,
        listening_quiet_windows=4,
        listening_silence_minutes=30,
    )
    rule = SpikeRule.of(settings)
    assert rule == SpikeRule(3, 0.2, 3.0, 0.1, 4, timedelta(minutes=30))
    assert rule.threshold(0.2) == pytest.approx(0.6)


def test_without_history_the_floor_is_the_baseline(detector: SpikeDetector) -> None:
    # floor 0.1: threshold max(0.2, 0.35) = 0.35, reached exactly by 7 of 20
    [alert] = feed(detector, window(0, 20, 7, topics={"delay": 6, "route": 7, "price": 1}))
    assert alert.state is AlertState.OPEN
    assert (alert.baseline, alert.threshold) == (0.1, pytest.approx(0.35))
    assert (alert.volume, alert.negative, alert.share_negative) == (20, 7, 0.35)
    assert alert.top_topics == ("route", "delay", "price")
    assert alert.opened_at == BASE + timedelta(minutes=1)
    assert alert.window_start == BASE


def test_just_below_the_threshold_opens_nothing(detector: SpikeDetector) -> None:
    assert feed(detector, window(0, 20, 6)) == []


def test_too_few_negative_mentions_open_nothing(detector: SpikeDetector) -> None:
    assert feed(detector, window(0, 4, 4)) == []
    assert len(feed(detector, window(0, 5, 5))) == 1


def test_the_baseline_is_the_last_days_share(detector: SpikeDetector) -> None:
    # 30 % negative over the day before: threshold max(0.6, 0.55) = 0.6
    history = [window(slot, 10, 3) for slot in range(-96, 0)]
    assert feed(detector, *history) == []
    assert feed(detector, window(0, 20, 11)) == []
    [alert] = feed(detector, window(0, 20, 12))
    assert alert.baseline == pytest.approx(0.3)
    assert alert.threshold == pytest.approx(0.6)


def test_windows_older_than_a_day_leave_the_baseline(detector: SpikeDetector) -> None:
    # 40 % negative (too few to alert), more than a day before
    assert feed(detector, window(-200, 10, 4), window(-97, 10, 4)) == []
    [alert] = feed(detector, window(0, 20, 7))
    assert alert.baseline == 0.1


def test_a_low_history_is_raised_to_the_floor(detector: SpikeDetector) -> None:
    feed(detector, *(window(slot, 50, 1) for slot in range(-10, 0)))
    [alert] = feed(detector, window(0, 20, 7))
    assert alert.baseline == 0.1


def test_only_ports_and_routes_of_15_minutes_alert(detector: SpikeDetector) -> None:
    assert feed(detector, window(0, 20, 20, subject="brand")) == []
    assert feed(detector, window(0, 20, 20, kind=ListeningWindow.HOUR)) == []
    assert len(feed(detector, window(0, 20, 20, subject="port:OLB"))) == 1


def test_one_open_alert_per_subject(detector: SpikeDetector) -> None:
    assert len(feed(detector, window(0, 10, 10))) == 1
    assert feed(detector, window(0, 12, 12), window(1, 10, 10)) == []
    assert len(detector.open_alerts()) == 1


def test_it_closes_after_two_windows_below(detector: SpikeDetector) -> None:
    [opened] = feed(detector, window(0, 10, 10))
    assert feed(detector, window(1, 10, 1), window(2, 10, 1)) == []
    [closed] = feed(detector, window(3, 10, 1))
    assert closed.state is AlertState.CLOSED
    assert closed.alert_id == opened.alert_id
    assert closed.closed_at == BASE + 3 * SLOT
    assert closed.close_reason == "quiet"
    assert closed.event_id != opened.event_id
    assert detector.open_alerts() == []


def test_a_window_above_between_quiet_ones_keeps_it_open(detector: SpikeDetector) -> None:
    feed(detector, window(0, 10, 10))
    # the spike itself raises the baseline: the threshold is now 1.0 (capped)
    assert feed(detector, window(1, 10, 1), window(2, 10, 10), window(3, 10, 1)) == []
    assert len(detector.open_alerts()) == 1
    [closed] = feed(detector, window(4, 10, 1), window(5, 10, 1))
    assert closed.closed_at == BASE + 5 * SLOT


def test_windows_without_mentions_are_quiet(detector: SpikeDetector) -> None:
    feed(detector, window(0, 10, 10))
    [closed] = feed(detector, window(6, 2, 0))
    assert closed.closed_at == BASE + 3 * SLOT


def test_a_late_window_does_not_move_the_current_one(detector: SpikeDetector) -> None:
    feed(detector, window(0, 10, 10), window(1, 10, 1))
    assert feed(detector, window(0, 11, 10)) == []
    assert len(detector.open_alerts()) == 1


def test_it_closes_after_two_hours_of_silence(detector: SpikeDetector) -> None:
    feed(detector, window(0, 10, 10))
    last = BASE + timedelta(minutes=1)
    silence = timedelta(hours=2)
    assert detector.advance(to_ms(last + silence) - 1) == []
    [closed] = detector.advance(to_ms(last + silence))
    assert (closed.close_reason, closed.closed_at) == ("silence", last + silence)
    assert detector.advance(to_ms(last + 2 * silence)) == []


def test_a_new_spike_after_closing_opens_a_new_alert(detector: SpikeDetector) -> None:
    [first] = feed(detector, window(0, 10, 10))
    feed(detector, window(1, 10, 0), window(2, 10, 0), window(3, 10, 0))
    [second] = feed(detector, window(3, 20, 20))
    assert second.alert_id != first.alert_id


def test_a_history_survives_its_changelog(detector: SpikeDetector) -> None:
    feed(detector, window(-1, 10, 1), window(0, 10, 10))
    history = detector.histories[ROUTE]
    raw = orjson.dumps(history.to_dict())
    restored = SpikeDetector(SpikeRule())
    restored.load(SubjectHistory.from_dict(orjson.loads(raw)))
    assert restored.histories[ROUTE] == history
    assert feed(restored, window(1, 10, 0), window(2, 10, 0)) == []
    [closed] = feed(restored, window(3, 10, 0))
    assert closed.state is AlertState.CLOSED
