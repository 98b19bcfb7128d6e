"""The shared state every worker follows, read-only, from its topics: every customer's
consent, every campaign's latest version, every sailing's latest row, every subject's
latest social alert. Each follower is a task of the app, started with it;
:func:`state_pages` shows what a worker holds.

A follower subscribes to its topic: a topic that does not exist yet (the broker creates
none on demand) is waited for, and read from its beginning once it appears; until then
the follower's ``current`` event stays unset.
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
from offers.contracts import ConsentScope, SocialAlert
from offers.contracts.events import consent_key
from offers.errors import ContractError
from offers.settings import Settings
from offers.state.campaigns import decode_change
from offers.state.consent import decode_consent
from offers.topics import CAMPAIGNS, CONSENT, SOCIAL_ALERTS
from streams.features.rows import Row
from streams.listening.records import decode_record
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
    log.info("%s: waiting until the shared state (consent, campaigns...) is read", work)
    await asyncio.gather(*(event.wait() for event in followers))
    log.info("%s: the shared state is read", work)


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


def follow_social_alerts(app: faust.App, settings: Settings) -> TopicReplica[SocialAlert]:
    """Every subject's latest social alert, open or closed, by subject (``port:LIV``,
    ``route:LIV-OLB``), from ``social.alerts``, which the listening agents create when
    the worker starts (the follower waits for it until then)."""
    alerts: TopicReplica[SocialAlert] = TopicReplica(
        settings.kafka_bootstrap, SOCIAL_ALERTS.name, social_alert_of
    )
    app.task(alerts.follow)
    return alerts


def social_alert_of(key: str, value: bytes) -> SocialAlert:
    """The alert a record of ``social.alerts`` holds (ContractError when it holds none)."""
    return decode_record(value, SocialAlert)


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
