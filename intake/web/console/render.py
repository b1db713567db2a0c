"""Rendering a console page: templates, the session's language, the signed-in person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from channels.registry import spec_of
from intake.pipeline.context import Services
from intake.store.models import User, utcnow
from intake.web.console.i18n import EN
from intake.web.console.session import csrf_token, current_user

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.globals["channel_label"] = lambda name: spec_of(name).label  # channels/registry


def services_of(request: Request) -> Services:
    """The service parts the app was built with."""
    services: Services = request.app.state.services
    return services


def user_of(request: Request) -> User:
    """The signed-in person (NotSignedIn otherwise)."""
    return current_user(services_of(request), request)


def render(
    request: Request, name: str, user: User | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """A console page in the session's language."""
    services = services_of(request)
    lang = "en" if request.session.get("lang") == "en" else "vi"

    def translate(text: str) -> str:
        return EN.get(text, text) if lang == "en" else text

    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "csrf": csrf_token(request),
            "geo": services.geography,
            "now": utcnow(),
            "lang": lang,
            "tr": translate,
            **context,
        },
        status_code=status,
    )
