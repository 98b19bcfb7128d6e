"""Work that reads consent and campaigns waits until their followers have read them; the
social alerts followed are each subject's latest."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from offers.contracts import AlertState, SocialAlert, encode
from streams.decisions.agent import open_subjects
from streams.features.windows import to_ms
from streams.followers import social_alert_of, wait_read
from streams.listening.spikes import closed_alert
from streams.replica import TopicReplica


def test_the_wait_ends_only_once_every_follower_has_read_its_topic() -> None:
    async def scenario() -> list[str]:
        consent, campaigns = asyncio.Event(), asyncio.Event()
        steps: list[str] = []

        async def work() -> None:
            await wait_read((consent, campaigns), "decisions")
            steps.append("decided")

        task = asyncio.create_task(work())
        await asyncio.sleep(0.01)
        consent.set()
        steps.append("consent read")
        await asyncio.sleep(0.01)
        campaigns.set()
        steps.append("campaigns read")
        await asyncio.wait_for(task, timeout=1)
        return steps

    assert asyncio.run(scenario()) == ["consent read", "campaigns read", "decided"]


def test_nothing_to_wait_for_once_read() -> None:
    async def scenario() -> None:
        read = asyncio.Event()
        read.set()
        await asyncio.wait_for(wait_read((read,), "deliveries"), timeout=0.1)
        await asyncio.wait_for(wait_read((), "deliveries"), timeout=0.1)

    asyncio.run(scenario())


T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def alert(subject: str) -> SocialAlert:
    return SocialAlert(
        event_id=f"alert.{subject}.0.open",
        event_time=T0,
        alert_id=f"alert.{subject}.0",
        subject=subject,
        state=AlertState.OPEN,
        opened_at=T0,
        window_start=T0,
        volume=6,
        negative=6,
        share_negative=1.0,
        baseline=0.1,
        threshold=0.35,
    )


def test_the_open_alerts_are_the_subjects_whose_latest_alert_is_open() -> None:
    alerts: TopicReplica[SocialAlert] = TopicReplica(
        "unused:9092", "social.alerts", social_alert_of
    )
    for subject in ("route:LIV-OLB", "port:LIV", "port:OLB"):
        alerts.apply(subject.encode(), encode(alert(subject)))
    assert open_subjects(alerts) == {"route:LIV-OLB", "port:LIV", "port:OLB"}
    closed = closed_alert(alert("port:LIV"), to_ms(T0 + timedelta(minutes=45)), "quiet")
    alerts.apply(b"port:LIV", encode(closed))
    alerts.apply(b"port:OLB", None)  # a tombstone
    alerts.apply(b"route:GOA-PTO", b"{not an alert")  # skipped
    assert open_subjects(alerts) == {"route:LIV-OLB"}
    assert alerts["port:LIV"].state is AlertState.CLOSED
