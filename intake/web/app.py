"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from intake.pipeline.context import Services
from intake.pipeline.worker import Worker
from intake.services import build_services
from intake.settings import Settings
from intake.web import api, console, docs, incidents_api, tips, webform, webhooks
from intake.web.client import parse_networks
from intake.web.headers import SecurityHeaders
from intake.web.metrics import install_metrics

log = logging.getLogger(__name__)


def _validation_message(exc: RequestValidationError) -> dict[str, object]:
    """A 400 body that names each missing or invalid field (never echoing its value)."""
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append({"field": location or "body", "problem": error.get("msg", "invalid")})
    return {"detail": "invalid request", "errors": problems}


class UnderPrefix:
    """Pass requests under one path prefix through a middleware, the rest straight on.

    The console's session cookie is read and signed for console pages only: the webhooks
    and the partner API, the paths that carry the load, have no use for it.
    """

    def __init__(self, app: ASGIApp, *, prefix: str, middleware: ASGIApp) -> None:
        self.app, self.prefix, self.middleware = app, prefix, middleware

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            await self.middleware(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _console_sessions(app: ASGIApp, *, secret_key: str, https_only: bool) -> ASGIApp:
    sessions = SessionMiddleware(
        app,
        secret_key=secret_key,
        session_cookie="h111_console",
        max_age=12 * 3600,
        same_site="strict",
        https_only=https_only,
    )
    return UnderPrefix(app, prefix="/console", middleware=sessions)


def _document_schemas(app: FastAPI, schemas: dict[str, Any]) -> None:
    """Add the schemas of bodies that routes parse themselves to the OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document.setdefault("components", {}).setdefault("schemas", {}).update(schemas)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app; workers start with it unless the settings say otherwise."""
    settings = settings or Settings()
    services = services or build_services(settings)
    workers: list[Worker] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_workers:
            worker = Worker(services, poll_seconds=settings.worker_poll_seconds)
            worker.start()
            workers.append(worker)
        yield
        for worker in workers:
            worker.stop()

    app = FastAPI(
        title="hotline111",
        version="0.1.0",
        description="Intake and triage for Vietnam's child-protection hotline 111",
        lifespan=lifespan,
        # 413 for a body over the limit, declared or not, before a handler holds all of it.
        max_body_size=settings.max_body_bytes,
        docs_url=None,  # served by intake/web/docs.py with local assets
        redoc_url=None,
    )
    app.state.services = services
    try:
        app.state.trusted_proxies = parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        raise ValueError(f"HOTLINE_TRUSTED_PROXIES: {exc}") from exc

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_validation_message(exc), status_code=400)

    tips.install(app)
    app.include_router(api.router)
    app.include_router(incidents_api.router)
    app.include_router(webhooks.router)
    app.include_router(webform.router)
    console.install(app)
    docs.install(app)
    app.add_middleware(
        _console_sessions,
        secret_key=services.cipher.session_key,
        https_only=settings.public_base_url.startswith("https"),
    )
    app.add_middleware(SecurityHeaders)
    _document_schemas(app, tips.BODY_SCHEMAS)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        """Liveness and database reachability."""
        try:
            with services.db.reader() as session:
                session.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database unreachable")
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    install_metrics(app, services.db, settings.metrics_token)
    return app
