"""What a tipster adds after the alert reaches the units already alerted, as an update of
the same reference (not only inside the next reminder)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Channel
from intake.pipeline.alerts import SMS_CHARACTERS, gsm
from intake.pipeline.consent import is_answer
from intake.pipeline.consent_updates import consent_alerts
from intake.pipeline.context import Services
from intake.pipeline.deliver import NewAlert, queue_alerts
from intake.pipeline.directory_cache import unit_record
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


def _for_channel(text: str, channel: str) -> str:
    """SMS gets the two-segment GSM form."""
    return gsm(text)[:SMS_CHARACTERS] if channel == Channel.SMS else text


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
    for assignment in assignments:
        unit = unit_record(assignment.unit)
        contacts = unit.contacts(services.routing.channel_order)
        if not contacts:
            continue
        channel, recipient = contacts[0]
        for message, stored_at in later:
            if stored_at <= assignment.created_at or is_answer(incident.channel, message.text):
                continue
            updates.append(
                NewAlert(
                    incident.reference,
                    incident.id,
                    unit.id,
                    Channel(channel),
                    recipient,
                    _for_channel(update_text(incident, message, services), channel),
                    0,
                    key=f"update/{message.id}",
                )
            )
    return len(queue_alerts(session=session, alerts=updates, handoff=handoff))
