"""Messages nobody matched wait for an operator, never in a state nobody sees: a unit's
message that names none of its incidents, an acknowledgement from a sender the directory
does not know, a provider request that could not be read. An operator attaches one to an
incident or dismisses it (the console audits both)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake.pipeline.responders import take_unit_message, unit_for_sender
from intake.store.crypto import Cipher
from intake.store.models import InboxItem, Incident
from intake.store.serialize import load_message
from intake.store.timeline import add_event

WAITING = ("unit_unmatched", "ack_unmatched", "malformed")
SHOWN = 200


class NotWaiting(LookupError):
    """No such message waits for an operator (handled, dismissed or never there)."""


@dataclass(frozen=True)
class Waiting:
    """One message waiting, as an operator reads it."""

    id: int
    state: str
    channel: str
    received_at: datetime
    text: str
    unit_id: str | None
    unit_name: str | None
    error: str | None


def count_waiting(session: Session) -> int:
    """How many messages wait for an operator."""
    return int(
        session.scalar(
            select(func.count()).select_from(InboxItem).where(InboxItem.state.in_(WAITING))
        )
        or 0
    )


def waiting(session: Session, cipher: Cipher) -> list[Waiting]:
    """The messages waiting, oldest first, with the unit that sent each when known."""
    items = session.scalars(
        select(InboxItem).where(InboxItem.state.in_(WAITING)).order_by(InboxItem.id).limit(SHOWN)
    )
    shown = []
    for item in items:
        message = load_message(cipher.decrypt(item.message) or "") if item.message else None
        unit = unit_for_sender(session, message) if message else None
        shown.append(
            Waiting(
                id=item.id,
                state=item.state,
                channel=item.channel,
                received_at=item.received_at,
                text=message.text if message else "",
                unit_id=unit.id if unit else None,
                unit_name=unit.name if unit else None,
                error=item.error,
            )
        )
    return shown


def _waiting_item(session: Session, item_id: int) -> InboxItem:
    item = session.get(InboxItem, item_id, with_for_update=True)
    if item is None or item.state not in WAITING:
        raise NotWaiting(item_id)
    return item


def attach(
    *, session: Session, cipher: Cipher, item_id: int, incident: Incident, actor: str
) -> None:
    """Put a waiting message on an incident's timeline: a unit's as that unit's update or
    outcome (its words are read as when it names the incident), anyone else's as a message
    the operator attached."""
    item = _waiting_item(session, item_id)
    if item.message is None:
        raise ValueError("a request that could not be read has nothing to attach")
    message = load_message(cipher.decrypt(item.message) or "")
    unit = unit_for_sender(session, message)
    if unit is not None:
        take_unit_message(
            session=session, unit=unit, message=message, inbox_id=item.id, incident=incident
        )
    else:
        item.state, item.incident_id = "attached", incident.id
    add_event(
        session=session,
        incident=incident,
        actor=actor,
        action="message_attached",
        # a unit's words are on the timeline already, as its update or outcome
        detail={"inbox_id": item.id}
        if unit is not None
        else {"inbox_id": item.id, "text": message.text[:4000]},
    )


def dismiss(*, session: Session, item_id: int) -> None:
    """Take a waiting message off the list, kept as it was stored."""
    _waiting_item(session, item_id)
    session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id)
        .values(state="dismissed")
        .execution_options(synchronize_session=False)
    )
