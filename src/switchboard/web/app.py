"""The whole application a node serves: the API, and the browser UI mounted on it.

`switchboard.api.app.create_app` builds the API alone (tests of the API use it);
this module adds the web UI's routes, its static files and its HTML error pages.
The API never imports the web package, so the wiring lives here.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from switchboard.api.app import create_app as create_api
from switchboard.api.tenancy import Settings, Tenancy
from switchboard.web import agent, dashboards, errors, live, pages, phone, tenant_picker
from switchboard.web.admin import router as admin_router

STATIC_PREFIX = "/static"


def create_app(settings: Settings | None = None, tenancy: Tenancy | None = None) -> FastAPI:
    """The API with the web UI: what `switchboard serve` runs."""
    app = create_api(settings, tenancy)
    install(app)
    return app


def install(app: FastAPI) -> None:
    """Mount the UI on an application built by `switchboard.api.app.create_app`."""
    app.mount(
        STATIC_PREFIX,
        StaticFiles(packages=[("switchboard.web", "static")]),
        name="static",
    )
    errors.install(app)
    app.include_router(pages.router)
    app.include_router(tenant_picker.router)
    app.include_router(agent.router)
    app.include_router(live.router)
    app.include_router(dashboards.router)
    app.include_router(admin_router)
    if app.state.tenancy.settings.simulator_enabled:
        app.include_router(phone.router)  # the simulator's phone: never in production
