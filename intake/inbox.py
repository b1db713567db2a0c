"""Durable intake: store what a provider sent before answering it.

`accept` writes every inbound message to the inbox (deduplicated on the provider's id)
and, inside a savepoint of the same transaction, turns it into an incident right away so
the answer can carry the reference. If that step fails, the savepoint is rolled back and
an `ingest` job is committed with the stored tip instead: the worker ingests it later.
Nothing is answered before the commit, so a crash loses only unanswered requests.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from channels.base import Channel, InboundMessage
from intake import jobs
from intake.crypto import Cipher
from intake.incidents import IngestOptions, ingest_item
from intake.models import InboxItem, Incident, utcnow
from intake.serialize import dump_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    """What became of one inbound message."""

    inbox_id: int
    duplicate: bool
    incident_id: int | None
    reference: str | None
    created: bool  # a new incident (not a follow-up or a repeat)


def _insert(
    session: Session, cipher: Cipher, message: InboundMessage, raw: bytes | None
) -> int | None:
    """Insert the inbox row; None when (channel, provider id) is already there."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(InboxItem)
        .values(
            channel=str(message.channel),
            provider_message_id=message.provider_message_id,
            received_at=utcnow(),
            state="pending",
            message=cipher.encrypt(dump_message(message)),
            raw_body=cipher.encrypt_bytes(raw) if raw is not None else None,
        )
        .on_conflict_do_nothing(index_elements=["channel", "provider_message_id"])
        .returning(InboxItem.id)
    )
    return session.execute(statement).scalar_one_or_none()


def _existing(session: Session, message: InboundMessage) -> Accepted:
    """The outcome of the first delivery of a repeated message."""
    row = session.execute(
        select(InboxItem.id, InboxItem.incident_id, Incident.reference)
        .outerjoin(Incident, Incident.id == InboxItem.incident_id)
        .where(
            InboxItem.channel == message.channel,
            InboxItem.provider_message_id == message.provider_message_id,
        )
    ).one()
    return Accepted(row[0], True, row[1], row[2], False)


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
            results.append(_existing(session, message))
            continue
        incident: Incident | None = None
        created = False
        try:
            with session.begin_nested():
                outcome = ingest_item(
                    session=session,
                    cipher=cipher,
                    inbox_id=inbox_id,
                    options=options,
                    message=message,
                )
            incident, created = outcome.incident, outcome.created
        except Exception:
            # The tip is stored; the ingest job commits with it and the worker tries again.
            log.exception("inline ingest failed for inbox item %s", inbox_id)
            jobs.enqueue(session=session, kind="ingest", key=str(inbox_id))
        results.append(
            Accepted(
                inbox_id=inbox_id,
                duplicate=False,
                incident_id=incident.id if incident else None,
                reference=incident.reference if incident else None,
                created=created,
            )
        )
    return results


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
