"""Messages from the units that respond (commune police, social workers, provinces).

A message from a unit's known chat or phone is the unit's: an acknowledgement, an outcome
("đã đến nơi 111-2612-0002, cháu an toàn") or an update, attached to the incident it names or
to the one the unit was last alerted about. It never opens an incident, and nothing a tipster
sends ever acknowledges one: a tipster's "ok 111-..." is part of their conversation.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from channels.base import BUTTON, InboundMessage, MessageKind
from channels.prompts import UNIT_OUTCOMES
from channels.registry import alert_channels
from intake.pipeline.acknowledge import acknowledge
from intake.store.crypto import Cipher
from intake.store.models import OPEN_STATUSES, Assignment, InboxItem, Incident, Unit
from intake.store.serialize import load_message
from intake.store.timeline import add_event
from triage.text import fold

log = logging.getLogger(__name__)

# Which directory column holds a unit's handle on each channel units answer on.
CONTACT_COLUMN = {
    spec.channel: getattr(Unit, spec.unit_contact)
    for spec in alert_channels()
    if spec.acknowledges and spec.unit_contact
}
REFERENCE = re.compile(r"\b111-\d{4}-\d{3,6}\b")
# A unit's own outcome (channels.prompts.UNIT_OUTCOMES), by the words it starts its
# message with (folded, no diacritics).
OPENINGS: dict[str, tuple[str, ...]] = {
    "received": ("da nhan", "xac nhan", "ok", "oke", "okay", "ack"),
    "verifying": ("dang xac minh", "dang kiem tra"),
    "on_site": ("da den noi", "da toi noi", "dang o hien truong"),
    "handled": ("da xu ly", "da giai quyet"),
    "unverified": ("khong xac minh duoc", "khong xac minh dc", "khong tim thay"),
    "referred": ("chuyen co quan khac",),
}
HELP = (
    "Tổng đài 111: tin của đơn vị chưa gắn được với vụ việc nào. Hãy ghi mã vụ việc, ví dụ "
    '"Đã đến nơi 111-2612-0002 ...". Trả lời bằng: Đã nhận / Đang xác minh / Đã đến nơi / '
    "Đã xử lý / Không xác minh được / Chuyển cơ quan khác, kèm ghi chú."
)


def unit_for_sender(session: Session, message: InboundMessage) -> Unit | None:
    """The directory unit whose contact sent this message, if any."""
    column = CONTACT_COLUMN.get(message.channel)
    pressed = message.kind == MessageKind.EVENT and BUTTON in message.extra
    if column is None or (message.kind in (MessageKind.EVENT, MessageKind.COMMAND) and not pressed):
        return None
    handles = {h for h in (message.sender_id, message.sender_phone) if h}
    if not handles:
        return None
    return session.scalars(select(Unit).where(or_(*(column == h for h in handles)))).first()


def read_outcome(text: str) -> tuple[str | None, str]:
    """The outcome a unit's message starts with, and the rest of it as a note."""
    folded = fold(text)
    for code, openings in OPENINGS.items():
        for opening in openings:
            if re.match(re.escape(opening) + r"(?!\w)", folded):
                words = opening.count(" ") + 1
                rest = (re.split(r"\s+", text.strip(), maxsplit=words)[words:] or [""])[0]
                return code, REFERENCE.sub("", rest).strip(" ,.:;-!\n")
    return None, text.strip()


def _incident_for(session: Session, unit: Unit, reference: str | None) -> Incident | None:
    """The incident a unit's message is about: the one it names (if it was routed to the
    unit), else the open one the unit was last alerted about."""
    query = (
        select(Incident)
        .join(Assignment, Assignment.incident_id == Incident.id)
        .where(Assignment.unit_id == unit.id)
    )
    if reference:
        return session.scalars(query.where(Incident.reference == reference)).first()
    return session.scalars(
        query.where(Incident.status.in_([str(s) for s in OPEN_STATUSES])).order_by(
            Assignment.created_at.desc(), Assignment.id.desc()
        )
    ).first()


def take_unit_message(
    *,
    session: Session,
    unit: Unit,
    message: InboundMessage,
    inbox_id: int,
    incident: Incident | None = None,
) -> Incident | None:
    """Attach a unit's message to its incident (or to `incident`, an operator's choice):
    acknowledgement, outcome or update. A message that names no incident of the unit
    waits for an operator (`unit_unmatched`, intake/pipeline/unmatched.py)."""
    text = message.text or ""
    named = message.ack_reference or (found.group(0) if (found := REFERENCE.search(text)) else None)
    incident = incident or _incident_for(session, unit, named)
    if incident is None:
        _mark(session, inbox_id, "unit_unmatched", None)
        log.info("inbox item %s: a unit's message names none of its incidents", inbox_id)
        return None
    outcome: str | None
    if BUTTON in message.extra:
        outcome, note = message.extra[BUTTON], ""
    elif message.kind == MessageKind.ACK:
        outcome, note = "received", ""
    else:
        outcome, note = read_outcome(text)
    actor = f"unit:{unit.id}"
    if outcome is not None and outcome in UNIT_OUTCOMES:
        record_outcome(
            session=session,
            incident=incident,
            unit_id=unit.id,
            outcome=outcome,
            note=note,
            actor=actor,
            via=str(message.channel),
        )
    else:
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="unit_update",
            detail={"unit_id": unit.id, "text": text[:4000]},
        )
    _mark(session, inbox_id, "unit_message", incident.id)
    return incident


def record_outcome(
    *,
    session: Session,
    incident: Incident,
    unit_id: str,
    outcome: str,
    note: str,
    actor: str,
    via: str,
) -> None:
    """A unit's outcome, however it came (button, words, console): it acknowledges the
    unit's alert (its own escalation stops, no other unit's) and goes on the timeline."""
    assignments = list(
        session.scalars(
            select(Assignment).where(
                Assignment.incident_id == incident.id, Assignment.unit_id == unit_id
            )
        )
    )
    acknowledge(session=session, incident=incident, assignments=assignments, by=actor, via=via)
    if outcome != "received" or note:
        detail = {"unit_id": unit_id, "outcome": outcome}
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="unit_outcome",
            detail={**detail, "text": note[:2000]} if note else detail,
        )


def take_unit_message_from_inbox(*, session: Session, cipher: Cipher, inbox_id: int) -> None:
    """The `acknowledge` job of a stored message (written by earlier versions)."""
    item = session.get(InboxItem, inbox_id)
    if item is None or item.message is None:
        return
    message = load_message(cipher.decrypt(item.message) or "")
    unit = unit_for_sender(session, message)
    if unit is None:
        _mark(session, inbox_id, "ack_unmatched", None)
        return
    take_unit_message(session=session, unit=unit, message=message, inbox_id=inbox_id)


def _mark(session: Session, inbox_id: int, state: str, incident_id: int | None) -> None:
    session.execute(
        update(InboxItem)
        .where(InboxItem.id == inbox_id)
        .values(state=state, incident_id=incident_id)
        .execution_options(synchronize_session=False)
    )
