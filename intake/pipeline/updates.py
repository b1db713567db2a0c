"""What a tipster adds after the alert, and the operator's summary of a call, reach the
units already alerted as an update of the same reference (not only in the next reminder)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.pipeline.alerts import mask_tipster
from intake.pipeline.consent import is_answer
from intake.pipeline.consent_updates import consent_alerts
from intake.pipeline.context import Services
from intake.pipeline.directory_cache import unit_record
from intake.pipeline.outbox import NewAlert, alert_to, queue_alerts
from intake.store.jobs import ClaimedJob
from intake.store.models import Assignment, InboxItem, Incident, Message, Status, Tipster

ALREADY_ALERTED = {Status.ROUTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS}
UPDATE_CHARS = 300


def update_text(incident: Incident, who: str, said: str, services: Services) -> str:
    """One update, as the units read it: who adds what."""
    link = f"{services.settings.public_base_url.rstrip('/')}/console/incidents/{incident.id}"
    return (
        f"[111] {incident.reference} — CẬP NHẬT / UPDATE\n"
        f"{who}: {said[:UPDATE_CHARS]}\n"
        f"Console: {link}"
    )


def _to_alerted_units(
    services: Services,
    incident: Incident,
    assignments: list[Assignment],
    text: str,
    key: str,
) -> list[NewAlert]:
    """The update `text` for each of these units, once each by `key`."""
    updates = []
    for assignment in assignments:
        alert = alert_to(services, incident, unit_record(assignment.unit), text, step=0, key=key)
        if alert is not None:
            updates.append(alert)
    return updates


def send_summary(
    *, session: Session, services: Services, incident: Incident, event_id: int, text: str
) -> list[str]:
    """The operator's written summary of a call, to every unit alerted so far (once: the
    key names the note). Returns the units it is queued for."""
    assignments = list(
        session.scalars(select(Assignment).where(Assignment.incident_id == incident.id))
    )
    said = update_text(incident, "Tổng đài 111 tóm tắt", text.strip(), services)
    updates = _to_alerted_units(services, incident, assignments, said, f"note/{event_id}")
    queue_alerts(session=session, alerts=updates)
    return [alert.unit_id for alert in updates]


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
    # A consent given since the alert brings the contact (the answer itself is not sent).
    updates = consent_alerts(
        session=session, services=services, incident=incident, assignments=list(assignments)
    )
    tipster = session.get(Tipster, incident.tipster_id) if incident.tipster_id else None
    shared = tipster is not None and tipster.consent_to_share
    for message, stored_at in later:
        if is_answer(incident.channel, message.text):
            continue
        said = message.text if shared else mask_tipster(message.text)
        text = update_text(incident, "Người báo bổ sung", said, services)
        updates += _to_alerted_units(
            services,
            incident,
            [a for a in assignments if stored_at > a.created_at],
            text,
            f"update/{message.id}",
        )
    return len(queue_alerts(session=session, alerts=updates, handoff=handoff))
