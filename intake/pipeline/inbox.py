"""Durable intake: store what a provider sent before answering it.

`accept` writes every inbound message to the inbox (deduplicated on the provider's id)
and, inside a savepoint of the same transaction, turns it into an incident right away so
the answer can carry the reference. If that step fails, the savepoint is rolled back and
an `ingest` job is committed with the stored tip instead: the worker ingests it later.
Nothing is answered before the commit, so a crash loses only unanswered requests.

`inbox_bulk.accept_batch` does the same for many requests at once, through the same
inbox insert (`insert_inbox`: one row here, a batch there). Anonymous partner and web-form
tips are there stored with the id and reference of the incident each will open, and
`open_incidents_in_bulk` writes those incidents, many at a time, in a worker.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from channels.base import Channel, InboundMessage
from intake.pipeline.incidents import IngestOptions, clean_text, ingest_item, new_incident_fields
from intake.store import jobs
from intake.store.crypto import Cipher
from intake.store.db import built_once
from intake.store.models import Event, InboxItem, Incident, Job, Message, Status, utcnow
from intake.store.serialize import dump_message

log = logging.getLogger(__name__)

# The tables, for the Core statements of the bulk path.
INBOX = cast(Table, InboxItem.__table__)
INCIDENTS = cast(Table, Incident.__table__)
MESSAGES = cast(Table, Message.__table__)
EVENTS = cast(Table, Event.__table__)
JOBS = cast(Table, Job.__table__)
Inserted = tuple[int, str, str]  # an inbox row's id, channel and provider message id


@dataclass(frozen=True)
class Accepted:
    """What became of one inbound message."""

    inbox_id: int
    duplicate: bool
    incident_id: int | None
    reference: str | None
    created: bool  # a new incident (not a follow-up or a repeat)
    status: str | None = None  # the incident's status when answered


@dataclass(frozen=True)
class Submission:
    """One provider request's messages and the raw body to keep with the first."""

    messages: tuple[InboundMessage, ...]
    raw_body: bytes | None


def inbox_row(
    cipher: Cipher,
    message: InboundMessage,
    raw: bytes | None,
    now: datetime,
    reserved: tuple[int, str] | None = None,
) -> dict[str, object]:
    """The inbox row of one message, sealed; `reserved` is the (incident id, reference) a
    new tip is answered with before its incident is written."""
    return {
        "channel": str(message.channel),
        "provider_message_id": message.provider_message_id,
        "received_at": now,
        "state": "pending",
        "message": cipher.encrypt(dump_message(message)),
        "raw_body": cipher.encrypt_bytes(raw) if raw is not None else None,
        "reserved_incident_id": reserved[0] if reserved else None,
        "reference": reserved[1] if reserved else None,
    }


def insert_inbox(session: Session, rows: list[dict[str, object]]) -> list[Inserted]:
    """Insert inbox rows in one batched statement, skipping those whose (channel, provider
    id) is stored already; (id, channel, provider id) of each row inserted."""
    statement = built_once(
        session,
        "insert inbox",
        lambda insert: (
            insert(INBOX)
            .on_conflict_do_nothing(index_elements=["channel", "provider_message_id"])
            .returning(INBOX.c.id, INBOX.c.channel, INBOX.c.provider_message_id)
        ),
    )
    inserted = session.connection().execute(statement, rows).all()
    return cast(list[Inserted], inserted)  # its rows are tuples of these


def _insert(
    session: Session, cipher: Cipher, message: InboundMessage, raw: bytes | None
) -> int | None:
    """Insert the inbox row; None when (channel, provider id) is already there."""
    inserted = insert_inbox(session, [inbox_row(cipher, message, raw, utcnow())])
    return inserted[0][0] if inserted else None


def repeat_outcome(session: Session, message: InboundMessage) -> Accepted:
    """The outcome of the first delivery of a repeated message (whose incident may still
    be on its way: then the id and reference it was answered with)."""
    row = session.execute(
        select(
            InboxItem.id,
            func.coalesce(InboxItem.incident_id, InboxItem.reserved_incident_id),
            func.coalesce(Incident.reference, InboxItem.reference),
            func.coalesce(
                Incident.status,
                case((InboxItem.reserved_incident_id.is_not(None), str(Status.NEW))),
            ),
        )
        .outerjoin(Incident, Incident.id == InboxItem.incident_id)
        .where(
            InboxItem.channel == message.channel,
            InboxItem.provider_message_id == message.provider_message_id,
        )
    ).one()
    return Accepted(row[0], True, row[1], row[2], False, row[3])


def accept(
    *,
    session: Session,
    cipher: Cipher,
    messages: tuple[InboundMessage, ...],
    raw_body: bytes | None,
    options: IngestOptions,
) -> list[Accepted]:
    """Store each message durably (once) and ingest it; the caller's transaction commits."""
    results = []
    for index, message in enumerate(messages):
        inbox_id = _insert(session, cipher, message, raw_body if index == 0 else None)
        if inbox_id is None:
            results.append(repeat_outcome(session, message))
            continue
        results.append(ingest_inline(session, cipher, inbox_id, message, options))
    return results


def ingest_inline(
    session: Session, cipher: Cipher, inbox_id: int, message: InboundMessage, options: IngestOptions
) -> Accepted:
    """`accept`'s inline ingest of one stored message (an ingest job if it fails)."""
    try:
        with session.begin_nested():
            outcome = ingest_item(
                session=session, cipher=cipher, inbox_id=inbox_id, options=options, message=message
            )
    except Exception:
        # The tip is stored; the ingest job commits with it and the worker tries again.
        log.exception("inline ingest failed for inbox item %s", inbox_id)
        jobs.enqueue(session=session, kind="ingest", key=str(inbox_id))
        return Accepted(inbox_id, False, None, None, False)
    incident = outcome.incident
    return Accepted(
        inbox_id=inbox_id,
        duplicate=False,
        incident_id=incident.id if incident else None,
        reference=incident.reference if incident else None,
        created=outcome.created,
        status=incident.status if incident else None,
    )


def open_incidents_in_bulk(
    session: Session, items: list[tuple[int, InboundMessage, int, str]]
) -> list[jobs.ClaimedJob]:
    """Write the incidents that stored tips were answered with: (inbox id, message,
    reserved id, reference) each, with its message, timeline entry, `process` job and
    inbox link, in a handful of statements (what `ingest_item` does for such a message).
    Returns the `process` jobs, leased to the caller (`jobs.lease_new`)."""
    if not items:
        return []  # an empty executemany would insert one row of defaults
    incident_rows: list[dict[str, object]] = []
    message_rows: list[dict[str, object]] = []
    event_rows: list[dict[str, object]] = []
    inbox_rows: list[dict[str, object]] = []
    for inbox_id, message, incident_id, reference in items:
        incident_rows.append(
            {
                **new_incident_fields(message),
                "id": incident_id,
                "reference": reference,
                "status": str(Status.NEW),
                "tipster_id": None,
                # what `ingest_item` copies from the message once the incident exists
                "latitude": message.latitude if message.longitude is not None else None,
                "longitude": message.longitude if message.latitude is not None else None,
            }
        )
        message_rows.append(
            {
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
        )
        event_rows.append(
            {
                "incident_id": incident_id,
                "actor": "system",
                "action": "created",
                "detail": {"channel": str(message.channel)},
            }
        )
        inbox_rows.append({"inbox_id": inbox_id, "new_incident_id": incident_id})
    # Core statements on the session's connection: the ORM's per-statement work would cost
    # more than the inserts themselves.
    connection = session.connection()
    connection.execute(insert(INCIDENTS), incident_rows)
    connection.execute(insert(MESSAGES), message_rows)
    connection.execute(insert(EVENTS), event_rows)
    connection.execute(
        update(INBOX)
        .where(INBOX.c.id == bindparam("inbox_id"))
        .values(state="ingested", incident_id=bindparam("new_incident_id")),
        inbox_rows,
    )
    log.info("%s inbox items -> %s new incidents", len(items), len(items))
    return jobs.lease_new(
        session=session, jobs=[("process", str(incident_id)) for _, _, incident_id, _ in items]
    )


def store_malformed(
    *, session: Session, cipher: Cipher, channel: Channel, raw_body: bytes, error: str
) -> int:
    """Keep a signed but unreadable request for inspection (once per distinct body)."""
    digest = hashlib.sha256(raw_body).hexdigest()
    provider_id = f"malformed:{digest}"
    existing = session.scalars(
        select(InboxItem.id).where(
            InboxItem.channel == channel, InboxItem.provider_message_id == provider_id
        )
    ).first()
    if existing is not None:
        return existing
    item = InboxItem(
        channel=channel,
        provider_message_id=provider_id,
        state="malformed",
        raw_body=cipher.encrypt_bytes(raw_body),
        error=error[:2000],
    )
    session.add(item)
    session.flush()
    log.warning("stored malformed %s request as inbox item %s", channel, item.id)
    return item.id
