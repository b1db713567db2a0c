"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from intake.web.console.render import render, services_of
from intake.web.console.session import check_csrf, check_origin, sign_in, sign_out

router = APIRouter(prefix="/console", include_in_schema=False)


def local_console_path(referer: str | None) -> str:
    """The console path a Referer names, or the queue: never another site or page."""
    parts = urlsplit(referer or "")
    path = parts.path
    if not path.startswith("/console/") or "//" in path or "\\" in path:
        return "/console/"
    return path + (f"?{parts.query}" if parts.query else "")


@router.get("/lang")
def switch_language(request: Request, to: str = "vi") -> Response:
    """Vietnamese first; English on request, kept in the session."""
    request.session["lang"] = "en" if to == "en" else "vi"
    return RedirectResponse(local_console_path(request.headers.get("referer")), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None)


@router.post("/login")
async def login(request: Request) -> Response:
    services = services_of(request)
    check_origin(services, request)
    form = await request.form()
    refused = await run_in_threadpool(
        sign_in,
        services,
        request,
        str(form.get("username", "")),
        str(form.get("password", "")),
    )
    if refused:
        status, error = refused
        return render(request, "login.html", None, status=status, error=error)
    return RedirectResponse("/console/", status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    await run_in_threadpool(sign_out, services_of(request), request)
    return RedirectResponse("/console/login", status_code=303)
