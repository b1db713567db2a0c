"""The operators' web console (server-rendered; a little JavaScript for live updates)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from intake.web.console import admin, views
from intake.web.console.session import NotSignedIn


def install(app: Any) -> None:
    """Mount the console and send a person without a session to the sign-in page."""
    app.include_router(views.router)
    app.include_router(admin.router)

    @app.exception_handler(NotSignedIn)
    async def _sign_in(_request: Request, _exc: NotSignedIn) -> Response:
        return RedirectResponse("/console/login", status_code=303)
