"""Work that reads consent and campaigns waits until their followers have read them."""

from __future__ import annotations

import asyncio

from streams.followers import wait_read


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
