"""A batch of nothing but new tips, committed by itself: on PostgreSQL in one statement.

Each tip is stored with the incident id and reference it is answered with, and an `ingest`
job that writes the incident a moment later (`ingest.open_incidents`). SQLite stores them
as a mixed batch does (`inbox_batch.store_batch`), on a Core connection: there is no round
trip to save, and no ORM session is needed when nothing is ingested inline.
"""

from __future__ import annotations

from intake.pipeline.inbox import Accepted
from intake.pipeline.inbox_batch import Batch, store_batch
from intake.store.crypto import Cipher
from intake.store.db import Database
from intake.store.models import utcnow
from intake.store.numbering import reference_period
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
    if db.is_sqlite:
        with db.write_connection() as connection:
            batch = batch.checked(connection)  # partners' tokens: see `Batch.checked`
            made, _ = store_batch(connection, cipher, batch)  # nothing to ingest inline
    else:
        with db.single_statements() as connection:
            # Each statement here commits by itself: the tokens' check is read just before
            # the storing statement, on the same connection (one more round trip a batch).
            batch = batch.checked(connection)
            stored = (
                connection.exec_driver_sql(_NEW_TIPS, _postgresql_parameters(cipher, batch))
                if batch.first  # not when every request was refused
                else ()
            )
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


def _postgresql_parameters(cipher: Cipher, batch: Batch) -> dict[str, object]:
    """`_NEW_TIPS`'s parameters: the batch's inbox rows, column by column."""
    positions = list(batch.first.values())
    messages = [batch.message(at) for at in positions]
    raw_bodies = [batch.raw_body(at) for at in positions]
    return {
        "channels": [str(m.channel) for m in messages],
        "ids": [m.provider_message_id for m in messages],
        "messages": [cipher.encrypt(dump_message(m)) for m in messages],
        "raw_bodies": [cipher.encrypt_bytes(r) if r is not None else None for r in raw_bodies],
        "periods": [reference_period(m.received_at) for m in messages],
        "now": utcnow(),
    }
