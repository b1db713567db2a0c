"""An acknowledgement deadline passed: remind the silent unit and alert the next one up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Channel
from intake.pipeline.alerts import alert_text
from intake.pipeline.context import Services
from intake.pipeline.directory_cache import unit_record
from intake.pipeline.outbox import alert_to, queue_alerts
from intake.pipeline.route import ROUTABLE, assign
from intake.store import jobs
from intake.store.jobs import ClaimedJob
from intake.store.models import Assignment, Incident, utcnow
from intake.store.timeline import add_event
from routing.plan import UnitRecord, escalation_target

REMIND_EVERY = timedelta(minutes=15)


def escalate(services: Services, job: ClaimedJob) -> None:
    """An acknowledgement deadline passed: alert the next unit up, saying who is silent, and
    set its own timer. Past the last step, a P1 nobody acknowledged keeps reminding."""
    with services.db.writer(durable=False) as session:
        assignment = session.get(Assignment, int(job.key), with_for_update=True)
        if assignment is None or assignment.acknowledged_at is not None:
            return
        incident = session.get(Incident, assignment.incident_id)
        if incident is None or incident.status not in ROUTABLE:
            return
        step = assignment.escalation_step + 1
        current = unit_record(assignment.unit)
        if step > services.routing.escalation_steps:
            _keep_reminding(session, services, job, incident, assignment, current, step)
            return
        assignment.escalation_step = step
        directory = services.directory_cache.get(
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
            preface=_why_escalated(services, incident, current),
        )


def _why_escalated(services: Services, incident: Incident, silent: UnitRecord) -> str:
    """The first line of an escalated alert: who did not acknowledge, in how long."""
    deadline = services.routing.ack_deadline(incident.level)
    waited = f" sau {int(deadline.total_seconds() // 60)} phút" if deadline else ""
    return (
        f"[CHUYỂN CẤP / ESCALATED] {silent.name} chưa xác nhận tin báo{waited}. "
        "Đề nghị đơn vị xử lý hoặc chỉ đạo ngay.\n"
    )


def _keep_reminding(
    session: Session,
    services: Services,
    job: ClaimedJob,
    incident: Incident,
    assignment: Assignment,
    current: UnitRecord,
    step: int,
) -> None:
    """Past the last step: a P1 that no unit has acknowledged is never left to go quiet."""
    if incident.level != "P1" or session.scalar(
        select(Assignment.id).where(
            Assignment.incident_id == incident.id, Assignment.acknowledged_at.is_not(None)
        )
    ):
        return
    assignment.escalation_step = step
    _resend_next_channel(session, services, incident, current, step)
    add_event(
        session=session,
        incident=incident,
        actor="system",
        action="reminded",
        detail={"unit_id": current.id, "step": step},
    )
    job.finish(session)
    jobs.schedule(session=session, kind="escalate", key=job.key, run_at=utcnow() + REMIND_EVERY)


def _resend_next_channel(
    session: Session, services: Services, incident: Incident, unit: UnitRecord, step: int
) -> None:
    """Alert the silent unit again, on its next contact channel when it has one."""

    def reminder(channel: Channel) -> str:
        compact = channel == Channel.SMS
        body = alert_text(incident=incident, services=services, session=session, compact=compact)
        return ("NHAC LAI: " if compact else "[NHẮC LẠI / REMINDER] ") + body

    if (alert := alert_to(services, incident, unit, reminder, step=step, nth=step)) is not None:
        queue_alerts(session=session, alerts=[alert])
