"""The incident page: conversation, triage, place, units, timeline and audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.prompts import UNIT_OUTCOMES
from intake.pipeline.context import Services
from intake.store import audit
from intake.store.auth import may_see
from intake.store.models import (
    OPEN_STATUSES,
    Alert,
    Assignment,
    AuditEntry,
    Event,
    Incident,
    Status,
    User,
)
from intake.web.console.options import choices
from intake.web.console.render import int_param, render, services_of, take_flash, user_of
from intake.web.permissions import Action, allowed

router = APIRouter(prefix="/console", include_in_schema=False)
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
OUTCOMES = list(UNIT_OUTCOMES)  # what a unit reports, as by button or reply


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


def review_reasons(incident: Incident) -> list[dict[str, Any]]:
    """The reasons that made triage's level provisional (their effect says "review")."""
    if not incident.needs_review:
        return []
    return [r for r in incident.reasons if "review" in str(r.get("effect", ""))]


def _context(
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
    if allowed(user.role, Action.AUDIT_TRAIL):
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
        "duplicates": _duplicates(session, incident)
        if allowed(user.role, Action.DUPLICATE)
        else [],
        "place": services.geography.place_name(incident.ward_code, incident.province_code),
        "provinces": sorted(services.geography.provinces.values(), key=lambda p: p.name),
        "statuses": [str(s) for s in Status],
        "support_kinds": SUPPORT_KINDS,
        "outcomes": OUTCOMES,
        "unit_names": {a.unit_id: a.unit.name for a in assignments},
        "review_reasons": review_reasons(incident),
        "caller_consent": bool(incident.tipster and incident.tipster.consent_to_share),
        "anonymous": incident.tipster_id is None,
    }


def show_incident(
    request: Request,
    incident_id: int,
    error: str | None = None,
    status: int = 200,
    contact: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The page, with an error of the server's own words (never one from the URL)."""
    user = user_of(request, Action.INCIDENT_READ)
    services = services_of(request)
    province = int_param(request.query_params.get("province"), limit=10**6)
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
            context = _context(services, session, incident, user)
    if denied:
        raise HTTPException(403, "this incident is not routed to your unit")
    wards = []
    if province is not None and province in services.geography.provinces:
        wards = sorted(
            (services.geography.wards[c] for c in services.geography.wards_of_province[province]),
            key=lambda w: w.name,
        )
    return render(
        request,
        "incident.html",
        user,
        status=status,
        error=error,
        notice=take_flash(request),
        wards=wards,
        chosen_province=str(province or ""),
        contact=contact,
        **choices(),
        **context,
    )


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: int) -> HTMLResponse:
    return show_incident(request, incident_id)
