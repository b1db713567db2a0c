"""An incident's timeline: who did what, when (shown on the incident page)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from intake.store.models import Event, Incident


def add_event(
    *, session: Session, incident: Incident, actor: str, action: str, detail: dict[str, Any]
) -> None:
    """Append one entry to the incident's timeline."""
    add_event_for(
        session=session, incident_id=incident.id, actor=actor, action=action, detail=detail
    )


def add_event_for(
    *, session: Session, incident_id: int, actor: str, action: str, detail: dict[str, Any]
) -> None:
    """Append one entry to the timeline of the incident with this id (no need to load it)."""
    session.add(Event(incident_id=incident_id, actor=actor, action=action, detail=detail))
