"""Administration of the directory: find, edit and switch off units; who routing picks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, or_, select
from starlette.concurrency import run_in_threadpool

from intake.store import audit
from intake.store.models import Unit
from intake.store.search import CONTROL
from intake.web.console.render import int_param, render, services_of, user_of
from intake.web.console.session import check_csrf
from intake.web.permissions import Action
from routing.plan import UnitKind

router = APIRouter(prefix="/console/admin", include_in_schema=False)
SHOWN = 100
EDITABLE = ("name", "phone", "email", "telegram_chat_id", "zalo_user_id")
LIMITS = {"name": 255, "phone": 32, "email": 255, "telegram_chat_id": 64, "zalo_user_id": 64}


@router.get("/units", response_class=HTMLResponse)
def units_page(
    request: Request, q: str = "", province: str = "", ward: str = "", error: str = ""
) -> HTMLResponse:
    """Units by name or id, province or commune; for a commune, which unit routing uses."""
    user = user_of(request, Action.ADMIN)
    services = services_of(request)
    province_code = int_param(province, limit=10**6)
    ward_code = int_param(ward, limit=10**7)
    query = select(Unit).order_by(Unit.province_code, Unit.ward_code, Unit.kind, Unit.id)
    if q.strip():
        like = f"%{CONTROL.sub(' ', q).strip()[:100]}%"
        query = query.where(or_(Unit.name.ilike(like), Unit.id.ilike(like)))
    if province_code is not None:
        query = query.where(Unit.province_code == province_code)
    if ward_code is not None:
        query = query.where(Unit.ward_code == ward_code)
    chosen: dict[str, str] = {}
    with services.db.reader() as session:
        units = list(session.scalars(query.limit(SHOWN)))
        total = session.scalar(select(func.count()).select_from(Unit)) or 0
        if ward_code is not None and services.geography.ward(ward_code) is not None:
            ward_ = services.geography.ward(ward_code)
            assert ward_ is not None
            directory = services.directory_cache.get(
                session, ward_code=ward_code, province_code=ward_.province_code
            )
            for kind in UnitKind:
                picked = directory.find(
                    kind,
                    ward_code=ward_code,
                    province_code=ward_.province_code,
                    order=services.routing.channel_order,
                )
                if picked is not None:
                    chosen[str(kind)] = picked.id
    return render(
        request,
        "admin_units.html",
        user,
        units=units,
        total=total,
        q=q[:100],
        province_code=province_code,
        ward_code=ward_code,
        chosen=chosen,
        editable=EDITABLE,
        error=error or None,
    )


@router.post("/units")
async def change_unit(request: Request) -> Response:
    """Edit a unit's name and contacts, or switch it off (routing then skips it) and on."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, form.get("csrf", ""))
    services = services_of(request)

    def run() -> None:
        admin = user_of(request, Action.ADMIN)
        with services.db.writer() as session:
            unit = session.get(Unit, form.get("unit_id", "")[:64])
            if unit is None:
                raise HTTPException(404, "no such unit")
            detail: dict[str, Any] = {"unit": unit.id}
            if form.get("action") == "toggle":
                unit.active = not unit.active
                detail["active"] = unit.active
            else:
                for name in EDITABLE:
                    if name in form:
                        value = form[name].strip()[: LIMITS[name]] or None
                        if name == "name" and not value:
                            continue
                        if getattr(unit, name) != value:
                            setattr(unit, name, value)
                            detail[name] = "changed"
            audit.record(session=session, user=admin, action="unit_change", detail=detail)

    await run_in_threadpool(run)
    back = form.get("back", "")
    target = back if back.startswith("/console/admin/units") else "/console/admin/units"
    return RedirectResponse(target, status_code=303)
