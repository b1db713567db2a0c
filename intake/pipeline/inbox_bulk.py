"""Many intake requests stored at once: the group commit's side of `intake.inbox`.

`accept_batch` stores what the intake writer (`intake.group_commit`) gathered, committed
before it returns. Every inbox row goes in one batched insert (repeats skipped by the
unique key). A message that can only open a new incident (an anonymous partner or
web-form tip) is answered with the id and reference of that incident, reserved in the
same transaction, and an `ingest` job writes the incident a moment later, many at a time
(`inbox.open_incidents_in_bulk`): storing a tip is then two rows, not six. The rest are
ingested inline, one by one, as `inbox.accept` does.

On PostgreSQL a batch of nothing but such tips is one statement, committed by itself
(`_NEW_TIPS`): the repeat check, the id reservation, the reference counter, the inbox rows
and their jobs. Each statement is a round trip to the server, and with BEGIN, COMMIT and
the pool's ping a batch took eight of them.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, String, any_, bindparam, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from channels.base import InboundMessage
from intake.pipeline.inbox import (
    INBOX,
    JOBS,
    Accepted,
    Submission,
    accept,
    ingest_inline,
    repeat_outcome,
)
from intake.pipeline.incidents import ANONYMOUS_CHANNELS, NOT_INCIDENTS, IngestOptions
from intake.store.crypto import Cipher
from intake.store.db import Database, built_once, driver_rows
from intake.store.models import utcnow
from intake.store.numbering import number_incidents, reference_period
from intake.store.serialize import dump_message

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (channel, provider message id)
Position = tuple[int, int]  # (submission, message within it)


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
    batch = _Batch.of(submissions)
    try:
        if batch.only_new_tips:
            return _store_new_tips(db, cipher, batch)
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


def opens_new_incident(message: InboundMessage) -> bool:
    """True for a message that can only open an incident of its own: an anonymous partner
    or web-form tip has no tipster to find and no conversation to join."""
    return (
        message.kind not in NOT_INCIDENTS
        and message.channel in ANONYMOUS_CHANNELS
        and not (message.sender_phone or message.sender_name)
        and not message.conversation_key
        and not message.urgent
    )


@dataclass(frozen=True)
class _Batch:
    """The requests of one batch, each distinct message once (at its first position)."""

    submissions: list[Submission]
    first: dict[Key, Position]
    new_tips: list[Key]  # the keys of messages that can only open a new incident

    @classmethod
    def of(cls, submissions: list[Submission]) -> _Batch:
        first: dict[Key, Position] = {}
        for s_index, submission in enumerate(submissions):
            for m_index, message in enumerate(submission.messages):
                first.setdefault(
                    (str(message.channel), message.provider_message_id), (s_index, m_index)
                )
        new_tips = [k for k, at in first.items() if opens_new_incident(cls._at(submissions, at))]
        return cls(submissions, first, new_tips)

    @property
    def only_new_tips(self) -> bool:
        return len(self.new_tips) == len(self.first)

    def message(self, at: Position) -> InboundMessage:
        return self._at(self.submissions, at)

    def raw_body(self, at: Position) -> bytes | None:
        """The request body, kept with the request's first message."""
        return self.submissions[at[0]].raw_body if at[1] == 0 else None

    @property
    def size(self) -> int:
        """How many messages the requests hold, repeats counted."""
        return sum(len(submission.messages) for submission in self.submissions)

    def answers(
        self, made: dict[Position, Accepted], session: Session | None
    ) -> list[list[Accepted] | Exception]:
        """Each request's outcomes: what was `made` here, and for every other message (a
        repeat) that of its first delivery, looked up through `session`."""
        outcomes: list[list[Accepted] | Exception] = []
        for s_index, submission in enumerate(self.submissions):
            results = []
            for m_index, message in enumerate(submission.messages):
                outcome = made.get((s_index, m_index))
                if outcome is None:
                    if session is None:
                        raise RuntimeError("a repeat to look up, and no session to do it")
                    outcome = repeat_outcome(session, message)
                results.append(outcome)
            outcomes.append(results)
        return outcomes

    @staticmethod
    def _at(submissions: list[Submission], at: Position) -> InboundMessage:
        return submissions[at[0]].messages[at[1]]


_INSERT_JOBS = insert(JOBS).returning(JOBS.c.id)
# PostgreSQL gets a channel's ids as one array: an IN list of another length each time
# is a new statement for it to plan.
_ALREADY_STORED = select(INBOX.c.provider_message_id).where(
    INBOX.c.channel == bindparam("channel"),
    INBOX.c.provider_message_id == any_(bindparam("ids", type_=ARRAY(String))),
)


def _already_stored(connection: Connection, keys: list[Key]) -> set[Key]:
    """Which of these messages the inbox holds already. One channel at a time: the unique
    index then finds each id (a row-value IN would scan the whole inbox). SQLite gets
    the query from the driver's own statement cache (SQLAlchemy's handling of an
    expanding IN cost more than the lookup)."""
    by_channel: dict[str, list[str]] = {}
    for channel, provider_id in keys:
        by_channel.setdefault(channel, []).append(provider_id)
    seen: set[Key] = set()
    for channel, provider_ids in by_channel.items():
        if connection.dialect.name == "sqlite":
            statement = _sqlite_already_stored(len(provider_ids))
            found = [row[0] for row in driver_rows(connection, statement, [channel, *provider_ids])]
        else:
            found = list(
                connection.execute(
                    _ALREADY_STORED, {"channel": channel, "ids": provider_ids}
                ).scalars()
            )
        seen.update((channel, provider_id) for provider_id in found)
    return seen


@functools.cache
def _sqlite_already_stored(count: int) -> str:
    """SQLite: which of `count` provider ids of one channel the inbox holds."""
    ids = ", ".join(["?"] * count)
    return (
        "SELECT provider_message_id FROM inbox"
        f" WHERE channel = ? AND provider_message_id IN ({ids})"
    )


def _accept_in_bulk(
    session: Session, cipher: Cipher, batch: _Batch, options: IngestOptions
) -> list[list[Accepted] | Exception]:
    """Insert every inbox row in one batched statement, then ingest or defer.

    A new tip takes an incident id and reference now (its answer carries them), and an
    `ingest` job turns it into that incident a moment later. The rest are ingested inline.
    """
    connection = session.connection()
    candidates = batch.new_tips
    if candidates:
        # Numbers only for what is new: a repeat delivery takes none.
        seen = _already_stored(connection, candidates)
        candidates = [key for key in candidates if key not in seen]
    deferred = [batch.first[key] for key in candidates]
    numbers = number_incidents(connection, at=[batch.message(at).received_at for at in deferred])
    reservations = dict(zip(deferred, numbers, strict=True))
    now = utcnow()
    rows = []
    for at in batch.first.values():
        message, raw = batch.message(at), batch.raw_body(at)
        reserved = reservations.get(at)
        rows.append(
            {
                "channel": str(message.channel),
                "provider_message_id": message.provider_message_id,
                "received_at": now,
                "state": "pending",
                "message": cipher.encrypt(dump_message(message)),
                "raw_body": cipher.encrypt_bytes(raw) if raw is not None else None,
                "reserved_incident_id": reserved[0] if reserved else None,
                "reference": reserved[1] if reserved else None,
            }
        )
    inserted = connection.execute(
        built_once(
            session,
            "insert inbox",
            lambda insert: (
                insert(INBOX)
                .on_conflict_do_nothing(index_elements=["channel", "provider_message_id"])
                .returning(INBOX.c.id, INBOX.c.channel, INBOX.c.provider_message_id)
            ),
        ),
        rows,
    ).all()
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


# PostgreSQL: new tips stored in one statement. Those already in the inbox are left out
# before they take a number; each of the rest takes an incident id from the incidents'
# sequence and a reference from its month's counter (in the order of the batch), and is
# inserted with its `ingest` job. Returns the rows it inserted. It goes to psycopg as it
# is, its arrays as binary parameters (`%(name)b`): in text form each element would be
# searched for characters to quote.
_NEW_TIPS = """
WITH arrived AS (
    SELECT *
    FROM unnest(
        CAST(%(channels)b AS varchar[]), CAST(%(ids)b AS varchar[]), CAST(%(messages)b AS text[]),
        CAST(%(raw_bodies)b AS bytea[]), CAST(%(periods)b AS varchar[])
    ) WITH ORDINALITY AS arrived (channel, provider_message_id, message, raw_body, period, position)
),
fresh AS (
    SELECT arrived.*,
        nextval(pg_get_serial_sequence('incidents', 'id')) AS incident_id,
        row_number() OVER (PARTITION BY period ORDER BY position) AS nth,
        count(*) OVER (PARTITION BY period) AS in_period
    FROM arrived
    WHERE NOT EXISTS (
        SELECT FROM inbox
        WHERE inbox.channel = arrived.channel
            AND inbox.provider_message_id = arrived.provider_message_id
    )
),
counted AS (
    INSERT INTO counters AS counter (name, value)
    SELECT 'ref:' || period, count(*) FROM fresh GROUP BY period
    ON CONFLICT (name) DO UPDATE SET value = counter.value + excluded.value
    RETURNING counter.name, counter.value
),
numbered AS (
    SELECT fresh.*, CAST(counted.value - fresh.in_period + fresh.nth AS text) AS number
    FROM fresh JOIN counted ON counted.name = 'ref:' || fresh.period
),
stored AS (
    INSERT INTO inbox (
        channel, provider_message_id, received_at, state, message, raw_body,
        reserved_incident_id, reference
    )
    SELECT channel, provider_message_id, %(now)b, 'pending', message, raw_body, incident_id,
        '111-' || period || '-' || lpad(number, greatest(4, length(number)), '0')
    FROM numbered
    ORDER BY position
    ON CONFLICT (channel, provider_message_id) DO NOTHING
    RETURNING id, channel, provider_message_id, reserved_incident_id, reference
),
queued AS (
    INSERT INTO jobs (kind, key, state, run_at, attempts, rerun, created_at)
    SELECT 'ingest', CAST(id AS varchar), 'pending', %(now)b, 0, false, %(now)b FROM stored
)
SELECT id, channel, provider_message_id, reserved_incident_id, reference FROM stored
"""


def _store_new_tips(
    db: Database, cipher: Cipher, batch: _Batch
) -> list[list[Accepted] | Exception]:
    """A batch of nothing but new tips: each stored with its incident id, reference and
    `ingest` job, except those stored before (answered as repeats)."""
    positions = list(batch.first.values())
    messages = [batch.message(at) for at in positions]
    raw_bodies = [batch.raw_body(at) for at in positions]
    tips = _NewTips(
        channels=[str(m.channel) for m in messages],
        ids=[m.provider_message_id for m in messages],
        messages=[cipher.encrypt(dump_message(m)) for m in messages],
        raw_bodies=[cipher.encrypt_bytes(r) if r is not None else None for r in raw_bodies],
        received=[m.received_at for m in messages],
    )
    if db.is_sqlite:
        with db.write_connection() as connection:
            stored = _insert_new_tips_sqlite(connection, tips)
    else:
        with db.single_statements() as connection:
            stored = [
                tuple(row) for row in connection.exec_driver_sql(_NEW_TIPS, tips.for_postgresql())
            ]
    made = {
        batch.first[(channel, provider_id)]: Accepted(
            inbox_id, False, incident_id, reference, True, "new"
        )
        for inbox_id, channel, provider_id, incident_id, reference in stored
    }
    if len(made) == batch.size:
        return batch.answers(made, session=None)  # no repeats
    with db.reader() as session:
        return batch.answers(made, session)


@dataclass(frozen=True)
class _NewTips:
    """The inbox rows of a batch of new tips, column by column."""

    channels: list[str]
    ids: list[str]
    messages: list[str | None]
    raw_bodies: list[bytes | None]
    received: list[datetime]  # when each message came: the month of its reference

    def for_postgresql(self) -> dict[str, object]:
        return {
            "channels": self.channels,
            "ids": self.ids,
            "messages": self.messages,
            "raw_bodies": self.raw_bodies,
            "periods": [reference_period(moment) for moment in self.received],
            "now": utcnow(),
        }


StoredTip = tuple[int, str, str, int, str]  # inbox id, channel, provider id, incident id, ref


def _insert_new_tips_sqlite(connection: Connection, tips: _NewTips) -> list[StoredTip]:
    """SQLite: what `_NEW_TIPS` does, in four statements of one transaction, each given to
    the driver as it is (SQLAlchemy's per-row handling of an insert cost more than
    SQLite's work)."""
    keys = list(zip(tips.channels, tips.ids, strict=True))
    seen = _already_stored(connection, keys)
    fresh = [n for n, key in enumerate(keys) if key not in seen]
    if not fresh:
        return []
    numbers = number_incidents(connection, at=[tips.received[n] for n in fresh])
    now = _sqlite_time(connection, utcnow())
    rows = [
        value
        for n, (incident_id, reference) in zip(fresh, numbers, strict=True)
        for value in (
            tips.channels[n],
            tips.ids[n],
            now,
            tips.messages[n],
            tips.raw_bodies[n],
            incident_id,
            reference,
        )
    ]
    inserted = driver_rows(connection, _sqlite_insert_inbox(len(fresh)), rows)
    if inserted:
        jobs = [value for row in inserted for value in (str(row[0]), now, now)]
        driver_rows(connection, _sqlite_insert_jobs(len(inserted)), jobs)
    reserved = {keys[n]: number for n, number in zip(fresh, numbers, strict=True)}
    return [
        (inbox_id, channel, provider_id, *reserved[(channel, provider_id)])
        for inbox_id, channel, provider_id in inserted
    ]


def _sqlite_time(connection: Connection, moment: datetime) -> object:
    """A time as SQLAlchemy gives it to the driver for a time column (its text on SQLite),
    made once for the batch rather than once for each row."""
    column_type = INBOX.c.received_at.type.dialect_impl(connection.dialect)
    to_sqlite = column_type.bind_processor(connection.dialect)
    return to_sqlite(moment) if to_sqlite else moment


@functools.cache
def _sqlite_insert_inbox(rows: int) -> str:
    """The multi-row insert of `rows` new tips into the inbox (one text per batch size)."""
    values = ", ".join(["(?, ?, ?, 'pending', ?, ?, ?, ?)"] * rows)
    return (
        "INSERT INTO inbox (channel, provider_message_id, received_at, state, message,"
        f" raw_body, reserved_incident_id, reference) VALUES {values}"
        " ON CONFLICT (channel, provider_message_id) DO NOTHING"
        " RETURNING id, channel, provider_message_id"
    )


@functools.cache
def _sqlite_insert_jobs(rows: int) -> str:
    """The multi-row insert of `rows` ingest jobs (key, run at, created at)."""
    values = ", ".join(["('ingest', ?, 'pending', ?, 0, 0, ?)"] * rows)
    return (
        f"INSERT INTO jobs (kind, key, state, run_at, attempts, rerun, created_at) VALUES {values}"
    )
