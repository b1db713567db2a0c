"""Duplicates merge for real: one incident goes on with everything the other had."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake.pipeline.acknowledge import escalation_key
from intake.pipeline.context import Services
from intake.pipeline.directory_cache import unit_record
from intake.pipeline.incidents import change_status
from intake.pipeline.outbox import alert_to, queue_alerts
from intake.store import jobs
from intake.store.models import Alert, Assignment, Incident, Message, Status
from intake.store.timeline import add_event


class MergeError(ValueError):
    """Two incidents that cannot be merged."""


def merged_text(duplicate: Incident, survivor: Incident) -> str:
    """What the units alerted for the duplicate are told."""
    return (
        f"[111] {duplicate.reference} — ĐÃ GỘP / MERGED\n"
        f"Tin báo {duplicate.reference} trùng với {survivor.reference} và đã được gộp vào đó. "
        f"Đề nghị theo dõi mã {survivor.reference}. "
        f"(Follow {survivor.reference} from now on.)"
    )


def merge_into(
    *, session: Session, services: Services, duplicate: Incident, survivor: Incident, actor: str
) -> int:
    """Mark `duplicate` a duplicate of `survivor`, move its messages there (timeline on
    both), stop its escalations and pending alerts, tell its units which reference to
    follow, and have the survivor assessed again. Returns how many messages moved."""
    while survivor.duplicate_of_id is not None:  # merge into the end of a chain
        survivor = session.get(Incident, survivor.duplicate_of_id) or survivor
        if survivor.duplicate_of_id is None:
            break
    if survivor.id == duplicate.id:
        raise MergeError("an incident cannot be a duplicate of itself")
    change_status(
        session=session,
        incident=duplicate,
        status=Status.DUPLICATE,
        actor=actor,
        reason=f"duplicate of {survivor.reference}",
    )
    duplicate.duplicate_of_id = survivor.id
    moving = session.scalars(select(Message.id).where(Message.incident_id == duplicate.id)).all()
    session.execute(
        update(Message)
        .where(Message.id.in_(moving))
        .values(incident_id=survivor.id)
        .execution_options(synchronize_session=False)
    )
    moved = len(moving)
    session.expire(survivor, ["messages"])
    add_event(
        session=session,
        incident=duplicate,
        actor=actor,
        action="merged_into",
        detail={"reference": survivor.reference, "messages": moved},
    )
    add_event(
        session=session,
        incident=survivor,
        actor=actor,
        action="merged_from",
        detail={"reference": duplicate.reference, "messages": moved},
    )
    _stand_down(session, services, duplicate, survivor)
    jobs.enqueue(session=session, kind="process", key=str(survivor.id))
    return moved


def _stand_down(
    session: Session, services: Services, duplicate: Incident, survivor: Incident
) -> None:
    """The duplicate's timers and unsent alerts stop; its units learn what to follow."""
    assignments = session.scalars(
        select(Assignment).where(Assignment.incident_id == duplicate.id)
    ).all()
    notices = []
    for assignment in assignments:
        jobs.cancel(session=session, kind="escalate", key=escalation_key(assignment.id))
        notice = alert_to(
            services,
            duplicate,
            unit_record(assignment.unit),
            merged_text(duplicate, survivor),
            step=0,
            key=f"merged/{survivor.id}",
        )
        if notice is not None:
            notices.append(notice)
    session.execute(
        update(Alert)
        .where(Alert.incident_id == duplicate.id, Alert.state == "pending")
        .values(state="cancelled")
        .execution_options(synchronize_session=False)
    )
    queue_alerts(session=session, alerts=notices)
