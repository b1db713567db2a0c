"""Group commit on both databases: many requests, one transaction, each answered right."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import threading
import time
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, text

from channels.base import Channel, InboundMessage, MessageKind
from intake.pipeline.inbox import Accepted, Submission
from intake.pipeline.inbox_bulk import accept_batch
from intake.pipeline.incidents import IngestOptions
from intake.pipeline.ingest import ingest_item
from intake.pipeline.writer import IntakeWriter
from intake.store.crypto import Cipher
from intake.store.db import Database
from intake.store.models import Counter, Event, InboxItem, Incident, Job, Message, Tipster

CIPHER = Cipher("test-secret-key-for-hotline111")
OPTIONS = IngestOptions(conversation_window=timedelta(hours=24))
T0 = datetime(2026, 7, 14, 3, 0, tzinfo=UTC)


def partner_tip(external_id: str, **extra: str) -> InboundMessage:
    return InboundMessage(
        channel=Channel.API,
        provider_message_id=f"7:{external_id}",
        sender_id=f"partner:7:{external_id}",
        kind=MessageKind.TEXT,
        received_at=T0,
        text=f"em bi danh o nha, tip {external_id}",
        extra={"external_id": f"7:{external_id}", **extra},
    )


def chat(pid: str, sender: str) -> InboundMessage:
    return InboundMessage(
        channel=Channel.TELEGRAM,
        provider_message_id=pid,
        sender_id=sender,
        kind=MessageKind.TEXT,
        received_at=T0,
        text="co nguoi danh em",
    )


@pytest.fixture
def db(database_url: str):  # type: ignore[no-untyped-def]
    database = Database(database_url, cipher=CIPHER)
    yield database
    database.dispose()


def batch(db: Database, *submissions: Submission) -> list[list[Accepted] | Exception]:
    return accept_batch(db=db, cipher=CIPHER, submissions=list(submissions), options=OPTIONS)


def ingest_pending(db: Database) -> None:
    """What the `ingest` jobs do, one at a time (the bulk path is the worker's: test_api)."""
    with db.reader() as session:
        keys = session.scalars(select(Job.key).where(Job.kind == "ingest")).all()
    for key in keys:
        with db.writer() as session:
            ingest_item(session=session, cipher=CIPHER, inbox_id=int(key), options=OPTIONS)


def test_a_mixed_batch_is_stored_as_one_by_one_would(db: Database) -> None:
    outcomes = batch(
        db,
        Submission((partner_tip("a", location_text="xa Nhac Ky", victim_age="9"),), b'{"a": 1}'),
        Submission((chat("t1", "chat-1"),), b"{}"),
        Submission((partner_tip("b"),), b'{"b": 1}'),
        Submission((chat("t2", "chat-1"),), b"{}"),  # the same tipster: a follow-up
        Submission((partner_tip("a"),), b'{"a": 1}'),  # a repeat inside the same batch
    )
    a, t1, b, t2, a_again = (outcome[0] for outcome in outcomes)  # type: ignore[index]
    assert a.created and b.created and t1.created and not t2.created
    assert t2.incident_id == t1.incident_id
    assert a_again.duplicate and a_again.incident_id == a.incident_id
    assert a_again.reference == a.reference and a_again.status == "new"
    references = [a.reference, t1.reference, b.reference]
    assert len(set(references)) == 3 and all(r and r.startswith("111-2607-") for r in references)
    assert len({a.incident_id, b.incident_id, t1.incident_id}) == 3
    with db.reader() as session:
        # The chat message is an incident already; the partner tips are stored with the
        # incident each was answered with, and an ingest job to write it.
        assert session.scalar(select(func.count()).select_from(Incident)) == 1
        assert session.scalar(select(func.count()).select_from(InboxItem)) == 4
        kept = session.get(InboxItem, a.inbox_id)
        assert kept is not None and kept.state == "pending"
        assert (kept.reserved_incident_id, kept.reference) == (a.incident_id, a.reference)
        ingest_jobs = session.scalars(select(Job.key).where(Job.kind == "ingest")).all()
        assert sorted(ingest_jobs) == sorted([str(a.inbox_id), str(b.inbox_id)])
    repeat = batch(db, Submission((partner_tip("a"),), b'{"a": 1}'))[0][0]  # type: ignore[index]
    assert repeat.duplicate and (repeat.incident_id, repeat.reference) == (
        a.incident_id,
        a.reference,
    )
    ingest_pending(db)
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 3
        assert session.scalar(select(func.count()).select_from(Message)) == 4
        assert session.scalar(select(func.count()).select_from(Tipster)) == 1
        incident = session.get(Incident, a.incident_id)
        assert incident is not None and incident.reference == a.reference
        assert (incident.location_text, incident.victim_age) == ("xa Nhac Ky", 9)
        assert incident.external_id == "7:a" and incident.tipster_id is None
        created = session.scalars(select(Event.action).where(Event.incident_id == a.incident_id))
        assert list(created) == ["created"]
        jobs = session.scalars(select(Job.key).where(Job.kind == "process")).all()
        assert sorted(jobs) == sorted(
            str(i) for i in {a.incident_id, b.incident_id, t1.incident_id}
        )
        states = session.scalars(select(InboxItem.state)).all()
        assert set(states) == {"ingested"}
    again = batch(db, Submission((partner_tip("a"),), b'{"a": 1}'))[0][0]  # type: ignore[index]
    assert again.duplicate and (again.incident_id, again.reference) == (a.incident_id, a.reference)


def test_ids_given_to_tips_and_ids_of_other_incidents_never_meet(db: Database) -> None:
    # A tip answered before its incident is written holds its id; an incident written
    # meanwhile on another path (a chat message) must take another one.
    (tip,) = batch(db, Submission((partner_tip("early"),), None))[0]  # type: ignore[misc]
    (chat_1,) = batch(db, Submission((chat("t9", "chat-9"),), None))[0]  # type: ignore[misc]
    assert chat_1.incident_id is not None and chat_1.incident_id > (tip.incident_id or 0)
    ingest_pending(db)
    with db.reader() as session:
        ids = sorted(session.scalars(select(Incident.id)))
    assert ids == sorted([tip.incident_id, chat_1.incident_id])


def test_sqlite_ids_stay_above_written_incidents_and_follow_a_counter_ahead(
    db: Database,
) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL takes incident ids from the table's sequence")
    # A database whose incidents were written before the id counter existed must still
    # not hand out an id that is taken.
    (chat_1,) = batch(db, Submission((chat("t1", "chat-1"),), None))[0]  # type: ignore[misc]
    with db.writer() as session:
        session.execute(text("DELETE FROM counters WHERE name = 'incident_id'"))
    (first,) = batch(db, Submission((partner_tip("p1"),), None))[0]  # type: ignore[misc]
    assert first.incident_id == (chat_1.incident_id or 0) + 1
    # A counter ahead of the written incidents (ids reserved by tips not yet written)
    # is followed.
    with db.writer() as session:
        session.execute(text("UPDATE counters SET value = 500 WHERE name = 'incident_id'"))
    second, third = batch(
        db, Submission((partner_tip("p2"),), None), Submission((partner_tip("p3"),), None)
    )
    assert [second[0].incident_id, third[0].incident_id] == [501, 502]  # type: ignore[index]


def test_the_batch_stores_times_as_the_orm_does(db: Database) -> None:
    # A new tip goes to SQLite's driver without SQLAlchemy's per-row work; its times
    # (and its job's) must still be stored in the one form the rest of the code compares.
    batch(db, Submission((partner_tip("fast"),), None))
    batch(db, Submission((chat("t1", "chat-1"),), None))  # stored through the ORM
    with db.reader() as session:
        stored = (
            session.execute(text("SELECT CAST(received_at AS TEXT) FROM inbox")).scalars().all()
        )
        run_at = session.execute(text("SELECT CAST(run_at AS TEXT) FROM jobs")).scalars().all()
    assert len(stored) == 2 and run_at
    # (PostgreSQL's text of a time drops the trailing zeros of its microseconds)
    shapes = {re.sub(r"\d", "9", re.sub(r"\.\d+", ".", value)) for value in [*stored, *run_at]}
    assert len(shapes) == 1, shapes


def test_one_bad_request_does_not_keep_the_others_out(db: Database) -> None:
    # A message without a provider id breaks the shared insert; the batch is redone one
    # by one: the good tips are stored and answered, the bad one gets its error.
    bad_tip = dataclasses.replace(partner_tip("bad"), provider_message_id=None)  # type: ignore[arg-type]
    outcomes = batch(
        db,
        Submission((partner_tip("good-1"),), b"{}"),
        Submission((bad_tip,), b"{}"),
        Submission((partner_tip("good-2"),), b"{}"),
    )
    good_1, bad, good_2 = outcomes
    assert isinstance(bad, Exception)
    assert not isinstance(good_1, Exception) and not isinstance(good_2, Exception)
    assert good_1[0].incident_id and good_2[0].incident_id
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(InboxItem)) == 2
        assert session.scalar(select(func.count()).select_from(Incident)) == 2


def test_references_continue_across_batches_and_months(db: Database) -> None:
    august = datetime(2026, 8, 2, 3, 0, tzinfo=UTC)
    first = batch(db, *(Submission((partner_tip(f"j{n}"),), None) for n in range(3)))
    tips = [partner_tip("x"), partner_tip("y")]
    tips[1] = dataclasses.replace(tips[1], received_at=august)
    second = batch(db, Submission((tips[0],), None), Submission((tips[1],), None))
    numbers = [o[0].reference for o in first + second]  # type: ignore[index]
    assert numbers == [
        "111-2607-0001",
        "111-2607-0002",
        "111-2607-0003",
        "111-2607-0004",
        "111-2608-0001",
    ]


def test_the_writer_commits_concurrent_requests_together(db: Database) -> None:
    commits: list[int] = []
    writer = IntakeWriter(
        db=db, cipher=CIPHER, options=OPTIONS, on_commit=lambda: commits.append(1)
    )
    futures: list[Future[list[Accepted]]] = []
    lock = threading.Lock()

    def post(start: int) -> None:
        for n in range(start, start + 25):
            for _ in range(2):  # each tip twice: the repeat must find the first
                future = writer.submit(Submission((partner_tip(f"c{n}"),), b"{}"))
                with lock:
                    futures.append(future)

    threads = [threading.Thread(target=post, args=(i * 100,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results = [future.result(timeout=60)[0] for future in futures]
    writer.stop()
    created = [r for r in results if not r.duplicate]
    assert len(created) == 100
    assert len({r.reference for r in created}) == 100
    by_id = {r.inbox_id: r.incident_id for r in created}
    assert all(by_id[r.inbox_id] == r.incident_id for r in results if r.duplicate)
    assert writer.requests == 200 and len(commits) == writer.batches <= 200
    ingest_pending(db)
    with db.reader() as session:
        stored = session.execute(select(Incident.id, Incident.reference)).all()
    assert sorted(stored) == sorted((r.incident_id, r.reference) for r in created)


def test_requests_that_come_while_the_writer_lingers_join_its_batch(db: Database) -> None:
    writer = IntakeWriter(db=db, cipher=CIPHER, options=OPTIONS, linger_step=0.2, linger_cap=2)
    first = writer.submit(Submission((partner_tip("linger-0"),), None))
    time.sleep(0.02)  # the thread has taken the first and waits for more
    rest = [writer.submit(Submission((partner_tip(f"linger-{n}"),), None)) for n in range(1, 10)]
    assert all(f.result(timeout=10)[0].created for f in [first, *rest])
    assert (writer.batches, writer.requests) == (1, 10)
    writer.stop()


def test_a_request_whose_client_went_away_is_stored_all_the_same(db: Database) -> None:
    # The handler's wait is cancelled (the connection closed); the request was handed
    # over, so it is committed, and the others of its batch get their answers.
    writer = IntakeWriter(db=db, cipher=CIPHER, options=OPTIONS, linger_step=0.05, linger_cap=1)

    async def scenario() -> Accepted:
        gone = asyncio.ensure_future(writer.store(Submission((partner_tip("gone"),), None)))
        stays = asyncio.ensure_future(writer.store(Submission((partner_tip("stays"),), None)))
        await asyncio.sleep(0.01)  # both handed over, the thread lingering for more
        gone.cancel()
        (answer,) = await stays
        assert gone.cancelled()
        return answer

    stays = asyncio.run(scenario())
    writer.stop()
    assert stays.created and writer.requests == 2
    with db.reader() as session:
        stored = session.scalars(select(InboxItem.provider_message_id)).all()
    assert sorted(stored) == ["7:gone", "7:stays"]


def test_a_stopped_writer_finishes_what_was_queued(db: Database) -> None:
    writer = IntakeWriter(db=db, cipher=CIPHER, options=OPTIONS)
    futures = [writer.submit(Submission((partner_tip(f"s{n}"),), None)) for n in range(10)]
    writer.stop()
    assert all(f.result(timeout=1)[0].created for f in futures)
    # and it starts again on the next request
    assert writer.store_now(Submission((partner_tip("after"),), None))[0].created
    writer.stop()


def test_only_background_work_skips_waiting_for_the_disk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from intake.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'sync.db'}"
    upgrade(url)
    db = Database(url)
    try:
        with db.writer() as session:  # what providers and operators hand us
            assert session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        with db.writer(durable=False) as session:  # the workers' own bookkeeping
            assert session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        with db.writer() as session:
            assert session.execute(text("PRAGMA synchronous")).scalar() == 2
    finally:
        db.dispose()


def test_a_waiting_tip_goes_before_other_processes_background_work(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Three Database objects on one file stand for three processes (each has its own
    # file locks): the worker holds the writer; a tip waits; then more background work
    # queues. When the worker lets go, the tip is written first.
    from intake.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'order.db'}"
    upgrade(url)
    worker, intake, other_worker = Database(url), Database(url), Database(url)
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def background_holding() -> None:
        with worker.writer(durable=False) as session:
            session.execute(text("SELECT 1"))
            holding.set()
            release.wait(10)

    def write(db: Database, name: str, durable: bool) -> None:
        with db.writer(durable=durable) as session:
            session.execute(text("SELECT 1"))
            order.append(name)

    first = threading.Thread(target=background_holding)
    first.start()
    assert holding.wait(10)
    tip = threading.Thread(target=write, args=(intake, "tip", True))
    tip.start()
    deadline = threading.Event()
    deadline.wait(0.3)  # let the tip reach the lock before more background work queues
    later = threading.Thread(target=write, args=(other_worker, "background", False))
    later.start()
    deadline.wait(0.3)
    release.set()
    for thread in (first, tip, later):
        thread.join(10)
    assert order == ["tip", "background"]
    for db in (worker, intake, other_worker):
        db.dispose()


def test_references_keep_counting_past_four_digits(db: Database) -> None:
    with db.writer() as session:
        session.add(Counter(name="ref:2607", value=9998))
    outcomes = batch(db, *(Submission((partner_tip(f"n{n}"),), None) for n in range(3)))
    assert [o[0].reference for o in outcomes] == [  # type: ignore[index]
        "111-2607-9999",
        "111-2607-10000",
        "111-2607-10001",
    ]


def test_on_postgresql_a_batch_of_new_tips_is_one_statement(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has no round trips to save")
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    for engine in (db.write_engine, db.autocommit_engine):
        event.listen(engine, "before_cursor_execute", count)
    first = batch(db, *(Submission((partner_tip(f"one-{n}"),), b"{}") for n in range(5)))
    assert len(statements) == 1
    # a repeat among new tips is left out of the statement and answered as before
    again = batch(
        db, Submission((partner_tip("one-2"),), b"{}"), Submission((partner_tip("x"),), None)
    )
    assert again[0][0] == dataclasses.replace(first[2][0], duplicate=True, created=False)  # type: ignore[index]
    assert again[1][0].created  # type: ignore[index]
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(InboxItem)) == 6
        assert session.scalar(select(func.count()).select_from(Job)) == 6


def test_a_connection_the_server_dropped_costs_no_tip(db: Database, database_url: str) -> None:
    if db.is_sqlite:
        pytest.skip("PostgreSQL's single-statement connections")
    assert batch(db, Submission((partner_tip("before"),), None))[0][0].created  # type: ignore[index]
    with db.write_engine.connect() as connection:  # as a server restart would
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    outcome = batch(db, Submission((partner_tip("after"),), None))[0]
    assert not isinstance(outcome, Exception) and outcome[0].created
    with db.reader() as session:
        stored = session.scalars(select(InboxItem.provider_message_id)).all()
    assert sorted(stored) == ["7:after", "7:before"]
