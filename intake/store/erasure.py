"""Erasure of personal data on request, and retention limits applied every day.

Erasing an incident removes the tipster's identity and every word written about it (messages,
summary, place text, notes, alert texts, stored provider requests) and keeps what the
periodic report counts: level, categories, purpose, the victim's sex, age and number, the
province and commune, dates, status and the support given. The report's totals are the
same before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.orm import Session

from intake.store import audit
from intake.store.models import (
    Alert,
    Event,
    InboxItem,
    Incident,
    Message,
    Status,
    Tipster,
    User,
    utcnow,
)

ERASED = "erased"
CLOSED_STATUSES = (Status.CLOSED, Status.RESOLVED, Status.DUPLICATE, Status.SPAM)
# Keys of an event's detail that may hold free text a person wrote.
TEXT_KEYS = ("text", "reason", "note", "location_text", "matched")


class ErasureError(ValueError):
    """An erasure that cannot be carried out (unknown reference, unknown person)."""


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind of personal data is kept; 0 keeps it for ever."""

    spam_days: int = 90
    identity_months: int = 24
    raw_body_days: int = 30


@dataclass(frozen=True)
class RetentionOutcome:
    """What one retention pass removed."""

    spam_erased: int
    identities_erased: int
    raw_bodies_dropped: int


def erase_incident(*, session: Session, reference: str, by: User, reason: str) -> Incident:
    """Erase one incident's personal data, keep its statistics; audited under `by`."""
    incident = session.scalars(select(Incident).where(Incident.reference == reference)).first()
    if incident is None:
        raise ErasureError(f"no incident with reference {reference!r}")
    _erase(session, incident, actor=f"user:{by.id}")
    audit.record(
        session=session,
        user=by,
        action="erase",
        incident_id=incident.id,
        detail={"reason": reason[:200]},
    )
    return incident


def _erase(session: Session, incident: Incident, *, actor: str) -> None:
    """Remove the words and the identity; keep the counted fields."""
    _forget_tipster(session, incident)
    incident.summary = None
    incident.location_text = None
    incident.external_id = None
    incident.conversation_key = None
    incident.latitude = incident.longitude = None
    incident.reasons = [{**_without_text(r), "matched": ""} for r in incident.reasons or []]
    incident.location_candidates = []
    session.execute(
        update(Message)
        .where(Message.incident_id == incident.id)
        .values(text="", attachments=[], latitude=None, longitude=None)
    )
    session.execute(update(Alert).where(Alert.incident_id == incident.id).values(text=""))
    session.execute(
        update(InboxItem)
        .where(InboxItem.incident_id == incident.id)
        .values(message=None, raw_body=None, error=None)
    )
    for event in session.scalars(select(Event).where(Event.incident_id == incident.id)):
        event.detail = _without_text(event.detail or {})
    session.add(Event(incident_id=incident.id, actor=actor, action=ERASED, detail={}))


def _forget_tipster(session: Session, incident: Incident) -> None:
    """Detach the tipster; a tipster known from no other incident is blanked."""
    tipster_id = incident.tipster_id
    if tipster_id is None:
        return
    incident.tipster_id = None
    session.flush()
    others = session.scalar(select(exists().where(Incident.tipster_id == tipster_id)))
    if not others:
        session.execute(
            update(Tipster)
            .where(Tipster.id == tipster_id)
            .values(
                handle=None,
                phone=None,
                display_name=None,
                handle_index=f"{ERASED}:{tipster_id}",
                consent_to_share=False,
            )
        )


def _without_text(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in detail.items() if k not in TEXT_KEYS}


def _not_erased() -> Any:
    return ~exists().where(Event.incident_id == Incident.id, Event.action == ERASED)


def apply_retention(
    *, session: Session, policy: RetentionPolicy, now: datetime | None = None, limit: int = 500
) -> RetentionOutcome:
    """One pass of the retention limits (at most `limit` incidents of each kind)."""
    now = now or utcnow()
    spam = identities = 0
    if policy.spam_days:
        cutoff = now - timedelta(days=policy.spam_days)
        for incident in session.scalars(
            select(Incident)
            .where(Incident.status == Status.SPAM, Incident.received_at < cutoff, _not_erased())
            .limit(limit)
        ):
            _erase(session, incident, actor="system:retention")
            spam += 1
    if policy.identity_months:
        cutoff = now - timedelta(days=30 * policy.identity_months)
        for incident in session.scalars(
            select(Incident)
            .where(
                Incident.status.in_([str(s) for s in CLOSED_STATUSES]),
                Incident.updated_at < cutoff,
                Incident.tipster_id.is_not(None),
            )
            .limit(limit)
        ):
            _forget_tipster(session, incident)
            identities += 1
    raw = 0
    if policy.raw_body_days:
        cutoff = now - timedelta(days=policy.raw_body_days)
        dropped = session.execute(
            update(InboxItem)
            .where(InboxItem.received_at < cutoff, InboxItem.raw_body.is_not(None))
            .values(raw_body=None)
            .execution_options(synchronize_session=False)
        )
        raw = cast(CursorResult[Any], dropped).rowcount
    return RetentionOutcome(spam, identities, raw)
