"""Durable intake on both databases: inbox dedupe, conversations, jobs, audit, encryption."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from channels.base import Channel, InboundMessage, MessageKind
from intake.pipeline.inbox import accept, store_malformed
from intake.pipeline.incidents import (
    IngestOptions,
    StaleVersionError,
    TransitionError,
    change_status,
)
from intake.store import jobs
from intake.store.auth import UserError, create_token, create_user, user_for_token
from intake.store.crypto import Cipher
from intake.store.db import Database
from intake.store.models import (
    AuditEntry,
    InboxItem,
    Incident,
    Job,
    Message,
    Role,
    Status,
    Tipster,
)
from intake.store.numbering import allocate_reference

CIPHER = Cipher("test-secret-key-for-hotline111")
OPTIONS = IngestOptions(conversation_window=timedelta(hours=24))
T0 = datetime(2026, 7, 14, 3, 0, tzinfo=UTC)


def msg(pid: str, text: str = "em bi danh", sender: str = "chat-1", **kw: object) -> InboundMessage:
    fields: dict[str, object] = {
        "channel": Channel.TELEGRAM,
        "provider_message_id": pid,
        "sender_id": sender,
        "kind": MessageKind.TEXT,
        "received_at": T0,
        "text": text,
    }
    fields.update(kw)
    return InboundMessage(**fields)  # type: ignore[arg-type]


@pytest.fixture
def db(database_url: str):  # type: ignore[no-untyped-def]
    database = Database(database_url, cipher=CIPHER)
    yield database
    database.dispose()


def take(db: Database, *messages: InboundMessage, raw: bytes = b"{}"):  # type: ignore[no-untyped-def]
    with db.writer() as session:
        return accept(
            session=session, cipher=CIPHER, messages=messages, raw_body=raw, options=OPTIONS
        )


def test_repeat_delivery_is_stored_once(db: Database) -> None:
    (first,) = take(db, msg("100"))
    (again,) = take(db, msg("100"))
    assert first.created and not first.duplicate
    assert again.duplicate and again.incident_id == first.incident_id
    assert again.reference == first.reference
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(InboxItem)) == 1
        assert session.scalar(select(func.count()).select_from(Incident)) == 1
        assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_follow_up_joins_open_conversation(db: Database) -> None:
    (first,) = take(db, msg("1", "em bi bo danh"))
    (second,) = take(db, msg("2", "o xa Thieu Trung", received_at=T0 + timedelta(minutes=5)))
    (other,) = take(db, msg("3", "toi can giup", sender="chat-2"))
    late = msg("4", "chao", received_at=T0 + timedelta(days=3))
    (after_window,) = take(db, late)
    assert second.incident_id == first.incident_id and not second.created
    assert other.incident_id != first.incident_id
    assert after_window.incident_id not in {first.incident_id, other.incident_id}
    with db.reader() as session:
        incident = session.get(Incident, first.incident_id)
        assert incident is not None
        assert [m.text for m in incident.messages] == ["em bi bo danh", "o xa Thieu Trung"]


def test_closed_incident_is_not_reopened_by_a_new_message(db: Database) -> None:
    (first,) = take(db, msg("1"))
    with db.writer() as session:
        incident = session.get(Incident, first.incident_id)
        assert incident is not None
        change_status(session=session, incident=incident, status=Status.CLOSED, actor="test")
    (second,) = take(db, msg("2", received_at=T0 + timedelta(minutes=1)))
    assert second.created and second.incident_id != first.incident_id


def test_voice_call_steps_share_the_call(db: Database) -> None:
    steps = [
        msg(
            f"CA1:{step}",
            "",
            sender="+84901234567",
            channel=Channel.VOICE,
            kind=MessageKind.CALL,
            conversation_key="CA1",
            urgent=(step == "menu"),
        )
        for step in ("start", "menu")
    ]
    results = take(db, *steps)
    assert results[0].incident_id == results[1].incident_id
    with db.reader() as session:
        incident = session.get(Incident, results[0].incident_id)
        assert incident is not None and incident.level == "P1" and incident.urgent_call


def test_identity_is_encrypted_and_found_by_blind_index(db: Database) -> None:
    phone = "+84912345678"
    take(db, msg("1", sender=phone, channel=Channel.SMS, sender_phone=phone, sender_name="Lan"))
    take(db, msg("2", sender=phone, channel=Channel.SMS, received_at=T0 + timedelta(minutes=1)))
    with db.reader() as session:
        tipsters = session.scalars(select(Tipster)).all()
        assert len(tipsters) == 1
        (tipster,) = tipsters
        assert phone not in (tipster.phone or "") and "Lan" not in (tipster.display_name or "")
        assert CIPHER.decrypt(tipster.phone) == phone
        raw = session.execute(text("SELECT message FROM inbox")).scalars().all()
        assert all(phone not in row for row in raw)


def test_events_and_commands_make_no_incident(db: Database) -> None:
    take(db, msg("1", kind=MessageKind.EVENT), msg("2", "/start", kind=MessageKind.COMMAND))
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_an_acknowledgement_from_no_unit_is_a_message_operators_see(db: Database) -> None:
    # Only a unit's known contact acknowledges; anyone else's "OK 111-..." is their words.
    (result,) = take(
        db, msg("3", "OK 111-2607-0001", kind=MessageKind.ACK, ack_reference="111-2607-0001")
    )
    with db.reader() as session:
        incident = session.get(Incident, result.incident_id)
        assert incident is not None and incident.messages[0].text == "OK 111-2607-0001"
        assert incident.messages[0].kind == "text"
        assert "acknowledge" not in session.scalars(select(Job.kind)).all()


def test_malformed_request_is_kept_for_inspection(db: Database) -> None:
    with db.writer() as session:
        first = store_malformed(
            session=session, cipher=CIPHER, channel=Channel.ZALO, raw_body=b"\xff{", error="bad"
        )
    with db.writer() as session:
        again = store_malformed(
            session=session, cipher=CIPHER, channel=Channel.ZALO, raw_body=b"\xff{", error="bad"
        )
    assert first == again
    with db.reader() as session:
        item = session.get(InboxItem, first)
        assert item is not None and item.state == "malformed"
        assert item.raw_body is not None and CIPHER.decrypt_bytes(item.raw_body) == b"\xff{"


def test_hostile_text_is_stored_safely(db: Database) -> None:
    hostile = "'; DROP TABLE incidents; -- <script>alert(1)</script> \x00\x07 " + "x" * 100_000
    (result,) = take(db, msg("1", hostile), raw=hostile.encode())
    with db.reader() as session:
        incident = session.get(Incident, result.incident_id)
        assert incident is not None
        stored = incident.messages[0].text
        assert stored == hostile.replace("\x00", "\ufffd").replace("\x07", "\ufffd")
        item = session.get(InboxItem, result.inbox_id)
        assert item is not None and item.raw_body is not None
        assert CIPHER.decrypt_bytes(item.raw_body) == hostile.encode()


def test_references_count_per_month(db: Database) -> None:
    with db.writer() as session:
        refs = [allocate_reference(session=session, at=T0) for _ in range(3)]
        next_month = allocate_reference(session=session, at=T0 + timedelta(days=31))
    assert refs == ["111-2607-0001", "111-2607-0002", "111-2607-0003"]
    assert next_month == "111-2608-0001"


def test_status_lifecycle_and_optimistic_lock(db: Database) -> None:
    (result,) = take(db, msg("1"))
    with db.writer() as session:
        incident = session.get(Incident, result.incident_id)
        assert incident is not None
        version = incident.version
        with pytest.raises(TransitionError):
            change_status(session=session, incident=incident, status=Status.ACKNOWLEDGED, actor="t")
        change_status(
            session=session,
            incident=incident,
            status=Status.IN_PROGRESS,
            actor="t",
            expected_version=version,
        )
    with db.writer() as session:
        incident = session.get(Incident, result.incident_id)
        assert incident is not None and incident.version == version + 1
        with pytest.raises(StaleVersionError):
            change_status(
                session=session,
                incident=incident,
                status=Status.RESOLVED,
                actor="t",
                expected_version=version,
            )


def test_jobs_claim_retry_and_rerun(db: Database) -> None:
    with db.writer() as session:
        jobs.enqueue(session=session, kind="process", key="7")
        jobs.enqueue(session=session, kind="process", key="7")
    with db.writer() as session:
        (claimed,) = jobs.claim(session=session, kinds=("process",))
    with db.writer() as session:
        assert jobs.claim(session=session, kinds=("process",)) == []  # leased
        jobs.enqueue(session=session, kind="process", key="7")  # follow-up while running
    with db.writer() as session:
        jobs.complete(session=session, job_id=claimed.id)
    with db.writer() as session:
        (again,) = jobs.claim(session=session, kinds=("process",))
        assert again.id == claimed.id
    with db.writer() as session:
        jobs.fail(session=session, job_id=again.id, error="boom")
    with db.reader() as session:
        job = session.get(Job, again.id)
        assert job is not None and job.state == "pending" and job.run_at > datetime.now(UTC)


def test_concurrent_writers_lose_nothing(db: Database) -> None:
    errors: list[BaseException] = []

    def post(start: int) -> None:
        try:
            for n in range(start, start + 15):
                take(db, msg(str(n), sender=f"chat-{n}"))
                take(db, msg(str(n), sender=f"chat-{n}"))  # and a repeat delivery
        except BaseException as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i * 100,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 60
        references = session.scalars(select(Incident.reference)).all()
        assert len(set(references)) == 60


def test_users_tokens_and_audit_is_append_only(db: Database) -> None:
    with db.writer() as session:
        create_user(session=session, username="lan", role=Role.OPERATOR, password="a" * 12)
        with pytest.raises(UserError):
            create_user(session=session, username="cs1", role=Role.POLICE, password="a" * 12)
        token = create_token(session=session, username="lan")
    with db.writer() as session:
        user = user_for_token(session=session, token=token)
        assert user is not None and user.username == "lan"
        assert user_for_token(session=session, token=token + "x") is None
        session.add(AuditEntry(user_id=user.id, username="lan", action="view", detail={}))
    with pytest.raises(DBAPIError), db.writer() as session:
        session.execute(text("UPDATE audit_log SET action = 'forged'"))
    with pytest.raises(DBAPIError), db.writer() as session:
        session.execute(text("DELETE FROM audit_log"))
    with db.reader() as session:
        assert session.scalars(select(AuditEntry.action)).all() == ["view"]


def test_upgrade_creates_the_folder_of_a_new_sqlite_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from intake.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'fresh' / 'var' / 'hotline111.db'}"
    upgrade(url)  # a fresh clone has no var/ yet
    assert (tmp_path / "fresh" / "var" / "hotline111.db").exists()
