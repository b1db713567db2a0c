"""Many intake requests stored at once: the group commit's side of `inbox.py`.

`accept_batch` stores what the intake writer (`writer.py`) gathered, committed before it
returns. Every inbox row goes in one batched insert (`inbox.insert_inbox`, the statement
`inbox.accept` runs for one message; repeats skipped by the unique key). A message that
can only open a new incident (an anonymous partner or web-form tip) is answered with the
id and reference of that incident, reserved in the same transaction, and an `ingest` job
writes the incident a moment later, many at a time (`inbox.open_incidents_in_bulk`):
storing a tip is then two rows, not six. The rest are ingested inline, one by one, as
`inbox.accept` does.

A batch of nothing but such tips takes `inbox_new_tips.py`: on PostgreSQL one statement,
committed by itself (the repeat check, the id reservation, the reference counter, the inbox
rows and their jobs). Each statement is a round trip to the server, and with BEGIN, COMMIT
and the pool's ping a batch took eight of them.
"""

from __future__ import annotations

import logging

from sqlalchemy import insert
from sqlalchemy.orm import Session

from intake.pipeline.inbox import (
    JOBS,
    Accepted,
    Submission,
    accept,
    inbox_row,
    ingest_inline,
    insert_inbox,
)
from intake.pipeline.inbox_batch import Batch, Position, already_stored
from intake.pipeline.inbox_new_tips import store_new_tips
from intake.pipeline.incidents import IngestOptions
from intake.store.crypto import Cipher
from intake.store.db import Database
from intake.store.models import utcnow
from intake.store.numbering import number_incidents

log = logging.getLogger(__name__)


def accept_batch(
    *,
    db: Database,
    cipher: Cipher,
    submissions: list[Submission],
    options: IngestOptions,
) -> list[list[Accepted] | Exception]:
    """Store and ingest many requests in one transaction, committed before returning.

    Each request's outcome is its list of `Accepted`, or the exception that kept it out.
    Should the shared transaction fail, it is rolled back and the requests are stored
    again one by one (each in a savepoint), so one bad request keeps none of the others out.
    """
    batch = Batch.of(submissions)
    try:
        if batch.only_new_tips:
            return store_new_tips(db, cipher, batch)
        with db.writer() as session:
            return _accept_in_bulk(session, cipher, batch, options)
    except Exception:
        log.exception("bulk intake of %s requests failed; one by one now", len(submissions))
    outcomes: list[list[Accepted] | Exception] = []
    with db.writer() as session:
        for submission in submissions:
            try:
                with session.begin_nested():
                    outcomes.append(
                        accept(
                            session=session,
                            cipher=cipher,
                            messages=submission.messages,
                            raw_body=submission.raw_body,
                            options=options,
                        )
                    )
            except Exception as error:
                log.exception("a request could not be stored")
                outcomes.append(error)
    return outcomes


_INSERT_JOBS = insert(JOBS).returning(JOBS.c.id)


def _accept_in_bulk(
    session: Session, cipher: Cipher, batch: Batch, options: IngestOptions
) -> list[list[Accepted] | Exception]:
    """Insert every inbox row in one batched statement, then ingest or defer.

    A new tip takes an incident id and reference now (its answer carries them), and an
    `ingest` job turns it into that incident a moment later. The rest are ingested inline.
    """
    connection = session.connection()
    candidates = batch.new_tips
    if candidates:
        # Numbers only for what is new: a repeat delivery takes none.
        seen = already_stored(connection, candidates)
        candidates = [key for key in candidates if key not in seen]
    deferred = [batch.first[key] for key in candidates]
    numbers = number_incidents(connection, at=[batch.message(at).received_at for at in deferred])
    reservations = dict(zip(deferred, numbers, strict=True))
    now = utcnow()
    rows = [
        inbox_row(cipher, batch.message(at), batch.raw_body(at), now, reservations.get(at))
        for at in batch.first.values()
    ]
    inserted = insert_inbox(session, rows)
    new_ids = {(channel, provider_id): inbox_id for inbox_id, channel, provider_id in inserted}
    made: dict[Position, Accepted] = {}
    ingest_jobs = []
    for key, at in batch.first.items():
        inbox_id = new_ids.get(key)
        if inbox_id is None:
            continue  # stored before (or by another process just now): a repeat
        reserved = reservations.get(at)
        if reserved is not None:
            made[at] = Accepted(inbox_id, False, reserved[0], reserved[1], True, "new")
            ingest_jobs.append({"kind": "ingest", "key": str(inbox_id)})
            continue
        made[at] = ingest_inline(session, cipher, inbox_id, batch.message(at), options)
    if ingest_jobs:
        # RETURNING makes it one multi-row INSERT on PostgreSQL too (psycopg would send
        # a statement per row); the ids themselves are not needed.
        connection.execute(_INSERT_JOBS, ingest_jobs).all()
    return batch.answers(made, session)
