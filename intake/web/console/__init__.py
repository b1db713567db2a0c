"""The operators' web console (server-rendered; a little JavaScript for live updates)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from intake.web.console import (
    actions,
    admin,
    calls,
    contact,
    errors,
    incident,
    queue,
    reports,
    search,
    signin,
    stats,
    units,
    unmatched,
)
from intake.web.console.session import NotSignedIn

STATIC = Path(__file__).resolve().parent / "static"


def install(app: Any) -> None:
    """Mount the console and send a person without a session to the sign-in page."""
    for module in (
        signin,
        queue,
        incident,
        actions,
        stats,
        admin,
        calls,
        search,
        contact,
        reports,
        units,
        unmatched,
    ):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    app.add_exception_handler(StarletteHTTPException, errors.on_http_error)
    app.add_exception_handler(Exception, errors.on_crash)

    @app.exception_handler(NotSignedIn)
    async def _sign_in(_request: Request, _exc: NotSignedIn) -> Response:
        return RedirectResponse("/console/login", status_code=303)
