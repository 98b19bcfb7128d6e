"""The sandbox as a FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from simulators.sandbox.config import SandboxConfig
from simulators.sandbox.graph_api import graph_routes
from simulators.sandbox.inspection import inspection_routes
from simulators.sandbox.state import Sandbox
from simulators.sandbox.twilio_api import twilio_routes
from simulators.sandbox.twilio_list import twilio_list_routes


def create_app(config: SandboxConfig | None = None, *, sandbox: Sandbox | None = None) -> FastAPI:
    """The provider sandbox: Twilio's and Meta's APIs plus ``/sandbox`` inspection.

    Pass ``sandbox`` to keep a handle on its state (or read ``app.state.sandbox``);
    otherwise one is made from ``config``. Deliveries still under way are cancelled when
    the application shuts down.
    """
    if sandbox is None:
        sandbox = Sandbox(config)
    elif config is not None:
        raise ValueError("pass either a config or a sandbox, not both")
    state = sandbox

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await state.background.aclose()

    app = FastAPI(
        title="Provider sandbox",
        description="Twilio Messages API and Meta Graph API (WhatsApp, Messenger) for tests.",
        lifespan=lifespan,
    )
    app.state.sandbox = state
    app.include_router(inspection_routes(state))
    app.include_router(twilio_routes(state))
    app.include_router(twilio_list_routes(state))
    app.include_router(graph_routes(state))
    return app
