"""Incidents: creating them from inbound messages, their lifecycle and timeline."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channels.base import Channel, InboundMessage, MessageKind
from channels.registry import specs
from intake.pipeline.consent import read_answer
from intake.pipeline.responders import take_unit_message, unit_for_sender
from intake.store import jobs
from intake.store.crypto import Cipher
from intake.store.models import (
    OPEN_STATUSES,
    InboxItem,
    Incident,
    Message,
    Status,
    Tipster,
)
from intake.store.numbering import allocate_reference
from intake.store.serialize import load_message
from intake.store.timeline import add_event

log = logging.getLogger(__name__)

CHAT_CHANNELS = frozenset(spec.channel for spec in specs() if spec.replies)
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


@dataclass(frozen=True)
class IngestOutcome:
    """The incident a message went to (None for events, commands and acknowledgements)."""

    incident: Incident | None
    created: bool
    message: InboundMessage


def _tipster(session: Session, cipher: Cipher, message: InboundMessage) -> Tipster | None:
    """The tipster behind a message, found by blind index or created; none for an
    anonymous partner or web-form tip (nothing to find them by, nothing to keep)."""
    anonymous = message.channel in ANONYMOUS_CHANNELS and not (
        message.sender_phone or message.sender_name
    )
    if anonymous:
        return None
    handle = f"{message.channel}:{message.sender_id}"
    # Under every configured key: during a rotation a tipster may not be re-indexed yet.
    indexes = cipher.blind_indexes(handle)
    index = indexes[0]
    lookup = (
        Tipster.handle_index == index if len(indexes) == 1 else Tipster.handle_index.in_(indexes)
    )
    tipster = session.scalars(
        select(Tipster).where(Tipster.channel == message.channel, lookup).limit(1)
    ).first()
    if tipster is None:
        tipster = Tipster(
            channel=message.channel,
            handle_index=index,
            handle=cipher.encrypt(message.sender_id),
        )
        session.add(tipster)
    if message.sender_phone:
        tipster.phone = cipher.encrypt(message.sender_phone)
    if message.sender_name:
        tipster.display_name = cipher.encrypt(message.sender_name)
    if message.extra.get("consent_to_share") == "true":
        tipster.consent_to_share = True
        tipster.anonymous = False
    elif message.extra.get("consent_to_share") == "false":  # a caller's "no" on the IVR
        tipster.consent_to_share = False
    session.flush()
    return tipster


def _open_conversation(
    session: Session, message: InboundMessage, tipster: Tipster | None, options: IngestOptions
) -> Incident | None:
    """The open incident a follow-up message belongs to, if any (through a merge: the
    incident its conversation was merged into)."""
    query = select(Incident).where(
        Incident.channel == message.channel,
        Incident.status.in_([*OPEN_STATUSES, Status.DUPLICATE]),
    )
    if message.conversation_key:
        query = query.where(Incident.conversation_key == message.conversation_key)
    elif message.channel in CHAT_CHANNELS and tipster is not None:
        since = message.received_at - options.conversation_window
        query = query.where(Incident.tipster_id == tipster.id, Incident.last_message_at >= since)
    else:
        return None
    found = session.scalars(query.order_by(Incident.id.desc()).limit(1)).first()
    for _ in range(8):  # a merge chain is short; a loop in one is not followed for ever
        if found is None or found.duplicate_of_id is None:
            break
        found = session.get(Incident, found.duplicate_of_id)
    if found is None or found.status not in OPEN_STATUSES:
        return None
    return found


def _age(value: str | None) -> int | None:
    """An age the intake checked; anything else is left out (the message keeps it)."""
    return int(value) if value and value.isdecimal() and int(value) <= 120 else None


def new_incident_fields(message: InboundMessage) -> dict[str, Any]:
    """The columns a new incident takes from the message that opens it."""
    extra = message.extra
    return {
        "channel": str(message.channel),
        "external_id": clean_text(extra["external_id"]) if extra.get("external_id") else None,
        "conversation_key": message.conversation_key,
        "received_at": message.received_at,
        "last_message_at": message.received_at,
        "location_text": clean_text(extra["location_text"]) if extra.get("location_text") else None,
        "victim_age": _age(extra.get("victim_age")),
        "victim_gender": extra.get("victim_gender") or None,
        "reasons": [],
        "categories": [],
        "location_candidates": [],
        "support_given": [],
    }


def _new_incident(
    session: Session,
    message: InboundMessage,
    tipster: Tipster | None,
    reserved: tuple[int, str] | None = None,
) -> Incident:
    """A new incident opened by its first message (with the id and reference the tip was
    answered with, when it was answered before this)."""
    incident = Incident(
        **new_incident_fields(message),
        reference=reserved[1]
        if reserved
        else allocate_reference(session=session, at=message.received_at),
        tipster_id=tipster.id if tipster is not None else None,
    )
    if reserved:
        incident.id = reserved[0]
    session.add(incident)
    session.flush()
    add_event(
        session=session,
        incident=incident,
        actor="system",
        action="created",
        detail={"channel": str(message.channel)},
    )
    return incident


def _apply_message(incident: Incident, message: InboundMessage) -> None:
    """Update an incident with what a new message carries."""
    incident.last_message_at = max(incident.last_message_at, message.received_at)
    if message.latitude is not None and message.longitude is not None:
        incident.latitude, incident.longitude = message.latitude, message.longitude
    if message.urgent and not incident.urgent_call:
        # The caller chose "a child is in danger now": P1 before the call is connected.
        incident.urgent_call = True
        incident.level = "P1"
        incident.score = max(incident.score or 0.0, 100.0)
        incident.reasons = [
            *incident.reasons,
            {"rule": "ivr_danger_now", "matched": "1", "effect": "level P1"},
        ]


def ingest_item(
    *,
    session: Session,
    cipher: Cipher,
    inbox_id: int,
    options: IngestOptions,
    message: InboundMessage | None = None,
) -> IngestOutcome:
    """Turn one stored inbox item into (part of) an incident; idempotent.

    `message` is given when the item was stored in this very transaction (the webhook's
    inline ingest), which spares reading it back.
    """
    reserved = None
    if message is None:
        item = session.get(InboxItem, inbox_id, with_for_update=True)
        if item is None or item.message is None:
            raise LookupError(f"inbox item {inbox_id} has no message")
        message = _load(cipher, item.message)
        if item.incident_id is not None:
            return IngestOutcome(session.get(Incident, item.incident_id), False, message)
        if item.reserved_incident_id is not None and item.reference:
            reserved = (item.reserved_incident_id, item.reference)
    unit = unit_for_sender(session, message)
    if unit is not None:  # a responder's message: never an incident of its own
        take_unit_message(session=session, unit=unit, message=message, inbox_id=inbox_id)
        return IngestOutcome(None, False, message)
    if message.kind == MessageKind.ACK:
        # Only a unit acknowledges: a tipster's "ok 111-..." is part of their conversation.
        message = replace(message, kind=MessageKind.TEXT, ack_reference=None)
    if message.kind in NOT_INCIDENTS:
        _mark_item(session, inbox_id, str(message.kind), None)
        return IngestOutcome(None, False, message)
    tipster = _tipster(session, cipher, message)
    incident = None if reserved else _open_conversation(session, message, tipster, options)
    created = incident is None
    if incident is None:
        incident = _new_incident(session, message, tipster, reserved)
    _apply_message(incident, message)
    session.add(
        Message(
            incident_id=incident.id,
            inbox_id=inbox_id,
            direction="in",
            channel=message.channel,
            kind=message.kind,
            text=clean_text(message.text),
            attachments=[a.__dict__ for a in message.attachments],
            latitude=message.latitude,
            longitude=message.longitude,
            created_at=message.received_at,
        )
    )
    if not created:
        add_event(
            session=session,
            incident=incident,
            actor="system",
            action="message_received",
            detail={"kind": str(message.kind)},
        )
        read_answer(session=session, incident=incident, tipster=tipster, text=message.text)
    session.flush()
    _mark_item(session, inbox_id, "ingested", incident.id)
    jobs.enqueue(session=session, kind="process", key=str(incident.id), new=created)
    log.info(
        "inbox item %s -> incident %s (%s)",
        inbox_id,
        incident.reference,
        "new" if created else "follow-up",
    )
    return IngestOutcome(incident, created, message)


def _mark_item(session: Session, inbox_id: int, state: str, incident_id: int | None) -> None:
    """Record what became of an inbox item."""
    session.execute(
        update(InboxItem)
        .where(InboxItem.id == inbox_id)
        .values(state=state, incident_id=incident_id)
        .execution_options(synchronize_session=False)
    )


def _load(cipher: Cipher, stored: str) -> InboundMessage:
    """Decrypt and rebuild a stored inbound message."""
    return load_message(cipher.decrypt(stored) or "")


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
