"""Rendering a console page: templates, the session's language, the signed-in person."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from channels.registry import spec_of
from intake.pipeline.context import Services
from intake.store.models import User, utcnow
from intake.store.times import VN_TZ
from intake.web.console.i18n import EN, label
from intake.web.console.session import csrf_token, current_user
from intake.web.permissions import Action, allowed, require

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.globals["channel_label"] = lambda name: spec_of(name).label  # channels/registry
# Bidirectional controls (LRE..RLO, LRI..PDI, marks): a tip could use them to show text in
# another order than it was written ("gpj.exe"). Shown as visible code points instead.
BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def neutral(text: str) -> str:
    """The text with each bidirectional control shown as `[U+202E]`."""
    return BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def _finalize(value: Any) -> Any:
    """Every value a template prints passes here before escaping."""
    if isinstance(value, Markup):
        return Markup(neutral(str(value)))
    return neutral(value) if isinstance(value, str) else value


templates.env.finalize = _finalize


def services_of(request: Request) -> Services:
    """The service parts the app was built with."""
    services: Services = request.app.state.services
    return services


def user_of(request: Request, action: Action = Action.CONSOLE, *, touch: bool = True) -> User:
    """The signed-in person, if the table lets them take `action` (NotSignedIn, 403)."""
    user = current_user(services_of(request), request, touch=touch)
    require(user, action)
    return user


def int_param(value: str | None, *, limit: int = 10**8) -> int | None:
    """An optional whole-number parameter: ASCII digits only, else 400 (never a 500)."""
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > limit:
        raise HTTPException(400, "expected a whole number")
    return int(value)


def take_flash(request: Request) -> str | None:
    """The message the last action left in the session, once."""
    flash = request.session.pop("flash", None)
    return str(flash) if flash else None


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
            "label": lambda kind, value: label(kind, value, lang),
            "may": lambda action: user is not None and allowed(user.role, Action(action)),
            "local": lambda when, fmt="%d/%m %H:%M": when.astimezone(VN_TZ).strftime(fmt),
            **context,
        },
        status_code=status,
    )
