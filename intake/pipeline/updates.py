"""What a tipster adds after the alert reaches the units already alerted, as an update of
the same reference (not only inside the next reminder)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.pipeline.context import Services
from intake.pipeline.directory_cache import unit_record
from intake.pipeline.outbox import alert_to, queue_alerts
from intake.store.jobs import ClaimedJob
from intake.store.models import Assignment, InboxItem, Incident, Message, Status

ALREADY_ALERTED = {Status.ROUTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS}
UPDATE_CHARS = 300


def update_text(incident: Incident, message: Message, services: Services) -> str:
    """One follow-up, as the units read it."""
    link = f"{services.settings.public_base_url.rstrip('/')}/console/incidents/{incident.id}"
    return (
        f"[111] {incident.reference} — CẬP NHẬT / UPDATE\n"
        f"Người báo bổ sung: {message.text[:UPDATE_CHARS]}\n"
        f"Console: {link}"
    )


def send_follow_ups(
    *, session: Session, services: Services, incident: Incident, handoff: list[ClaimedJob]
) -> int:
    """Queue, for each unit alerted, the tipster's messages that came after its alert (each
    once: the alert's key names the message). Returns how many were queued."""
    if incident.status not in ALREADY_ALERTED:
        return 0
    assignments = session.scalars(
        select(Assignment).where(Assignment.incident_id == incident.id)
    ).all()
    if not assignments:
        return 0
    first = min(a.created_at for a in assignments)
    # When the service stored each message (providers' own times are whole seconds).
    later = session.execute(
        select(Message, InboxItem.received_at)
        .join(InboxItem, InboxItem.id == Message.inbox_id)
        .where(
            Message.incident_id == incident.id,
            Message.direction == "in",
            InboxItem.received_at > first,
            Message.text != "",
        )
        .order_by(Message.id)
    ).all()
    updates = []
    for assignment in assignments:
        unit = unit_record(assignment.unit)
        for message, stored_at in later:
            if stored_at <= assignment.created_at:
                continue
            alert = alert_to(
                unit,
                services.routing.channel_order,
                reference=incident.reference,
                incident_id=incident.id,
                text=update_text(incident, message, services),
                step=0,
                key=f"update/{message.id}",
            )
            if alert is not None:
                updates.append(alert)
    return len(queue_alerts(session=session, alerts=updates, handoff=handoff))
