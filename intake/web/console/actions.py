"""The incident page's actions: one form per action, each checked against the table."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from intake.pipeline.acknowledge import acknowledge
from intake.pipeline.context import Services
from intake.pipeline.corrections import correct
from intake.pipeline.deliver import queue_reply
from intake.pipeline.feedback import overrule_level
from intake.pipeline.incidents import TransitionError, change_status
from intake.pipeline.merge import merge_into
from intake.pipeline.responders import record_outcome
from intake.pipeline.route import route_incident, withdraw_elsewhere
from intake.pipeline.searching import reindex
from intake.pipeline.updates import send_summary
from intake.store import audit
from intake.store.auth import UNIT_ROLES, may_see
from intake.store.erasure import erase_incident
from intake.store.models import Assignment, Event, Incident, Status, User
from intake.store.timeline import add_event
from intake.web.console.details import details_from_form
from intake.web.console.incident import OUTCOMES, SUPPORT_KINDS, show_incident
from intake.web.console.render import int_param, services_of, user_of
from intake.web.console.session import check_csrf
from intake.web.permissions import CONSOLE_ACTIONS, Action, require

router = APIRouter(prefix="/console", include_in_schema=False)
STALE = (
    "Sự việc vừa được người khác cập nhật — tải lại trang. "
    "(Someone else changed this incident: reload; nothing was saved.)"
)
NO_SUCH_REFERENCE = "give the reference of another incident"


def _unit_assignments(
    session: Session, incident: Incident, user: User, unit_id: str
) -> list[Assignment]:
    """The incident's assignments to a unit: a unit user may name only their own."""
    if user.role in UNIT_ROLES and unit_id != user.unit_id:
        raise HTTPException(403, "you can act only for your own unit")
    found = list(
        session.scalars(
            select(Assignment).where(
                Assignment.incident_id == incident.id, Assignment.unit_id == unit_id
            )
        )
    )
    if not found:
        raise ValueError("that unit has no alert for this incident")
    return found


def _set_location(
    session: Session, services: Services, incident: Incident, form: dict[str, str], actor: str
) -> None:
    code = int_param(form.get("ward_code"), limit=10**7) or 0
    if not code and form.get("place", "").strip():
        code = services.pipeline.resolver.resolve(form["place"][:300]).ward_code or 0
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
    reindex(session=session, services=services, incident=incident)  # found by its new place


def _mark_duplicate(
    session: Session,
    services: Services,
    incident: Incident,
    user: User,
    form: dict[str, str],
    actor: str,
) -> None:
    """Merge into the incident named (intake/pipeline/merge.py). An unknown reference and
    one the user may not see get the same answer."""
    other = session.scalars(
        select(Incident).where(Incident.reference == form.get("of", "").strip()[:32])
    ).first()
    if (
        other is None
        or other.id == incident.id
        or not may_see(session=session, user=user, incident_id=other.id)
    ):
        raise ValueError(NO_SUCH_REFERENCE)
    merge_into(session=session, services=services, duplicate=incident, survivor=other, actor=actor)


def _note(
    session: Session, services: Services, incident: Incident, form: dict[str, str], user: User
) -> None:
    """A note; the hotline's summary of a call, marked for the units, goes to every unit
    alerted so far as an update of the reference."""
    text = form.get("text", "")[:4000]
    actor = f"user:{user.username}"
    to_units = bool(form.get("to_units"))
    if to_units and user.role in UNIT_ROLES:
        raise ValueError("only the hotline sends its summary to the units")
    if to_units and not text.strip():
        raise ValueError("write the summary for the units")
    note = Event(incident_id=incident.id, actor=actor, action="note", detail={"text": text})
    session.add(note)
    if to_units:
        session.flush()  # the note's id makes its update to each unit one of a kind
        sent = send_summary(
            session=session, services=services, incident=incident, event_id=note.id, text=text
        )
        note.detail = {"text": text, "to_units": sent}


def _act(
    services: Services, user: User, incident: Incident, session: Session, form: dict[str, str]
) -> None:
    """Carry out one permitted console action on a locked, current incident."""
    action = form.get("action", "")
    actor = f"user:{user.username}"
    if action == "status":
        try:
            to = Status(form.get("to", ""))
        except ValueError as exc:
            raise ValueError("choose a status") from exc
        change_status(
            session=session,
            incident=incident,
            status=to,
            actor=actor,
            reason=form.get("reason", ""),
        )
    elif action == "level":
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
        _set_location(session, services, incident, form, actor)
    elif action == "reroute":
        route_incident(session=session, services=services, incident=incident, actor=actor)
    elif action == "reply":
        text = form.get("text", "").strip()
        if not text:
            raise ValueError("write the reply")
        queue_reply(session=session, incident_id=incident.id, text=text)
        add_event(session=session, incident=incident, actor=actor, action="replied", detail={})
    elif action == "note":
        _note(session, services, incident, form, user)
    elif action == "acknowledge":
        assignments = _unit_assignments(session, incident, user, form.get("unit_id", ""))
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
    elif action == "outcome":
        unit_id = user.unit_id if user.role in UNIT_ROLES else form.get("unit_id", "")
        _unit_assignments(session, incident, user, unit_id or "")
        if form.get("outcome") not in OUTCOMES:
            raise ValueError("choose the outcome")
        record_outcome(
            session=session,
            incident=incident,
            unit_id=unit_id or "",
            outcome=form["outcome"],
            note=form.get("text", "").strip(),
            actor=actor,
            via="console" if user.role in UNIT_ROLES else "phone",
        )
    elif action == "duplicate":
        _mark_duplicate(session, services, incident, user, form, actor)
    elif action == "erase":
        reason = form.get("reason", "").strip()
        if len(reason) < 5:
            raise ValueError("give the reason for the erasure (the request it answers)")
        erase_incident(session=session, reference=incident.reference, by=user, reason=reason)
    elif action == "details":
        changes = details_from_form(form)
        changed = correct(
            session=session, services=services, incident=incident, changes=changes, actor=actor
        )
        if "caller.consent" in changed:  # who decided that a contact may be shared
            audit.record(
                session=session,
                user=user,
                action="consent",
                incident_id=incident.id,
                detail={"consent": changes["caller"]["consent"]},
            )


@router.post("/incidents/{incident_id}/act")
async def incident_action(request: Request, incident_id: int) -> Response:
    """One action from the incident page; a stale page is refused, nothing overwritten."""
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items()}
    if "categories" in raw and len(raw.getlist("categories")) > 1:  # checkboxes
        form["categories"] = ",".join(str(v) for v in raw.getlist("categories"))
    check_csrf(request, form.get("csrf", ""))
    services = services_of(request)
    action = CONSOLE_ACTIONS.get(form.get("action", ""))
    if action is None:
        raise HTTPException(400, "unknown action")

    def run() -> str | None:
        user = user_of(request, Action.CONSOLE)
        require(user, action)
        with services.db.writer() as session:
            incident = (
                session.get(Incident, incident_id, with_for_update=True)
                if 0 < incident_id < 2**31
                else None
            )
            if incident is None:
                raise HTTPException(404, "no such incident")
            if not may_see(session=session, user=user, incident_id=incident_id):
                audit.record(session=session, user=user, action="denied", incident_id=incident_id)
                return "denied"
            if form.get("version") != str(incident.version):
                return STALE
            try:
                with session.begin_nested():
                    _act(services, user, incident, session, form)
            except (ValueError, TransitionError) as exc:
                return str(exc)
            audit.record(
                session=session,
                user=user,
                action=form["action"],
                incident_id=incident_id,
                detail={"action": form["action"]},
            )
        return None

    error = await run_in_threadpool(run)
    if error == "denied":
        raise HTTPException(403, "this incident is not routed to your unit")
    if error:
        return await run_in_threadpool(show_incident, request, incident_id, error, 409)
    request.session["flash"] = "Đã lưu. (Saved.)"
    return RedirectResponse(f"/console/incidents/{incident_id}", status_code=303)
