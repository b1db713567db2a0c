"""Acknowledgements: a responding unit confirms it has an alert, from any channel."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from channels.registry import alert_channels
from intake.pipeline.incidents import add_event
from intake.store import jobs
from intake.store.crypto import Cipher
from intake.store.models import Alert, Assignment, InboxItem, Incident, Status, Unit, utcnow
from intake.store.serialize import load_message

log = logging.getLogger(__name__)

# Which directory column holds a unit's handle on each channel.
CONTACT_COLUMN = {
    spec.channel: getattr(Unit, spec.unit_contact)
    for spec in alert_channels()
    if spec.acknowledges and spec.unit_contact
}


@dataclass(frozen=True)
class AckOutcome:
    """What an acknowledgement did."""

    reference: str
    acknowledged_units: tuple[str, ...]


def escalation_key(assignment_id: int) -> str:
    """The job key of an assignment's escalation timer."""
    return str(assignment_id)


def acknowledge(
    *,
    session: Session,
    incident: Incident,
    assignments: list[Assignment],
    by: str,
    via: str,
) -> AckOutcome:
    """Mark assignments acknowledged, stop their escalation timers, record who and how."""
    now = utcnow()
    done = []
    for assignment in assignments:
        if assignment.acknowledged_at is not None:
            continue
        assignment.acknowledged_at = now
        assignment.acknowledged_by = by[:128]
        assignment.acknowledged_via = via
        jobs.cancel(session=session, kind="escalate", key=escalation_key(assignment.id))
        for alert in session.scalars(
            select(Alert).where(
                Alert.incident_id == incident.id,
                Alert.unit_id == assignment.unit_id,
                Alert.state.in_(["pending", "sent"]),
            )
        ):
            alert.state = "acknowledged" if alert.state == "sent" else "cancelled"
        done.append(assignment.unit_id)
        add_event(
            session=session,
            incident=incident,
            actor=by,
            action="acknowledged",
            detail={"unit_id": assignment.unit_id, "via": via},
        )
    if done and incident.status == Status.ROUTED:
        incident.status = Status.ACKNOWLEDGED
    return AckOutcome(incident.reference, tuple(done))


def acknowledge_from_inbox(*, session: Session, cipher: Cipher, inbox_id: int) -> AckOutcome | None:
    """An acknowledgement that came in on a channel (button, "OK 111-..." reply)."""
    item = session.get(InboxItem, inbox_id)
    if item is None or item.message is None:
        return None
    message = load_message(cipher.decrypt(item.message) or "")
    column = CONTACT_COLUMN.get(message.channel)
    incident = session.scalars(
        select(Incident).where(Incident.reference == (message.ack_reference or ""))
    ).first()
    if column is None or incident is None:
        item.state = "ack_unmatched"
        log.info("inbox item %s: acknowledgement for an unknown incident", inbox_id)
        return None
    handles = {message.sender_id, message.sender_phone or message.sender_id}
    assignments = list(
        session.scalars(
            select(Assignment)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(Assignment.incident_id == incident.id, or_(*(column == h for h in handles)))
        )
    )
    if not assignments:
        item.state = "ack_unmatched"
        log.info(
            "inbox item %s: acknowledgement from a contact not routed %s",
            inbox_id,
            incident.reference,
        )
        return None
    item.state = "ack_done"
    return acknowledge(
        session=session,
        incident=incident,
        assignments=assignments,
        by=f"{message.channel}:{assignments[0].unit_id}",
        via=str(message.channel),
    )
