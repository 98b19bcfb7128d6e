"""The Faust app of the delivery workers: the delivery agent and what it reads.

Delivery runs in its own consumer group (app id ``{OFFERS_STREAM_APP_ID}-delivery``) on
``offers.decisions``, apart from the stream processor, so that it scales and restarts on
its own: a provider's slowness never holds back features or decisions, and a delivery
worker can be killed at any moment without sending a message twice. Every delivery
worker follows consent, campaigns and the sailings' latest rows from their topics.

``faust -A streams.delivery.app worker`` runs one (``streams/delivery/app.py`` builds the
app from the environment); :func:`create_app` builds one for given settings.
"""

from __future__ import annotations

import asyncio

from faust.web import Request, Response, View

from offers.settings import Settings
from offers.topics import TopicSpec
from streams.delivery.agent import DeliveryAgents
from streams.followers import (
    follow_campaigns,
    follow_consent,
    follow_sailings,
    sailing_changelog,
    state_pages,
)
from streams.metrics import StreamMetrics
from streams.worker import METRICS_CONTENT_TYPE, StreamApp, app_options


def delivery_app_id(settings: Settings) -> str:
    return f"{settings.stream_app_id}-delivery"


def create_app(settings: Settings) -> StreamApp:
    """A delivery worker for ``settings``."""
    sailings_changelog = TopicSpec(
        sailing_changelog(settings), key="state key", event_types=(), compacted=True
    )
    app = StreamApp(
        settings,
        delivery_app_id(settings),
        also_create=(sailings_changelog,),
        **app_options(settings),
    )
    metrics = StreamMetrics()
    consent = follow_consent(app, settings)
    campaigns_read = asyncio.Event()
    campaigns = follow_campaigns(app, settings, campaigns_read)
    sailings = follow_sailings(app, settings, sailing_changelog(settings))
    state_pages(app, consent, campaigns, sailings)
    agents = DeliveryAgents(
        app,
        settings,
        consent=consent,
        campaigns=campaigns,
        sailings=sailings,
        metrics=metrics,
        ready=(consent.current, campaigns_read),
    )
    agents.install()

    @app.page("/metrics")
    async def metrics_page(web: View, request: Request) -> Response:
        return web.bytes(metrics.exposition(), content_type=METRICS_CONTENT_TYPE)

    return app
