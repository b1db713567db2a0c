"""Acknowledgements: a responding unit confirms it has an alert, from any channel."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store import jobs
from intake.store.models import Alert, Assignment, Incident, Status, utcnow
from intake.store.timeline import add_event

log = logging.getLogger(__name__)


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
