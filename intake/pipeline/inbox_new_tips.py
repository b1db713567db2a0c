"""A batch of nothing but new tips, stored in one statement (PostgreSQL) or four (SQLite).

Each tip is stored with the incident id and reference it is answered with, and an `ingest`
job that writes the incident a moment later (`inbox.open_incidents_in_bulk`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from intake.pipeline.inbox import INBOX, Accepted
from intake.pipeline.inbox_batch import Batch, already_stored
from intake.store.crypto import Cipher
from intake.store.db import Database, driver_rows
from intake.store.models import utcnow
from intake.store.numbering import number_incidents, reference_period
from intake.store.serialize import dump_message

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


def store_new_tips(db: Database, cipher: Cipher, batch: Batch) -> list[list[Accepted] | Exception]:
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
    seen = already_stored(connection, keys)
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
