"""Admins manage the console's users, their sessions and sign-in locks, and the directory."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from intake.store import audit, sessions
from intake.store.auth import UserError, create_user, set_active, set_password, set_role
from intake.store.directory import save_units
from intake.store.models import Role, Unit, User
from intake.web.console.render import int_param, render, services_of, user_of
from intake.web.console.session import check_csrf
from intake.web.permissions import Action
from routing.directory import parse_directory, render_import_report

router = APIRouter(prefix="/console/admin", include_in_schema=False)
MAX_UPLOAD = 8 * 1024 * 1024
# A gzip upload may not unpack to more than this (a 200 KB bomb unpacks to gigabytes).
MAX_UNPACKED = 64 * 1024 * 1024


def _admin(request: Request) -> User:
    return user_of(request, Action.ADMIN)


def _page(request: Request, user: User, status: int = 200, **extra: Any) -> HTMLResponse:
    services = services_of(request)
    with services.db.reader() as session:
        users = list(session.scalars(select(User).order_by(User.username)))
        units = session.scalar(select(func.count()).select_from(Unit)) or 0
        demo = session.scalar(select(func.count()).select_from(Unit).where(Unit.demo)) or 0
        live = sessions.live_counts(session=session)
        locked = sessions.locked(session=session)
    return render(
        request,
        "admin.html",
        user,
        status=status,
        users=users,
        units=units,
        demo=demo,
        live=live,
        locked=locked,
        roles=[str(r) for r in Role],
        **extra,
    )


@router.get("/", response_class=HTMLResponse)
def admin_page(request: Request) -> HTMLResponse:
    return _page(request, _admin(request))


async def _admin_form(
    request: Request, change: Callable[[Session, User, dict[str, str]], str | None]
) -> Response:
    """Run one administrator's change from a form; errors are shown on the page."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, form.get("csrf", ""))
    services = services_of(request)

    def run() -> str | None:
        admin = _admin(request)
        with services.db.writer() as session:
            return change(session, admin, form)

    error = await run_in_threadpool(run)
    if error:
        return await run_in_threadpool(lambda: _page(request, _admin(request), 400, error=error))
    return RedirectResponse("/console/admin/", status_code=303)


def _target(session: Session, admin: User, form: dict[str, str]) -> User | None:
    target = session.get(User, int_param(form.get("user_id"), limit=2**31) or 0)
    return None if target is None or target.id == admin.id else target


def _users(session: Session, admin: User, form: dict[str, str]) -> str | None:
    """Create a user, switch one on or off, or give one a new password."""
    if form.get("action") in ("toggle", "password", "role"):
        target = _target(session, admin, form)
        if target is None:
            return "cannot change that account"
        if form["action"] == "toggle":
            set_active(session=session, user=target, active=not target.active)
            detail: dict[str, Any] = {"user": target.username, "active": target.active}
        elif form["action"] == "role":
            try:
                set_role(
                    session=session,
                    user=target,
                    role=Role(form.get("role", "")),
                    unit_id=form.get("unit_id", "").strip()[:64] or None,
                )
            except (UserError, ValueError) as exc:
                return str(exc)
            detail = {"user": target.username, "role": target.role, "unit": target.unit_id}
        else:
            try:
                set_password(session=session, user=target, password=form.get("password", ""))
            except UserError as exc:
                return str(exc)
            detail = {"user": target.username, "password": "changed"}
        audit.record(session=session, user=admin, action=f"user_{form['action']}", detail=detail)
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


def _end_sessions(session: Session, admin: User, form: dict[str, str]) -> str | None:
    """End every console session of one user."""
    target = _target(session, admin, form)
    if target is None:
        return "cannot change that account"
    ended = sessions.end_all(session=session, user_id=target.id, why="admin")
    audit.record(
        session=session,
        user=admin,
        action="sessions_end",
        detail={"user": target.username, "ended": ended},
    )
    return None


def _unlock(session: Session, admin: User, form: dict[str, str]) -> str | None:
    """Lift every address's sign-in lock on one username."""
    username = form.get("username", "")[:64]
    sessions.unlock(session=session, username=username)
    audit.record(session=session, user=admin, action="unlock", detail={"user": username})
    return None


@router.post("/users")
async def users(request: Request) -> Response:
    return await _admin_form(request, _users)


@router.post("/sessions")
async def end_sessions(request: Request) -> Response:
    return await _admin_form(request, _end_sessions)


@router.post("/unlock")
async def unlock(request: Request) -> Response:
    return await _admin_form(request, _unlock)


def unpacked(raw: bytes) -> bytes:
    """The upload, gunzipped if it is gzip, refused (413) past MAX_UNPACKED bytes."""
    if raw[:2] != b"\x1f\x8b":
        return raw
    inflate = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        data = inflate.decompress(raw, MAX_UNPACKED + 1)
    except zlib.error as exc:
        raise HTTPException(400, "the file is not valid gzip") from exc
    if len(data) > MAX_UNPACKED or inflate.unconsumed_tail:
        raise HTTPException(413, "directory file over 64 MiB unpacked")
    return data


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
        data = unpacked(raw)
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
