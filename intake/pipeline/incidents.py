"""Incidents: their lifecycle (which status may follow which) and their readable text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from channels.base import Channel, MessageKind
from intake.store.models import OPEN_STATUSES, Incident, Status
from intake.store.timeline import add_event

ANONYMOUS_CHANNELS = {Channel.API, Channel.WEB_FORM}
NOT_INCIDENTS = {MessageKind.EVENT, MessageKind.COMMAND, MessageKind.ACK}

# Which status may follow which; "duplicate" and "spam" are reachable from any open one.
TRANSITIONS: dict[Status, set[Status]] = {
    Status.NEW: {Status.TRIAGED, Status.ROUTED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.TRIAGED: {Status.ROUTED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.ROUTED: {Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.ACKNOWLEDGED: {Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.IN_PROGRESS: {Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.CLOSED, Status.IN_PROGRESS},
    Status.CLOSED: {Status.IN_PROGRESS},
    Status.DUPLICATE: {Status.IN_PROGRESS},
    Status.SPAM: {Status.IN_PROGRESS},
}
for _status in OPEN_STATUSES:
    TRANSITIONS[_status] |= {Status.DUPLICATE, Status.SPAM}


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Control characters (NUL among them, which PostgreSQL refuses) and lone surrogates
    (which JSON can carry and no database can store) become U+FFFD.

    The inbox keeps the provider's exact bytes; this is the readable copy.
    """
    return _CONTROL.sub("\ufffd", text)


class TransitionError(ValueError):
    """A status change the lifecycle does not allow."""


class StaleVersionError(ValueError):
    """Someone else changed the incident since the caller read it."""


@dataclass(frozen=True)
class IngestOptions:
    """How inbound messages are grouped into incidents."""

    conversation_window: timedelta = timedelta(hours=24)


def change_status(
    *,
    session: Session,
    incident: Incident,
    status: Status,
    actor: str,
    reason: str = "",
    expected_version: int | None = None,
) -> Incident:
    """Move an incident to another status, if the lifecycle allows it."""
    if expected_version is not None and expected_version != incident.version:
        raise StaleVersionError(
            f"incident {incident.reference} changed (version {incident.version}, "
            f"you had {expected_version}); reload it"
        )
    current = Status(incident.status)
    if status == current:
        return incident
    if status not in TRANSITIONS[current]:
        raise TransitionError(f"cannot go from {current} to {status}")
    incident.status = status
    add_event(
        session=session,
        incident=incident,
        actor=actor,
        action="status",
        detail={"from": str(current), "to": str(status), "reason": reason},
    )
    return incident
