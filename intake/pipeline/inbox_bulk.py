"""Many intake requests stored at once: the group commit's side of `inbox.py`.

`accept_batch` stores what the intake writer (`writer.py`) gathered, committed before it
returns. Every inbox row goes in one batched insert (`inbox.insert_inbox`, the statement
`inbox.accept` runs for one message; repeats skipped by the unique key). A message that
can only open a new incident (an anonymous partner or web-form tip) is answered with the
id and reference of that incident, reserved in the same transaction, and an `ingest` job
writes the incident a moment later, many at a time (`ingest.open_incidents`):
storing a tip is then two rows, not six. The rest are ingested inline, one by one, as
`inbox.accept` does.

A batch of nothing but such tips takes `inbox_new_tips.py`: on PostgreSQL one statement,
committed by itself (the repeat check, the id reservation, the reference counter, the inbox
rows and their jobs). Each statement is a round trip to the server, and with BEGIN, COMMIT
and the pool's ping a batch took eight of them.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from intake.pipeline.inbox import Accepted, Submission, accept, ingest_inline
from intake.pipeline.inbox_batch import Batch, store_batch
from intake.pipeline.inbox_new_tips import store_new_tips
from intake.pipeline.incidents import IngestOptions
from intake.store.crypto import Cipher
from intake.store.db import Database

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
        refused = batch.checked(session.connection()).refused
        for index, submission in enumerate(submissions):
            if index in refused:
                outcomes.append(refused[index])
                continue
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


def _accept_in_bulk(
    session: Session, cipher: Cipher, batch: Batch, options: IngestOptions
) -> list[list[Accepted] | Exception]:
    """Store every inbox row in one statement (`store_batch`), then ingest inline what is
    not a new tip waiting for its `ingest` job."""
    batch = batch.checked(session.connection())  # partners' tokens: see `Batch.checked`
    made, to_ingest = store_batch(session.connection(), cipher, batch)
    for at, inbox_id in to_ingest.items():
        made[at] = ingest_inline(session, cipher, inbox_id, batch.message(at), options)
    return batch.answers(made, session)
