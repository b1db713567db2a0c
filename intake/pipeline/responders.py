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

from channels.base import InboundMessage, MessageKind
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
# A unit's own outcome, by the words it starts its message with (folded, no diacritics).
# The incident closes only when the hotline decides; an outcome never closes it.
OUTCOMES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "received": ("Đã nhận", "Received", ("da nhan", "xac nhan", "ok", "oke", "okay", "ack")),
    "verifying": ("Đang xác minh", "Verifying", ("dang xac minh", "dang kiem tra")),
    "on_site": ("Đã đến nơi", "On site", ("da den noi", "da toi noi", "dang o hien truong")),
    "handled": ("Đã xử lý", "Handled", ("da xu ly", "da giai quyet")),
    "unverified": (
        "Không xác minh được",
        "Could not verify",
        ("khong xac minh duoc", "khong xac minh dc", "khong tim thay"),
    ),
    "referred": ("Chuyển cơ quan khác", "Referred elsewhere", ("chuyen co quan khac",)),
}
HELP = (
    "Tổng đài 111: tin của đơn vị chưa gắn được với vụ việc nào. Hãy ghi mã vụ việc, ví dụ "
    '"Đã đến nơi 111-2612-0002 ...". Trả lời bằng: Đã nhận / Đang xác minh / Đã đến nơi / '
    "Đã xử lý / Không xác minh được / Chuyển cơ quan khác, kèm ghi chú."
)


def unit_for_sender(session: Session, message: InboundMessage) -> Unit | None:
    """The directory unit whose contact sent this message, if any."""
    column = CONTACT_COLUMN.get(message.channel)
    if column is None or message.kind in (MessageKind.EVENT, MessageKind.COMMAND):
        return None
    handles = {h for h in (message.sender_id, message.sender_phone) if h}
    if not handles:
        return None
    return session.scalars(select(Unit).where(or_(*(column == h for h in handles)))).first()


def read_outcome(text: str) -> tuple[str | None, str]:
    """The outcome a unit's message starts with, and the rest of it as a note."""
    folded = fold(text)
    for code, (_, _, openings) in OUTCOMES.items():
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
    *, session: Session, unit: Unit, message: InboundMessage, inbox_id: int
) -> Incident | None:
    """Attach a unit's message to its incident: acknowledgement, outcome or update.
    A message that names no incident of the unit waits for an operator (`unit_unmatched`)."""
    text = message.text or ""
    named = message.ack_reference or (found.group(0) if (found := REFERENCE.search(text)) else None)
    incident = _incident_for(session, unit, named)
    if incident is None:
        _mark(session, inbox_id, "unit_unmatched", None)
        log.info("inbox item %s: a unit's message names none of its incidents", inbox_id)
        return None
    outcome, note = ("received", "") if message.kind == MessageKind.ACK else read_outcome(text)
    actor = f"unit:{unit.id}"
    if outcome is not None:
        assignments = list(
            session.scalars(
                select(Assignment).where(
                    Assignment.incident_id == incident.id, Assignment.unit_id == unit.id
                )
            )
        )
        acknowledge(
            session=session,
            incident=incident,
            assignments=assignments,
            by=actor,
            via=str(message.channel),
        )
        if outcome != "received" or note:
            detail = {"unit_id": unit.id, "outcome": outcome}
            add_event(
                session=session,
                incident=incident,
                actor=actor,
                action="unit_outcome",
                detail={**detail, "text": note} if note else detail,
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
