"""Durable intake: store what a provider sent before answering it.

`accept` writes every inbound message to the inbox (deduplicated on the provider's id)
and, inside a savepoint of the same transaction, turns it into an incident right away so
the answer can carry the reference. If that step fails, the savepoint is rolled back and
an `ingest` job is committed with the stored tip instead: the worker ingests it later.
Nothing is answered before the commit, so a crash loses only unanswered requests.

`inbox_bulk.accept_batch` does the same for many requests at once, through the same
inbox insert (`insert_inbox`: one row here, a batch there). Anonymous partner and web-form
tips are there stored with the id and reference of the incident each will open, and
`ingest.open_incidents` writes those incidents, many at a time, in a worker: the statements
`ingest_item` writes a new incident with.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, case, func, insert, select
from sqlalchemy.orm import Session

from channels.base import Channel, InboundMessage
from intake.pipeline.incidents import IngestOptions
from intake.pipeline.ingest import ingest_item
from intake.store import jobs
from intake.store.auth import Sender
from intake.store.crypto import Cipher
from intake.store.db import built_once, driver_rows
from intake.store.models import InboxItem, Incident, Job, Status, utcnow
from intake.store.serialize import dump_message

log = logging.getLogger(__name__)

# The tables, for the Core statements of the bulk path.
INBOX = cast(Table, InboxItem.__table__)
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
    """One provider request's messages and the raw body to keep with the first; a
    partner's request carries its bearer token, checked where the request is stored."""

    messages: tuple[InboundMessage, ...]
    raw_body: bytes | None
    sender: Sender | None = None


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


def insert_inbox(connection: Connection, rows: list[dict[str, object]]) -> list[Inserted]:
    """Insert inbox rows (`inbox_row`) in one statement, skipping those whose (channel,
    provider id) is stored already; (id, channel, provider id) of each row inserted.
    SQLite gets the statement through its driver: SQLAlchemy's handling of each row cost
    more than SQLite's work."""
    if connection.dialect.name == "sqlite":
        as_text = _sqlite_times(connection)
        values = [
            as_text(cast(datetime, row[name])) if name == "received_at" else row[name]
            for row in rows
            for name in _INBOX_COLUMNS
        ]
        return driver_rows(connection, _sqlite_insert_inbox(len(rows)), values)
    statement = built_once(
        connection,
        "insert inbox",
        lambda insert: (
            insert(INBOX)
            .on_conflict_do_nothing(index_elements=["channel", "provider_message_id"])
            .returning(INBOX.c.id, INBOX.c.channel, INBOX.c.provider_message_id)
        ),
    )
    inserted = connection.execute(statement, rows).all()
    return cast(list[Inserted], inserted)  # its rows are tuples of these


_INBOX_COLUMNS = (
    "channel",
    "provider_message_id",
    "received_at",
    "state",
    "message",
    "raw_body",
    "reserved_incident_id",
    "reference",
)


@functools.cache
def _sqlite_insert_inbox(rows: int) -> str:
    """SQLite: the multi-row insert of `rows` inbox rows (one text per batch size)."""
    values = ", ".join([f"({', '.join(['?'] * len(_INBOX_COLUMNS))})"] * rows)
    return (
        f"INSERT INTO inbox ({', '.join(_INBOX_COLUMNS)}) VALUES {values}"
        " ON CONFLICT (channel, provider_message_id) DO NOTHING"
        " RETURNING id, channel, provider_message_id"
    )


def _sqlite_times(connection: Connection) -> Callable[[datetime], object]:
    """Times as SQLAlchemy gives them to the driver for a time column (their text on
    SQLite), each distinct one made once: a batch's rows share theirs."""
    column_type = INBOX.c.received_at.type.dialect_impl(connection.dialect)
    to_sqlite = column_type.bind_processor(connection.dialect) or (lambda moment: moment)
    return functools.lru_cache(maxsize=4)(to_sqlite)


_INSERT_JOBS = insert(JOBS).returning(JOBS.c.id)


def queue_ingest(connection: Connection, inbox_ids: list[int]) -> None:
    """An `ingest` job for each of these stored tips, in one multi-row insert."""
    if not inbox_ids:
        return
    if connection.dialect.name == "sqlite":
        now = _sqlite_times(connection)(utcnow())
        values = [value for inbox_id in inbox_ids for value in (str(inbox_id), now, now)]
        driver_rows(connection, _sqlite_insert_jobs(len(inbox_ids)), values)
        return
    # RETURNING makes it one multi-row INSERT on PostgreSQL too (psycopg would send a
    # statement per row); the ids themselves are not needed.
    connection.execute(_INSERT_JOBS, [{"kind": "ingest", "key": str(i)} for i in inbox_ids]).all()


@functools.cache
def _sqlite_insert_jobs(rows: int) -> str:
    """SQLite: the multi-row insert of `rows` ingest jobs (key, run at, created at)."""
    values = ", ".join(["('ingest', ?, 'pending', ?, 0, 0, ?)"] * rows)
    return (
        f"INSERT INTO jobs (kind, key, state, run_at, attempts, rerun, created_at) VALUES {values}"
    )


def _insert(
    session: Session, cipher: Cipher, message: InboundMessage, raw: bytes | None
) -> int | None:
    """Insert the inbox row; None when (channel, provider id) is already there."""
    inserted = insert_inbox(session.connection(), [inbox_row(cipher, message, raw, utcnow())])
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
    return Accepted(
        inbox_id=inbox_id,
        duplicate=False,
        incident_id=outcome.incident_id,
        reference=outcome.reference,
        created=outcome.created,
        status=outcome.status,
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
