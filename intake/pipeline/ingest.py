"""Ingest: stored inbound messages become incidents, or follow-ups of open ones.

A new incident, its first message, its "created" entry, the link from its inbox item and
its `process` job are written by `open_incidents`, for one tip (`ingest_item`, from a
webhook's inline ingest or an `ingest` job) or for a worker's batch of tips answered with
an incident id and reference before the incident was written (`worker.ingest_stored`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from channels.base import InboundMessage, MessageKind
from channels.registry import specs
from intake.pipeline.consent import read_answer
from intake.pipeline.incidents import (
    ANONYMOUS_CHANNELS,
    NOT_INCIDENTS,
    IngestOptions,
    clean_text,
)
from intake.pipeline.responders import take_unit_message, unit_for_sender
from intake.store import jobs
from intake.store.crypto import Cipher
from intake.store.models import (
    OPEN_STATUSES,
    Event,
    InboxItem,
    Incident,
    Message,
    Status,
    Tipster,
    utcnow,
)
from intake.store.numbering import number_incidents
from intake.store.serialize import load_message
from intake.store.timeline import add_event

log = logging.getLogger(__name__)

CHAT_CHANNELS = frozenset(spec.channel for spec in specs() if spec.replies)
# The caller chose "a child is in danger now" on the IVR: P1 before the call is connected.
IVR_DANGER = {"rule": "ivr_danger_now", "matched": "1", "effect": "level P1"}

# The tables, for the Core statements that write incidents (the ORM's work for each
# statement would cost more than the inserts themselves).
INCIDENTS = cast(Table, Incident.__table__)
MESSAGES = cast(Table, Message.__table__)
EVENTS = cast(Table, Event.__table__)
INBOX = cast(Table, InboxItem.__table__)


@dataclass(frozen=True)
class IngestOutcome:
    """The incident a message went to (None for events, commands and acknowledgements)."""

    incident_id: int | None
    reference: str | None
    status: str | None
    created: bool
    message: InboundMessage


@dataclass(frozen=True)
class Opening:
    """A new incident to write: the stored message that opens it, and its numbers."""

    inbox_id: int
    message: InboundMessage
    incident_id: int
    reference: str
    tipster_id: int | None = None


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
    located = message.latitude is not None and message.longitude is not None
    return {
        "channel": str(message.channel),
        "status": str(Status.NEW),
        "external_id": clean_text(extra["external_id"]) if extra.get("external_id") else None,
        "conversation_key": message.conversation_key,
        "received_at": message.received_at,
        "last_message_at": message.received_at,
        "location_text": clean_text(extra["location_text"]) if extra.get("location_text") else None,
        "latitude": message.latitude if located else None,
        "longitude": message.longitude if located else None,
        "victim_age": _age(extra.get("victim_age")),
        "victim_gender": extra.get("victim_gender") or None,
        "urgent_call": message.urgent,
        "level": "P1" if message.urgent else None,
        "score": 100.0 if message.urgent else None,
        "reasons": [IVR_DANGER] if message.urgent else [],
        "categories": [],
        "location_candidates": [],
        "support_given": [],
    }


def _message_row(incident_id: int, inbox_id: int, message: InboundMessage) -> dict[str, Any]:
    """The incident's copy of an inbound message."""
    return {
        "incident_id": incident_id,
        "inbox_id": inbox_id,
        "direction": "in",
        "channel": str(message.channel),
        "kind": str(message.kind),
        "text": clean_text(message.text),
        "attachments": [a.__dict__ for a in message.attachments],
        "latitude": message.latitude,
        "longitude": message.longitude,
        "created_at": message.received_at,
    }


def open_incidents(
    session: Session, openings: list[Opening], *, lease: bool
) -> list[jobs.ClaimedJob]:
    """Write new incidents, each with its first message, its "created" entry, the link from
    its inbox item and its `process` job: one statement per table for all of them (one tip
    from a webhook, or a worker's batch of tips answered before their incident existed).

    `lease`: the jobs go to the caller, leased (`jobs.lease_new`), for a worker that goes
    on to them at once; otherwise they wait in the queue, and none is returned.
    """
    if not openings:
        return []  # an empty executemany would insert one row of defaults
    connection = session.connection()
    connection.execute(
        insert(INCIDENTS),
        [
            {
                **new_incident_fields(o.message),
                "id": o.incident_id,
                "reference": o.reference,
                "tipster_id": o.tipster_id,
            }
            for o in openings
        ],
    )
    connection.execute(
        insert(MESSAGES), [_message_row(o.incident_id, o.inbox_id, o.message) for o in openings]
    )
    connection.execute(
        insert(EVENTS),
        [
            {
                "incident_id": o.incident_id,
                "actor": "system",
                "action": "created",
                "detail": {"channel": str(o.message.channel)},
            }
            for o in openings
        ],
    )
    _mark_items(session, [(o.inbox_id, "ingested", o.incident_id) for o in openings])
    keys = [("process", str(o.incident_id)) for o in openings]
    if lease:
        return jobs.lease_new(session=session, jobs=keys)
    now = utcnow()
    jobs.schedule_many(session=session, jobs=[(kind, key, now) for kind, key in keys])
    return []


def _apply_message(incident: Incident, message: InboundMessage) -> None:
    """Update an open incident with what a follow-up message carries."""
    incident.last_message_at = max(incident.last_message_at, message.received_at)
    if message.latitude is not None and message.longitude is not None:
        incident.latitude, incident.longitude = message.latitude, message.longitude
    if message.urgent and not incident.urgent_call:
        incident.urgent_call = True
        incident.level = "P1"
        incident.score = max(incident.score or 0.0, 100.0)
        incident.reasons = [*incident.reasons, IVR_DANGER]


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
            linked = session.get(Incident, item.incident_id)
            return _outcome(linked, False, message)
        if item.reserved_incident_id is not None and item.reference:
            reserved = (item.reserved_incident_id, item.reference)
    unit = unit_for_sender(session, message)
    if unit is not None:  # a responder's message: never an incident of its own
        take_unit_message(session=session, unit=unit, message=message, inbox_id=inbox_id)
        return _outcome(None, False, message)
    if message.kind == MessageKind.ACK:
        # Only a unit acknowledges: a tipster's "ok 111-..." is part of their conversation.
        message = replace(message, kind=MessageKind.TEXT, ack_reference=None)
    if message.kind in NOT_INCIDENTS:
        _mark_items(session, [(inbox_id, str(message.kind), None)])
        return _outcome(None, False, message)
    tipster = _tipster(session, cipher, message)
    incident = None if reserved else _open_conversation(session, message, tipster, options)
    if incident is None:
        (incident_id, reference) = (
            reserved or number_incidents(session.connection(), at=[message.received_at])[0]
        )
        tipster_id = tipster.id if tipster is not None else None
        opening = Opening(inbox_id, message, incident_id, reference, tipster_id)
        open_incidents(session, [opening], lease=False)
        log.info("inbox item %s -> incident %s (new)", inbox_id, reference)
        return IngestOutcome(incident_id, reference, str(Status.NEW), True, message)
    _follow_up(session, incident, tipster, inbox_id, message)
    log.info("inbox item %s -> incident %s (follow-up)", inbox_id, incident.reference)
    return _outcome(incident, False, message)


def _follow_up(
    session: Session,
    incident: Incident,
    tipster: Tipster | None,
    inbox_id: int,
    message: InboundMessage,
) -> None:
    """Add a follow-up message to its open incident, which is processed again."""
    _apply_message(incident, message)
    session.connection().execute(insert(MESSAGES), [_message_row(incident.id, inbox_id, message)])
    add_event(
        session=session,
        incident=incident,
        actor="system",
        action="message_received",
        detail={"kind": str(message.kind)},
    )
    read_answer(session=session, incident=incident, tipster=tipster, text=message.text)
    session.flush()
    _mark_items(session, [(inbox_id, "ingested", incident.id)])
    jobs.enqueue(session=session, kind="process", key=str(incident.id))


def _outcome(incident: Incident | None, created: bool, message: InboundMessage) -> IngestOutcome:
    if incident is None:
        return IngestOutcome(None, None, None, created, message)
    return IngestOutcome(incident.id, incident.reference, incident.status, created, message)


_MARK_ITEM = (
    update(INBOX)
    .where(INBOX.c.id == bindparam("item_id"))
    .values(state=bindparam("new_state"), incident_id=bindparam("to_incident"))
)


def _mark_items(session: Session, marks: list[tuple[int, str, int | None]]) -> None:
    """Record what became of inbox items: (inbox id, state, incident id) each."""
    session.connection().execute(
        _MARK_ITEM,
        [{"item_id": i, "new_state": state, "to_incident": to} for i, state, to in marks],
    )


def _load(cipher: Cipher, stored: str) -> InboundMessage:
    """Decrypt and rebuild a stored inbound message."""
    return load_message(cipher.decrypt(stored) or "")
