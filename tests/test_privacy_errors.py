"""Personal data stays out of errors as they are logged and kept on failed jobs and alerts."""

from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from intake.store import jobs
from intake.store.db import Database
from intake.store.models import Job, utcnow
from intake.store.private_logs import PrivateFormatter, without_values

# What a row might hold in the clear: a phone number and a name.
PERSONAL = "0912345678 Nguyen Thi Hoa"
INSERT = text("INSERT INTO counters (name, value) VALUES (:name, 1)")


@pytest.fixture
def db(database_url: str):  # type: ignore[no-untyped-def]
    database = Database(database_url)
    yield database
    database.dispose()


def failed_insert(db: Database) -> IntegrityError:
    """The error of inserting PERSONAL as a key twice (PostgreSQL quotes the key)."""
    with db.writer() as session:
        session.execute(INSERT, {"name": PERSONAL})
    with pytest.raises(IntegrityError) as caught, db.writer() as session:
        session.execute(INSERT, {"name": PERSONAL})
    return caught.value


def logged(error: BaseException) -> str:
    """What the service's log formatter writes for an error logged with its traceback."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(PrivateFormatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("test.private")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError("storing failed") from error
        except RuntimeError:
            logger.exception("a request could not be stored")
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_failed_statement_is_logged_without_its_values(db: Database) -> None:
    error = failed_insert(db)
    assert "[parameters" not in str(error)  # SQLAlchemy's own copy of the values
    output = logged(error)
    assert "IntegrityError" in output and "counters" in output  # still says what failed
    assert PERSONAL not in output


def test_a_failed_job_keeps_no_values(db: Database) -> None:
    error = failed_insert(db)
    with db.writer() as session:
        jobs.schedule(session=session, kind="triage", key="1", run_at=utcnow())
    with db.writer() as session:
        (job,) = jobs.claim(session=session, kinds=("triage",), limit=1)
        jobs.fail(session=session, job_id=job.id, error=f"{type(error).__name__}: {error}")
    with db.reader() as session:
        kept = session.scalar(select(Job.last_error))
    assert kept and kept.startswith("IntegrityError") and PERSONAL not in kept


def test_only_the_quoting_lines_are_withheld() -> None:
    text_ = 'duplicate key value violates unique constraint "x"\nDETAIL:  Key (a)=(b) exists.'
    assert without_values(text_).splitlines() == [
        'duplicate key value violates unique constraint "x"',
        "DETAIL: (withheld: it may quote personal data)",
    ]
    assert without_values("UNIQUE constraint failed: counters.name") == (
        "UNIQUE constraint failed: counters.name"
    )


def test_numbers_a_provider_quotes_are_masked() -> None:
    # Twilio's words for a number it cannot reach; a Telegram chat id.
    quoted = "The 'To' number +84912345678 is not a valid phone number; chat 5123456789 gone"
    assert without_values(quoted) == (
        "The 'To' number (number withheld) is not a valid phone number; chat (number withheld) gone"
    )
    # what logs are made of stays readable
    kept = "2026-12-02 13:48:57,951 job 1234 reply:111-2612-0001 failed, SID SM0123456789abcdef"
    assert without_values(kept) == kept


def test_the_log_masks_a_number_in_a_message_or_a_traceback() -> None:
    output = logged(ValueError("send to 0912345678 failed"))
    assert "0912345678" not in output and "(number withheld)" in output
