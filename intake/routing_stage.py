"""After triage: route the incident to its units, queue the alerts, set escalation timers."""

from __future__ import annotations

import logging

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from channels.base import Channel
from intake import jobs
from intake.acks import escalation_key
from intake.alerts import alert_text
from intake.delivery import queue_alert, queue_reply
from intake.incidents import add_event
from intake.models import Assignment, Event, Incident, Status, Unit, utcnow
from intake.pipeline import analyse, apply
from intake.services import Services
from routing.plan import (
    Directory,
    RoutePlan,
    UnitKind,
    UnitRecord,
    escalation_target,
    plan_routes,
)

log = logging.getLogger(__name__)
ROUTABLE = {Status.TRIAGED, Status.ROUTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS}
CHAT_CHANNELS = {Channel.TELEGRAM, Channel.ZALO, Channel.SMS}
ASK_LOCATION = (
    "Tổng đài 111 đã nhận tin của bạn (mã {reference}). Bạn cho biết việc này xảy ra ở "
    "đâu: thôn/xóm, xã/phường, tỉnh/thành phố? / Where is this happening (commune, province)?"
)


def unit_record(unit: Unit) -> UnitRecord:
    """A directory row as the routing library sees it."""
    return UnitRecord(
        id=unit.id,
        kind=UnitKind(unit.kind),
        name=unit.name,
        province_code=unit.province_code,
        ward_code=unit.ward_code,
        telegram_chat_id=unit.telegram_chat_id,
        zalo_user_id=unit.zalo_user_id,
        phone=unit.phone,
        email=unit.email,
    )


def directory_for(
    session: Session, *, ward_code: int | None, province_code: int | None
) -> Directory:
    """The units that can matter for one place: its commune, its province, the supervisors."""
    conditions = [Unit.kind == UnitKind.HOTLINE_SUPERVISOR]
    if ward_code is not None:
        conditions.append(Unit.ward_code == ward_code)
    if province_code is not None:
        conditions.append((Unit.province_code == province_code) & Unit.ward_code.is_(None))
    units = session.scalars(select(Unit).where(or_(*conditions)))
    return Directory(unit_record(u) for u in units)


def plan_for(session: Session, services: Services, incident: Incident) -> RoutePlan:
    """The route plan of an incident as it stands."""
    return plan_routes(
        level=incident.level,
        categories=list(incident.categories),
        ward_code=incident.ward_code,
        province_code=incident.province_code,
        directory=directory_for(
            session, ward_code=incident.ward_code, province_code=incident.province_code
        ),
        recipients=services.pipeline.rules.recipients,
        policy=services.routing,
    )


def assign(
    *,
    session: Session,
    services: Services,
    incident: Incident,
    unit: UnitRecord,
    reason: str,
    step: int = 0,
) -> Assignment | None:
    """Route the incident to one unit: assignment, first alert, escalation timer (once)."""
    existing = session.scalars(
        select(Assignment).where(
            Assignment.incident_id == incident.id, Assignment.unit_id == unit.id
        )
    ).first()
    if existing is not None:
        return None
    assignment = Assignment(
        incident_id=incident.id, unit_id=unit.id, reason=reason, escalation_step=step
    )
    session.add(assignment)
    session.flush()
    contacts = unit.contacts(services.routing.channel_order)
    text = alert_text(incident=incident, services=services, session=session)
    if contacts:
        channel, recipient = contacts[0]
        queue_alert(
            session=session,
            incident_reference=incident.reference,
            incident_id=incident.id,
            unit_id=unit.id,
            channel=Channel(channel),
            recipient=recipient,
            text=text,
            step=step,
        )
    else:
        add_event(
            session=session,
            incident=incident,
            actor="system",
            action="unit_unreachable",
            detail={"unit_id": unit.id},
        )
    deadline = services.routing.ack_deadline(incident.level)
    if deadline is not None:
        jobs.enqueue(
            session=session,
            kind="escalate",
            key=escalation_key(assignment.id),
            run_at=utcnow() + deadline,
        )
    add_event(
        session=session,
        incident=incident,
        actor="system",
        action="routed",
        detail={"unit_id": unit.id, "reason": reason},
    )
    return assignment


def _ask_for_location(session: Session, incident: Incident) -> None:
    """Ask a chat tipster where it happens, once per incident."""
    if incident.channel not in CHAT_CHANNELS:
        return
    asked = session.scalars(
        select(Event.id).where(Event.incident_id == incident.id, Event.action == "asked_location")
    ).first()
    if asked is not None:
        return
    queue_reply(
        session=session,
        incident_id=incident.id,
        text=ASK_LOCATION.format(reference=incident.reference),
    )
    add_event(
        session=session, incident=incident, actor="system", action="asked_location", detail={}
    )


def route_incident(
    *, session: Session, services: Services, incident: Incident, actor: str
) -> RoutePlan:
    """Route an incident by the policy; routing again only adds units, never duplicates."""
    plan = plan_for(session, services, incident)
    if incident.status not in ROUTABLE:
        return plan
    if plan.needs_location:
        _ask_for_location(session, incident)
        return plan
    directory = directory_for(
        session, ward_code=incident.ward_code, province_code=incident.province_code
    )
    added = 0
    for target in plan.targets:
        unit = directory.units[target.unit_id]
        if assign(
            session=session, services=services, incident=incident, unit=unit, reason=target.reason
        ):
            added += 1
    if plan.targets and incident.status == Status.TRIAGED:
        incident.status = Status.ROUTED
    if added:
        log.info("incident %s routed to %d units by %s", incident.reference, added, actor)
    return plan


def process_and_route(services: Services, key: str) -> None:
    """The `process` job: locate and triage while only reading, then write and route.

    The CPU-heavy part runs outside the write transaction, so on SQLite the single writer
    is held only for the writes. A follow-up that arrives in between re-runs the job.
    """
    with services.db.reader() as session:
        incident = session.get(Incident, int(key))
        if incident is None:
            return
        analysis = analyse(session=session, incident=incident, context=services.pipeline)
    with services.db.writer() as session:
        incident = session.get(Incident, int(key), with_for_update=True)
        if incident is None:
            return
        apply(session=session, incident=incident, analysis=analysis)
        route_incident(session=session, services=services, incident=incident, actor="system")


def escalate(services: Services, key: str) -> None:
    """An acknowledgement deadline passed: alert the next unit up, and set its own timer."""
    with services.db.writer() as session:
        assignment = session.get(Assignment, int(key), with_for_update=True)
        if assignment is None or assignment.acknowledged_at is not None:
            return
        incident = session.get(Incident, assignment.incident_id)
        if incident is None or incident.status not in ROUTABLE:
            return
        step = assignment.escalation_step + 1
        if step > services.routing.escalation_steps:
            return
        current = unit_record(assignment.unit)
        assignment.escalation_step = step
        directory = directory_for(
            session, ward_code=current.ward_code, province_code=current.province_code
        )
        _resend_next_channel(session, services, incident, current, step)
        target = escalation_target(current, 1, directory, services.routing)
        add_event(
            session=session,
            incident=incident,
            actor="system",
            action="escalated",
            detail={
                "from_unit": current.id,
                "step": step,
                "to_unit": target.id if target else None,
            },
        )
        if target is None:
            return
        assign(
            session=session,
            services=services,
            incident=incident,
            unit=target,
            reason=f"escalation step {step}: {current.id} did not acknowledge",
            step=step,
        )


def _resend_next_channel(
    session: Session, services: Services, incident: Incident, unit: UnitRecord, step: int
) -> None:
    """Alert the silent unit again, on its next contact channel when it has one."""
    contacts = unit.contacts(services.routing.channel_order)
    if not contacts:
        return
    channel, recipient = contacts[step % len(contacts)]
    queue_alert(
        session=session,
        incident_reference=incident.reference,
        incident_id=incident.id,
        unit_id=unit.id,
        channel=Channel(channel),
        recipient=recipient,
        text="[NHẮC LẠI / REMINDER] "
        + alert_text(incident=incident, services=services, session=session),
        step=step,
    )
