"""Acknowledgements: a responding unit confirms it has an alert, from any channel."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store import jobs
from intake.store.models import Alert, Assignment, Incident, Status, Unit, utcnow
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


@dataclass(frozen=True)
class Silent:
    """The unit of an incident whose acknowledgement is due first, and how many more are
    silent besides it."""

    unit_name: str
    due: datetime
    others: int


def silent_units(
    session: Session,
    incidents: list[Incident],
    deadline_of: Callable[[str | None], timedelta | None],
) -> dict[int, Silent]:
    """For each incident with a deadline, the unit that has not acknowledged and was due
    first (even when another unit has acknowledged), by incident id."""
    levels = {incident.id: incident.level for incident in incidents}
    waiting: dict[int, list[tuple[datetime, str]]] = {}
    rows = session.execute(
        select(Assignment.incident_id, Assignment.created_at, Unit.name)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(Assignment.incident_id.in_(list(levels)), Assignment.acknowledged_at.is_(None))
    )
    for incident_id, created_at, name in rows:
        deadline = deadline_of(levels[incident_id])
        if deadline is not None:
            waiting.setdefault(incident_id, []).append((created_at + deadline, name))
    return {
        incident_id: Silent(min(due)[1], min(due)[0], len(due) - 1)
        for incident_id, due in waiting.items()
    }
