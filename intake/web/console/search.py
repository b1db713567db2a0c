"""The console's search box: any case by reference, phone, words or place, closed too."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from intake.store import audit
from intake.store.models import Incident, Status
from intake.store.search import search_condition
from intake.web.console.queue import LEVELS, scoped
from intake.web.console.render import render, services_of, user_of
from intake.web.permissions import Action

router = APIRouter(prefix="/console", include_in_schema=False)
RESULTS = 100


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: str = "", status: str = "", level: str = "") -> HTMLResponse:
    """Incidents matching the box, newest first, whatever their status; audited."""
    user = user_of(request, Action.INCIDENT_LIST)
    services = services_of(request)
    q = q[:200]
    if status and status not in {str(s) for s in Status}:
        raise HTTPException(400, "unknown status")
    if level and level not in LEVELS:
        raise HTTPException(400, "unknown level")
    rows = []
    if q.strip():
        query = scoped(select(Incident), user).where(search_condition(services.cipher, q))
        if status:
            query = query.where(Incident.status == status)
        if level:
            query = query.where(Incident.level == level)
        query = query.order_by(Incident.id.desc()).limit(RESULTS)
        with services.db.writer() as session:
            found = list(session.scalars(query).unique())
            rows = [
                {
                    "incident": i,
                    "place": services.geography.place_name(i.ward_code, i.province_code),
                }
                for i in found
            ]
            audit.record(
                session=session, user=user, action="search", detail={"ids": [i.id for i in found]}
            )
    return render(
        request,
        "search.html",
        user,
        q=q,
        rows=rows,
        chosen_status=status,
        level=level,
        statuses=[str(s) for s in Status],
        levels=LEVELS,
    )
