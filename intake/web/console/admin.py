"""Admins manage the console's users and the directory of responsible units."""

from __future__ import annotations

import gzip
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from intake.store import audit
from intake.store.auth import UserError, create_user
from intake.store.directory import save_units
from intake.store.models import Role, Unit, User
from intake.web.console.render import render, services_of, user_of
from intake.web.console.session import check_csrf
from routing.directory import parse_directory, render_import_report

router = APIRouter(prefix="/console/admin", include_in_schema=False)
MAX_UPLOAD = 8 * 1024 * 1024


def _admin(request: Request) -> User:
    user = user_of(request)
    if user.role != Role.ADMIN:
        raise HTTPException(403, "administrators only")
    return user


def _page(request: Request, user: User, status: int = 200, **extra: Any) -> HTMLResponse:
    services = services_of(request)
    with services.db.reader() as session:
        users = list(session.scalars(select(User).order_by(User.username)))
        units = session.scalar(select(func.count()).select_from(Unit)) or 0
        demo = session.scalar(select(func.count()).select_from(Unit).where(Unit.demo)) or 0
    return render(
        request,
        "admin.html",
        user,
        status=status,
        users=users,
        units=units,
        demo=demo,
        roles=[str(r) for r in Role],
        **extra,
    )


@router.get("/", response_class=HTMLResponse)
def admin_page(request: Request) -> HTMLResponse:
    return _page(request, _admin(request))


@router.post("/users")
async def users(request: Request) -> Response:
    """Create a user, or switch one on or off."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, form.get("csrf", ""))
    services = services_of(request)

    def run() -> str | None:
        admin = _admin(request)
        with services.db.writer() as session:
            if form.get("action") == "toggle":
                target = session.get(User, int(form.get("user_id", "0") or 0))
                if target is None or target.id == admin.id:
                    return "cannot change that account"
                target.active = not target.active
                audit.record(
                    session=session,
                    user=admin,
                    action="user_toggle",
                    detail={"user": target.username, "active": target.active},
                )
                return None
            try:
                role = Role(form.get("role", ""))
                created = create_user(
                    session=session,
                    username=form.get("username", "").strip(),
                    role=role,
                    password=form.get("password", ""),
                    unit_id=form.get("unit_id") or None,
                )
            except (UserError, ValueError) as exc:
                return str(exc)
            audit.record(
                session=session,
                user=admin,
                action="user_create",
                detail={"user": created.username, "role": str(role)},
            )
        return None

    error = await run_in_threadpool(run)
    if error:
        return await run_in_threadpool(lambda: _page(request, _admin(request), 400, error=error))
    return RedirectResponse("/console/admin/", status_code=303)


@router.post("/directory")
async def directory(request: Request) -> Response:
    """Load a directory CSV (or .csv.gz); bad rows are listed, the rest loads."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise HTTPException(400, "choose a CSV file")
    raw = await upload.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise HTTPException(413, "directory file over 8 MiB")
    services = services_of(request)

    def run() -> str:
        admin = _admin(request)
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return "the file is not UTF-8 text"
        result = parse_directory(
            text,
            ward_province={c: w.province_code for c, w in services.geography.wards.items()},
            provinces=services.geography.provinces,
        )
        with services.db.writer() as session:
            save_units(session=session, units=result.units)
            audit.record(
                session=session,
                user=admin,
                action="directory_import",
                detail={"loaded": len(result.units), "rejected": len(result.rejected)},
            )
        return render_import_report(result)

    report = await run_in_threadpool(run)
    return await run_in_threadpool(lambda: _page(request, _admin(request), report=report))
