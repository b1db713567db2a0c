"""The queue: open incidents by level then age, its filters and its live updates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import case, func, select
from starlette.concurrency import run_in_threadpool

from intake.pipeline.acknowledge import Silent, silent_units
from intake.pipeline.context import Services
from intake.pipeline.unmatched import count_waiting
from intake.store import audit
from intake.store.auth import UNIT_ROLES
from intake.store.models import OPEN_STATUSES, Assignment, Incident, Status, User, utcnow
from intake.web import permissions
from intake.web.console.render import int_param, render, services_of, user_of
from intake.web.console.session import NotSignedIn, current_user

router = APIRouter(prefix="/console", include_in_schema=False)
LEVELS = ["P1", "P2", "P3", "P4", "SPAM"]
CHANNELS = ["voice", "sms", "telegram", "zalo", "web_form", "api"]
LEVEL_ORDER = case({"P1": 0, "P2": 1, "P3": 2, "P4": 3, "SPAM": 4}, value=Incident.level, else_=5)
EVENT_SECONDS = 2.0
EVENT_STREAM_SECONDS = 300


def scoped(query: Any, user: User) -> Any:
    """Police and social workers see only incidents routed to their unit."""
    if user.role in UNIT_ROLES:
        query = query.join(Assignment, Assignment.incident_id == Incident.id).where(
            Assignment.unit_id == user.unit_id
        )
    return query


def _filters(params: dict[str, str]) -> dict[str, Any]:
    """The page's filters, checked (400 for a value no filter takes)."""
    checked: dict[str, Any] = {}
    for name, allowed in (
        ("level", LEVELS),
        ("status", [str(s) for s in Status]),
        ("channel", CHANNELS),
    ):
        if params.get(name):
            if params[name] not in allowed:
                raise HTTPException(400, f"unknown {name}")
            checked[name] = params[name]
    province = int_param(params.get("province"), limit=10**6)
    if province is not None:
        checked["province"] = province
    if params.get("needs_location"):
        checked["needs_location"] = True
    if params.get("needs_review"):
        checked["needs_review"] = True
    return checked


def _deadline(
    services: Services, incident: Incident, silent: Silent | None, acked: bool, now: datetime
) -> dict[str, Any]:
    """The deadline column: the unit that has not acknowledged and was due first (even
    when another one has acknowledged), or, before any unit is alerted, the incident's."""
    deadline = services.routing.ack_deadline(incident.level)
    if silent is not None:
        due, unit, others = silent.due, silent.unit_name, silent.others
    elif deadline is not None and not acked:
        due, unit, others = incident.received_at + deadline, None, 0
    else:
        return {"due": None, "sla_minutes": None, "silent_unit": None, "silent_others": 0}
    minutes = int((due - now).total_seconds() // 60)
    return {
        "due": due.isoformat(),
        "sla_minutes": minutes,
        "left": f"{abs(minutes) // 60}:{abs(minutes) % 60:02d}",
        "silent_unit": unit,
        "silent_others": others,
    }


def _queue(services: Services, user: User, params: dict[str, str]) -> list[dict[str, Any]]:
    """Open incidents by level then age, with the filters of the page."""
    filters = _filters(params)
    query = select(Incident).where(Incident.status.in_([str(s) for s in OPEN_STATUSES]))
    query = scoped(query, user)
    if "level" in filters:
        query = query.where(Incident.level == filters["level"])
    if "status" in filters:
        query = query.where(Incident.status == filters["status"])
    if "channel" in filters:
        query = query.where(Incident.channel == filters["channel"])
    if "province" in filters:
        query = query.where(Incident.province_code == filters["province"])
    if filters.get("needs_location"):
        query = query.where(Incident.ward_code.is_(None), Incident.level.in_(["P1", "P2", "P3"]))
    if filters.get("needs_review"):
        query = query.where(Incident.needs_review.is_(True))
    query = query.order_by(LEVEL_ORDER, Incident.received_at).limit(200)
    rows = []
    now = utcnow()
    with services.db.writer() as session:
        incidents = list(session.scalars(query).unique())
        silent = silent_units(session, incidents, services.routing.ack_deadline)
        for incident in incidents:
            acked = session.scalar(
                select(func.count())
                .select_from(Assignment)
                .where(
                    Assignment.incident_id == incident.id, Assignment.acknowledged_at.is_not(None)
                )
            )
            rows.append(
                {
                    "incident": incident,
                    "place": services.geography.place_name(
                        incident.ward_code, incident.province_code
                    ),
                    "waiting": int((now - incident.received_at).total_seconds() // 60),
                    "acked": bool(acked),
                    **_deadline(services, incident, silent.get(incident.id), bool(acked), now),
                }
            )
        # Who saw which incidents in a list is kept, as for a single incident's page.
        audit.record(
            session=session,
            user=user,
            action="queue_view",
            detail={"ids": [row["incident"].id for row in rows], "filters": params},
        )
    return rows


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request) -> HTMLResponse:
    user = user_of(request)
    params = {k: v[:64] for k, v in request.query_params.items()}
    services = services_of(request)
    rows = _queue(services, user, params)
    with services.db.reader() as session:
        waiting = (
            count_waiting(session)
            if permissions.allowed(user.role, permissions.Action.INBOX)
            else 0
        )
    return render(
        request,
        "queue.html",
        user,
        rows=rows,
        waiting=waiting,
        params=params,
        levels=LEVELS,
        statuses=[str(s) for s in OPEN_STATUSES],
        channels=CHANNELS,
    )


@router.get("/queue", response_class=HTMLResponse)
def queue_rows(request: Request) -> HTMLResponse:
    """The rows alone, for the live update (which does not keep an idle session alive)."""
    user = user_of(request, touch=False)
    params = {k: v[:64] for k, v in request.query_params.items()}
    rows = _queue(services_of(request), user, params)
    return render(request, "_rows.html", user, rows=rows)


@router.get("/events")
async def events(request: Request) -> StreamingResponse:
    """Server-sent events: "changed" whenever an incident the user may see changes.

    The stream does not renew the session, and stops as soon as the session ends.
    """
    user = await run_in_threadpool(lambda: user_of(request, touch=False))
    services = services_of(request)

    def latest() -> str | None:
        try:
            current_user(services, request, touch=False)
        except NotSignedIn:
            return None
        with services.db.reader() as session:
            query = scoped(select(func.max(Incident.updated_at), func.count(Incident.id)), user)
            newest, count = session.execute(query).one()
        return f"{newest}|{count}"

    async def stream() -> AsyncIterator[str]:
        seen = await run_in_threadpool(latest)
        yield "retry: 3000\n\n"
        for _ in range(int(EVENT_STREAM_SECONDS / EVENT_SECONDS)):
            if await request.is_disconnected():
                return
            await asyncio.sleep(EVENT_SECONDS)
            now = await run_in_threadpool(latest)
            if now is None:
                yield "event: signed_out\ndata: {}\n\n"
                return
            if now != seen:
                seen = now
                yield "event: changed\ndata: {}\n\n"
            else:
                yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
