"""The shared state every worker follows, read-only, from its topics: every customer's
consent, every campaign's latest version, every sailing's latest row. Each follower is
a task of the app, started with it; :func:`state_pages` shows what a worker holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import faust
import orjson
from faust.web import Request, Response, View

from offers.campaigns.history import CampaignHistory
from offers.contracts import ConsentScope
from offers.contracts.events import consent_key
from offers.errors import ContractError
from offers.settings import Settings
from offers.state.campaigns import decode_change
from offers.state.consent import decode_consent
from offers.topics import CAMPAIGNS, CONSENT
from streams.features.rows import Row
from streams.processing import Entry
from streams.replica import TopicReplica, follow_topic
from streams.views import SAILING_STATE

log = logging.getLogger(__name__)


def all_read(followers: Sequence[asyncio.Event]) -> bool:
    """Whether each follower's ``current`` event is set (work that runs on a timer checks
    this and skips a tick rather than wait)."""
    return all(event.is_set() for event in followers)


async def wait_read(followers: Sequence[asyncio.Event], work: str) -> None:
    """Wait until each follower's ``current`` event is set: until it holds what its topic
    held when it started. Work that reads consent or campaigns waits for it, since a copy
    still filling would miss consent given long ago and campaigns long active."""
    if all_read(followers):
        return
    log.info("%s: waiting until consent and campaigns are read", work)
    await asyncio.gather(*(event.wait() for event in followers))
    log.info("%s: consent and campaigns are read", work)


def follow_consent(app: faust.App, settings: Settings) -> TopicReplica[bool]:
    """Every customer's consent per scope, by consent key (absent: never given)."""
    consent: TopicReplica[bool] = TopicReplica(
        settings.kafka_bootstrap,
        CONSENT.name,
        lambda key, value: decode_consent(value).granted,
    )
    app.task(consent.follow)
    return consent


def follow_campaigns(
    app: faust.App, settings: Settings, current: asyncio.Event | None = None
) -> CampaignHistory:
    """Every campaign's versions, from ``state.campaigns`` (``current`` set once the
    history holds what the topic held when the follower started)."""
    campaigns = CampaignHistory()

    def apply(key: bytes | None, value: bytes | None) -> None:
        if value is None:
            return
        try:
            campaigns.apply(decode_change(value))
        except ContractError as exc:
            log.error("%s: skipping an unreadable change: %s", CAMPAIGNS.name, exc)

    async def follow() -> None:
        await follow_topic(settings.kafka_bootstrap, CAMPAIGNS.name, apply, current)

    app.task(follow)
    return campaigns


def sailing_changelog(settings: Settings) -> str:
    """The changelog of the stream processor's sailing-state table (its app id's)."""
    return f"{settings.stream_app_id}-{SAILING_STATE.name}-changelog"


def follow_sailings(app: faust.App, settings: Settings, changelog: str) -> TopicReplica[Row]:
    """Every sailing's latest feature row, from the sailing-state table's changelog."""
    view = SAILING_STATE
    replica: TopicReplica[Row] = TopicReplica(
        settings.kafka_bootstrap,
        changelog,
        lambda key, value: view.row(Entry.decode(view, value).state, key),
    )
    app.task(replica.follow)
    return replica


def state_pages(
    app: faust.App,
    consent: Mapping[str, bool],
    campaigns: CampaignHistory,
    sailings: Mapping[str, Mapping[str, Any]],
) -> None:
    """``/consent/{customer_id}``, ``/campaigns`` and ``/sailings``: what this worker
    holds of the shared state."""

    @app.page("/consent/{customer_id}")
    async def consent_page(web: View, request: Request, customer_id: str) -> Response:
        """The customer's consent per scope, as this worker holds it (absent: not given)."""
        granted = {
            scope.value: consent[key]
            for scope in ConsentScope
            if (key := consent_key(customer_id, scope)) in consent
        }
        return web.bytes(orjson.dumps(granted), content_type="application/json")

    @app.page("/campaigns")
    async def campaigns_page(web: View, request: Request) -> Response:
        """Every campaign's latest version, status and name, as this worker holds them."""
        held = [
            {"id": c.id, "version": c.version, "status": c.status.value, "name": c.name}
            for c in campaigns.campaigns()
        ]
        return web.bytes(orjson.dumps(held), content_type="application/json")

    @app.page("/sailings")
    async def sailings_page(web: View, request: Request) -> Response:
        """The latest row of every sailing, as this worker holds them."""
        return web.bytes(orjson.dumps(dict(sailings)), content_type="application/json")
