"""The FastAPI application: one per process, serving every tenant of the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from switchboard import __version__
from switchboard.api import problems
from switchboard.api.limits import InputLimits
from switchboard.api.observability import RequestContext
from switchboard.api.routes import (
    api_keys,
    audio_content,
    auth,
    config,
    contacts,
    live,
    odata,
    opening_hours,
    partners,
    stream,
    system,
    tenant,
    workflows,
)
from switchboard.api.tenancy import Settings, Tenancy


def create_app(settings: Settings | None = None, tenancy: Tenancy | None = None) -> FastAPI:
    """Build the application; the database opens and tenants restore at startup."""
    tenancy = tenancy or Tenancy(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not tenancy.hosts:
            tenancy.open()
        tenancy.start()
        try:
            yield
        finally:
            await tenancy.stop()  # graceful: queued work is finished and journaled

    app = FastAPI(
        title="Switchboard",
        version=__version__,
        summary="Contact-center routing: configuration, live operations and events.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.tenancy = tenancy
    problems.install(app)
    # Inside RequestContext, so refusals get an id and a log line.
    app.add_middleware(InputLimits, allowances=[audio_content.AUDIO_UPLOAD])
    app.add_middleware(RequestContext)
    app.include_router(system.router)
    app.include_router(auth.router)
    app.include_router(workflows.router)  # before config: /workflows/schema is no id
    app.include_router(config.router)
    app.include_router(contacts.router)
    app.include_router(audio_content.router)
    app.include_router(opening_hours.router)
    app.include_router(live.router)
    app.include_router(stream.router)
    app.include_router(api_keys.router)
    app.include_router(tenant.router)
    app.include_router(partners.router)
    odata.install(app)  # /odata: the reporting feed, its error format and limits (08 §8)
    if tenancy.settings.simulator_enabled:
        # Development and test mode only (10 PE2): production does not even load it.
        from switchboard.api.routes import simulator

        app.include_router(simulator.router)
    return app
