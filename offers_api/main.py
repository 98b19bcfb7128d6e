"""The offers API: assembles the routes, the error handlers and the running state.

``uvicorn offers_api.main:app`` serves it; settings come from the environment
(``OFFERS_*``) when it starts, not when this module is imported. Every request body is
held to the limits of :mod:`offers_api.limits` (size, and the shape of JSON) before a
route reads it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from offers.settings import Settings, get_settings
from offers_api import errors
from offers_api.limits import BodyLimits, RequestLimits
from offers_api.routes import (
    activity,
    campaigns,
    customers,
    listening,
    models,
    redemptions,
    reports,
    web,
    webhooks,
    whatsapp,
)
from offers_api.schemas import COMMON_RESPONSES
from offers_api.state import ApiState


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ApiState.open(settings or get_settings())
        app.state.api = state
        try:
            yield
        finally:
            await state.close()

    app = FastAPI(
        title="Moby offers API",
        version="1.0.0",
        description=(
            "Campaigns for marketers, consent and offers for customers, provider webhooks "
            "and reports. Every route needs a bearer token (JWT) or an API key."
        ),
        lifespan=lifespan,
        responses=COMMON_RESPONSES,
    )
    errors.install(app)
    app.add_middleware(RequestLimits, limits=lambda: BodyLimits.of(settings or get_settings()))
    routes = (
        campaigns,
        reports,
        customers,
        webhooks,
        whatsapp,
        redemptions,
        models,
        activity,
        listening,
        web,
    )
    for module in routes:
        app.include_router(module.router)
    return app


app = create_app()
