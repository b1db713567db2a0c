"""The operators' console: queue, incident page and its actions, audit, statistics."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from rapidfuzz import fuzz
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels.registry import specs
from intake.pipeline.acknowledge import acknowledge
from intake.pipeline.context import Services
from intake.pipeline.deliver import queue_reply
from intake.pipeline.feedback import overrule_level
from intake.pipeline.incidents import TransitionError, change_status
from intake.pipeline.route import route_incident, withdraw_elsewhere
from intake.store import audit
from intake.store.auth import UNIT_ROLES, may_see
from intake.store.models import (
    OPEN_STATUSES,
    Alert,
    Assignment,
    AuditEntry,
    Event,
    Incident,
    Role,
    Status,
    User,
    utcnow,
)
from intake.store.timeline import add_event
from intake.store.times import VN_TZ
from intake.web.console.render import render, services_of, user_of
from intake.web.console.session import check_csrf, sign_in

router = APIRouter(prefix="/console", include_in_schema=False)
LEVEL_ORDER = case({"P1": 0, "P2": 1, "P3": 2, "P4": 3, "SPAM": 4}, value=Incident.level, else_=5)
SUPERVISORS = {Role.SUPERVISOR, Role.ADMIN}
OPERATORS = {Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN}
EVENT_SECONDS = 2.0
# The support the plans count in the periodic report.
SUPPORT_KINDS = {
    "counselling": "Tư vấn, hỗ trợ tâm lý",
    "medical": "Khám, chữa bệnh",
    "legal": "Trợ giúp pháp lý",
    "shelter": "Nơi ở tạm thời",
    "essentials": "Nhu yếu phẩm, ăn ở",
    "travel": "Chi phí đi lại",
    "papers": "Giấy tờ tùy thân, hộ tịch",
    "education": "Học văn hóa",
    "vocational": "Học nghề",
    "loan": "Vay vốn",
    "reintegration": "Hòa nhập cộng đồng",
    "referral": "Chuyển gửi dịch vụ khác",
}
EVENT_STREAM_SECONDS = 300


@router.get("/lang")
def switch_language(request: Request, to: str = "vi") -> Response:
    """Vietnamese first; English on request, kept in the session."""
    request.session["lang"] = "en" if to == "en" else "vi"
    back = request.headers.get("referer", "/console/")
    return RedirectResponse(back if "/console" in back else "/console/", status_code=303)


def _scoped(query: Any, user: User) -> Any:
    """Police and social workers see only incidents routed to their unit."""
    if user.role in UNIT_ROLES:
        query = query.join(Assignment, Assignment.incident_id == Incident.id).where(
            Assignment.unit_id == user.unit_id
        )
    return query


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    error = await run_in_threadpool(
        sign_in,
        services_of(request),
        request,
        str(form.get("username", "")),
        str(form.get("password", "")),
    )
    if error:
        return render(request, "login.html", None, status=401, error=error)
    return RedirectResponse("/console/", status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    request.session.clear()
    return RedirectResponse("/console/login", status_code=303)


def _queue(services: Services, user: User, params: dict[str, str]) -> list[dict[str, Any]]:
    """Open incidents by level then age, with the filters of the page."""
    query = select(Incident).where(Incident.status.in_([str(s) for s in OPEN_STATUSES]))
    query = _scoped(query, user)
    if params.get("level"):
        query = query.where(Incident.level == params["level"])
    if params.get("status"):
        query = query.where(Incident.status == params["status"])
    if params.get("channel"):
        query = query.where(Incident.channel == params["channel"])
    if params.get("province", "").isdigit():
        query = query.where(Incident.province_code == int(params["province"]))
    if params.get("needs_location"):
        query = query.where(Incident.ward_code.is_(None), Incident.level.in_(["P1", "P2", "P3"]))
    query = query.order_by(LEVEL_ORDER, Incident.received_at).limit(200)
    rows = []
    now = utcnow()
    with services.db.reader() as session:
        for incident in session.scalars(query).unique():
            acked = session.scalar(
                select(func.count())
                .select_from(Assignment)
                .where(
                    Assignment.incident_id == incident.id, Assignment.acknowledged_at.is_not(None)
                )
            )
            deadline = services.routing.ack_deadline(incident.level)
            remaining = None
            if deadline is not None and not acked:
                remaining = int((incident.received_at + deadline - now).total_seconds() // 60)
            rows.append(
                {
                    "incident": incident,
                    "place": services.geography.place_name(
                        incident.ward_code, incident.province_code
                    ),
                    "waiting": int((now - incident.received_at).total_seconds() // 60),
                    "sla_minutes": remaining,
                }
            )
    return rows


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request) -> HTMLResponse:
    user = user_of(request)
    params = dict(request.query_params)
    rows = _queue(services_of(request), user, params)
    return render(
        request,
        "queue.html",
        user,
        rows=rows,
        params=params,
        levels=["P1", "P2", "P3", "P4", "SPAM"],
        statuses=[str(s) for s in OPEN_STATUSES],
        channels=[spec.channel for spec in specs()],
    )


@router.get("/queue", response_class=HTMLResponse)
def queue_rows(request: Request) -> HTMLResponse:
    """The rows alone, for the live update."""
    user = user_of(request)
    rows = _queue(services_of(request), user, dict(request.query_params))
    return render(request, "_rows.html", user, rows=rows)


@router.get("/events")
async def events(request: Request) -> StreamingResponse:
    """Server-sent events: "changed" whenever an incident the user may see changes."""
    user = await run_in_threadpool(user_of, request)
    services = services_of(request)

    def latest() -> str:
        with services.db.reader() as session:
            query = _scoped(select(func.max(Incident.updated_at), func.count(Incident.id)), user)
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
            if now != seen:
                seen = now
                yield "event: changed\ndata: {}\n\n"
            else:
                yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


def _duplicates(session: Session, incident: Incident) -> list[tuple[Incident, float]]:
    """Recent open incidents that look like this one (place, victim, words)."""
    query = select(Incident).where(
        Incident.id != incident.id,
        Incident.status.in_([str(s) for s in OPEN_STATUSES]),
        Incident.received_at >= incident.received_at - timedelta(days=14),
    )
    if incident.province_code is not None:
        query = query.where(Incident.province_code == incident.province_code)
    scored = []
    for other in session.scalars(query.order_by(Incident.id.desc()).limit(200)):
        score = fuzz.token_set_ratio(incident.summary or "", other.summary or "")
        if incident.ward_code is not None and other.ward_code == incident.ward_code:
            score += 15
        if incident.victim_age is not None and other.victim_age == incident.victim_age:
            score += 10
        if score >= 70:
            scored.append((other, min(100.0, score)))
    return sorted(scored, key=lambda item: -item[1])[:3]


def _incident_context(
    services: Services, session: Session, incident: Incident, user: User
) -> dict[str, Any]:
    assignments = list(
        session.scalars(
            select(Assignment).where(Assignment.incident_id == incident.id).order_by(Assignment.id)
        )
    )
    alerts = list(
        session.scalars(select(Alert).where(Alert.incident_id == incident.id).order_by(Alert.id))
    )
    timeline = list(
        session.scalars(select(Event).where(Event.incident_id == incident.id).order_by(Event.id))
    )
    trail = []
    if user.role in SUPERVISORS:
        trail = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.incident_id == incident.id)
                .order_by(AuditEntry.id)
            )
        )
    return {
        "incident": incident,
        "assignments": [(a, a.unit) for a in assignments],
        "alerts": alerts,
        "timeline": timeline,
        "trail": trail,
        "duplicates": _duplicates(session, incident) if user.role in OPERATORS else [],
        "place": services.geography.place_name(incident.ward_code, incident.province_code),
        "provinces": sorted(services.geography.provinces.values(), key=lambda p: p.name),
        "statuses": [str(s) for s in Status],
        "support_kinds": SUPPORT_KINDS,
    }


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    request: Request, incident_id: int, error: str | None = None, status: int = 200
) -> HTMLResponse:
    user = user_of(request)
    services = services_of(request)
    with services.db.writer() as session:
        incident = session.get(Incident, incident_id) if 0 < incident_id < 2**31 else None
        if incident is None:
            raise HTTPException(404, "no such incident")
        if not may_see(session=session, user=user, incident_id=incident_id):
            audit.record(session=session, user=user, action="denied", incident_id=incident_id)
            denied = True
        else:
            denied = False
            audit.record(session=session, user=user, action="view", incident_id=incident_id)
            context = _incident_context(services, session, incident, user)
    if denied:
        raise HTTPException(403, "this incident is not routed to your unit")
    province = request.query_params.get("province", "")
    wards = []
    if province.isdigit() and int(province) in services.geography.provinces:
        wards = sorted(
            (
                services.geography.wards[c]
                for c in services.geography.wards_of_province[int(province)]
            ),
            key=lambda w: w.name,
        )
    return render(
        request,
        "incident.html",
        user,
        status=status,
        error=error,
        wards=wards,
        chosen_province=province,
        **context,
    )


def _act(
    services: Services, user: User, incident: Incident, session: Session, form: dict[str, str]
) -> str:
    """Carry out one console action on a locked, current incident; returns what was done."""
    action = form.get("action", "")
    actor = f"user:{user.username}"
    if action == "status":
        change_status(
            session=session,
            incident=incident,
            status=Status(form.get("to", "")),
            actor=actor,
            reason=form.get("reason", ""),
        )
    elif action == "level":
        if user.role not in OPERATORS:
            raise HTTPException(403, "only operators change the level")
        categories = [c.strip() for c in form.get("categories", "").split(",") if c.strip()]
        overrule_level(
            session=session,
            incident=incident,
            level=form.get("level", ""),
            categories=categories or None,
            reason=form.get("reason", "").strip(),
            actor=actor,
        )
        route_incident(session=session, services=services, incident=incident, actor=actor)
    elif action == "location":
        code = int(form.get("ward_code", "0") or 0)
        ward = services.geography.ward(code)
        if ward is None:
            raise ValueError("choose a commune")
        incident.ward_code, incident.province_code = ward.code, ward.province_code
        incident.location_set_by_operator = True
        incident.location_confidence = 1.0
        incident.location_source = "operator"
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="location_set",
            detail={"ward_code": code},
        )
        withdraw_elsewhere(session=session, incident=incident, actor=actor)
        route_incident(session=session, services=services, incident=incident, actor=actor)
    elif action == "reroute":
        route_incident(session=session, services=services, incident=incident, actor=actor)
    elif action == "reply":
        text = form.get("text", "").strip()
        if not text:
            raise ValueError("write the reply")
        queue_reply(session=session, incident_id=incident.id, text=text)
        add_event(session=session, incident=incident, actor=actor, action="replied", detail={})
    elif action == "note":
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="note",
            detail={"text": form.get("text", "")[:4000]},
        )
    elif action == "acknowledge":
        unit_id = form.get("unit_id", "")
        if user.role in UNIT_ROLES and unit_id != user.unit_id:
            raise HTTPException(403, "you can acknowledge only for your own unit")
        assignments = list(
            session.scalars(
                select(Assignment).where(
                    Assignment.incident_id == incident.id, Assignment.unit_id == unit_id
                )
            )
        )
        if not assignments:
            raise ValueError("that unit has no alert for this incident")
        acknowledge(
            session=session,
            incident=incident,
            assignments=assignments,
            by=actor,
            via="console" if user.role in UNIT_ROLES else "phone",
        )
    elif action == "support":
        kind = form.get("support", "")
        if kind not in SUPPORT_KINDS:
            raise ValueError("choose the support given")
        incident.support_given = [*incident.support_given, kind]
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="support",
            detail={"support": kind, "text": form.get("text", "")[:500]},
        )
    elif action == "duplicate":
        other = session.scalars(
            select(Incident).where(Incident.reference == form.get("of", "").strip())
        ).first()
        if other is None or other.id == incident.id:
            raise ValueError("give the reference of another incident")
        change_status(
            session=session,
            incident=incident,
            status=Status.DUPLICATE,
            actor=actor,
            reason=f"duplicate of {other.reference}",
        )
        incident.duplicate_of_id = other.id
    else:
        raise ValueError(f"unknown action {action!r}")
    return action


@router.post("/incidents/{incident_id}/act")
async def incident_action(request: Request, incident_id: int) -> Response:
    """One action from the incident page; a stale page is refused, nothing overwritten."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, form.get("csrf", ""))
    services = services_of(request)

    def run() -> str | None:
        user = user_of(request)
        with services.db.writer() as session:
            incident = session.get(Incident, incident_id, with_for_update=True)
            if incident is None:
                raise HTTPException(404, "no such incident")
            if not may_see(session=session, user=user, incident_id=incident_id):
                audit.record(session=session, user=user, action="denied", incident_id=incident_id)
                return "denied"
            if form.get("version") != str(incident.version):
                return (
                    "Sự việc vừa được người khác cập nhật — tải lại trang. "
                    "(Someone else changed this incident: reload; nothing was saved.)"
                )
            try:
                with session.begin_nested():
                    done = _act(services, user, incident, session, form)
            except (ValueError, TransitionError) as exc:
                return str(exc)
            audit.record(
                session=session,
                user=user,
                action=done,
                incident_id=incident_id,
                detail={"action": done},
            )
        return None

    error = await run_in_threadpool(run)
    if error == "denied":
        raise HTTPException(403, "this incident is not routed to your unit")
    if error:
        return await run_in_threadpool(incident_page, request, incident_id, error, 409)
    return RedirectResponse(f"/console/incidents/{incident_id}", status_code=303)


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request) -> HTMLResponse:
    """Tips by channel, level, category and province (30 days); time to acknowledge."""
    user = user_of(request)
    if user.role not in OPERATORS:
        raise HTTPException(403, "statistics are for the hotline's staff")
    services = services_of(request)
    since = utcnow() - timedelta(days=30)
    tables: dict[str, Counter[str]] = {
        k: Counter() for k in ("day", "channel", "level", "category", "province")
    }
    ack: dict[str, list[float]] = {}
    with services.db.reader() as session:
        for incident in session.scalars(select(Incident).where(Incident.received_at >= since)):
            tables["day"][incident.received_at.astimezone(VN_TZ).strftime("%Y-%m-%d")] += 1
            tables["channel"][incident.channel] += 1
            tables["level"][incident.level or "?"] += 1
            for category in incident.categories:
                tables["category"][category] += 1
            province = services.geography.province(incident.province_code or 0)
            tables["province"][province.name if province else "chưa rõ"] += 1
        for assignment in session.scalars(
            select(Assignment).where(
                Assignment.created_at >= since, Assignment.acknowledged_at.is_not(None)
            )
        ):
            if assignment.acknowledged_at is None:
                continue
            seconds = (assignment.acknowledged_at - assignment.created_at).total_seconds()
            ack.setdefault(assignment.unit_id, []).append(seconds)
    ack_rows = sorted(
        ((unit, sum(v) / len(v) / 60, len(v)) for unit, v in ack.items()), key=lambda row: -row[1]
    )
    return render(
        request,
        "stats.html",
        user,
        tables=tables,
        ack_rows=ack_rows[:50],
        chart=json.dumps({k: dict(v) for k, v in tables.items()}),
    )
