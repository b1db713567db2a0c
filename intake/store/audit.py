"""The audit trail: every read or change of an incident by a person."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from intake.store.models import AuditEntry, User


def record(
    *,
    session: Session,
    user: User,
    action: str,
    incident_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an audit entry (the table refuses updates and deletes)."""
    session.add(
        AuditEntry(
            user_id=user.id,
            username=user.username,
            action=action,
            incident_id=incident_id,
            detail=detail or {},
        )
    )
