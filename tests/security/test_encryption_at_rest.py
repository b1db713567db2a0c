"""A tipster's words at rest (issue 19, item 7), on both databases: not readable in the raw
rows (nor, on SQLite, anywhere in the database's files), readable through the service; alerts
mask a phone number and a self-named tipster unless they consented; files are private."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from channels.base import Channel, InboundMessage, MessageKind
from intake.pipeline.alerts import NAME_MASK, PHONE_MASK, mask_tipster
from intake.pipeline.inbox import Submission
from intake.pipeline.worker import Worker
from intake.services import build_services
from intake.store.auth import create_token, create_user
from intake.store.directory import DEMO_DIRECTORY, read_directory, save_units
from intake.store.models import Alert, Event, Incident, Message, Role
from intake.store.timeline import add_event_for

NAME, PHONE, SECRET_DETAIL = "Phạm Thị Huệ", "0987654321", "cây gậy sắt"
TIP = (
    f"tên em là {NAME}, số em {PHONE}. bố dượng đánh em bằng {SECRET_DETAIL} "
    "ở thôn Đông Xá, xã Thiệu Trung, Thanh Hóa, cứu em"
)
WORDS = (NAME, PHONE, SECRET_DETAIL, "Đông Xá", "bố dượng")


@pytest.fixture
def wired(settings, geography, rules):  # type: ignore[no-untyped-def]
    """The service with the units of one commune and a partner's token."""
    services = build_services(settings, geography=geography, rules=rules)
    demo = read_directory(DEMO_DIRECTORY, geography)
    with services.db.writer() as session:
        save_units(session=session, units=[u for u in demo.units if u.ward_code == 15835])
        create_user(session=session, username="p", role=Role.PARTNER, password="x" * 12)
        create_user(session=session, username="op", role=Role.OPERATOR, password="x" * 12)
        partner = {"Authorization": f"Bearer {create_token(session=session, username='p')}"}
        operator = {"Authorization": f"Bearer {create_token(session=session, username='op')}"}
    with TestClient(create_app_for(services)) as client:
        yield services, client, partner, operator
    services.close()


def create_app_for(services: Any) -> Any:
    from intake.web.app import create_app

    return create_app(services.settings, services)


def zalo_chat(pid: str, words: str) -> InboundMessage:
    return InboundMessage(
        channel=Channel.ZALO,
        provider_message_id=pid,
        sender_id="84009",
        kind=MessageKind.TEXT,
        received_at=datetime.now(UTC),
        text=words,
    )


def test_tip_text_is_not_readable_in_the_raw_rows(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, partner, operator = wired
    # The partner API's bulk path (raw driver SQL, then a bulk incident insert) ...
    answer = client.post(
        "/api/v1/tips",
        json={"text": TIP, "external_id": "t1", "location_text": "thôn Đông Xá"},
        headers=partner,
    )
    assert answer.status_code == 201, answer.text
    # ... and a chat conversation ingested inline through the ORM.
    services.intake.store_now(Submission((zalo_chat("z1", TIP),), TIP.encode()))
    Worker(services).drain()
    with services.db.writer() as session:
        incident_id = session.scalars(select(Incident.id).order_by(Incident.id)).first()
        add_event_for(
            session=session,
            incident_id=incident_id,
            actor="user:2",
            action="note",
            detail={"text": f"gọi lại cho {NAME} số {PHONE}"},
        )

    with services.db.reader() as session:
        raw = {
            "messages.text": session.execute(text("SELECT text FROM messages")).scalars().all(),
            "incidents": [
                str(tuple(row))
                for row in session.execute(
                    text(
                        "SELECT summary, location_text, reasons, location_candidates FROM incidents"
                    )
                )
            ],
            "alerts.text": session.execute(text("SELECT text FROM alerts")).scalars().all(),
            "events.detail": [
                str(d) for d in session.execute(text("SELECT detail FROM events")).scalars()
            ],
            "inbox.message": session.execute(text("SELECT message FROM inbox")).scalars().all(),
        }
        assert all(raw.values()), raw  # every kind of row is there
        for column, values in raw.items():
            for value in values:
                assert not any(word in str(value) for word in WORDS), (column, value)
        # The service reads them: the worker triaged the decrypted text, the API shows it.
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.level in ("P1", "P2")
        assert SECRET_DETAIL in (incident.summary or "")
        assert any(SECRET_DETAIL in m.text for m in session.scalars(select(Message)))
        note = session.scalars(select(Event).where(Event.action == "note")).one()
        assert note.detail["text"] == f"gọi lại cho {NAME} số {PHONE}"
        assert session.scalars(select(Alert)).all()
    shown = client.get(f"/api/v1/incidents/{incident_id}", headers=operator).json()
    assert SECRET_DETAIL in shown["summary"]
    assert any(SECRET_DETAIL in m["text"] for m in shown["messages"])


def test_sqlite_files_hold_no_tip_text(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, partner, _ = wired
    if not services.db.is_sqlite:
        pytest.skip("the database's files are SQLite's")
    client.post("/api/v1/tips", json={"text": TIP, "external_id": "t1"}, headers=partner)
    services.intake.store_now(Submission((zalo_chat("z1", TIP),), TIP.encode()))
    Worker(services).drain()
    path = Path(make_url(services.settings.database_url).database or "")
    files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    stored = b"".join(p.read_bytes() for p in files)
    for word in WORDS:
        assert word.encode() not in stored, word


def alert_texts(services: Any) -> list[str]:
    with services.db.reader() as session:
        return list(session.scalars(select(Alert.text)))


def test_an_alert_masks_the_phone_number_and_name_of_a_tipster_who_did_not_consent(  # type: ignore[no-untyped-def]
    wired,
) -> None:
    services, client, partner, _ = wired
    tip = {"text": TIP.replace(PHONE, "0987 654 321"), "external_id": "no-consent"}
    assert client.post("/api/v1/tips", json=tip, headers=partner).status_code == 201
    Worker(services).drain()
    texts = alert_texts(services)
    assert texts
    for alert in texts:
        assert "0987 654 321" not in alert and PHONE not in alert and NAME not in alert
        assert PHONE_MASK in alert and NAME_MASK in alert
        assert SECRET_DETAIL in alert  # what happened still reaches the police
        assert "Người báo: bảo mật" in alert


def test_an_alert_keeps_the_words_of_a_tipster_who_consented(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, partner, _ = wired
    tip = {
        "text": TIP,
        "external_id": "consent",
        "reporter": {"phone": PHONE, "name": NAME, "consent_to_share": True},
    }
    assert client.post("/api/v1/tips", json=tip, headers=partner).status_code in (201, 202)
    Worker(services).drain()
    texts = alert_texts(services)
    assert texts
    for alert in texts:
        assert PHONE in alert.split("Người báo")[0]  # the summary, unmasked
        assert f"Người báo (đồng ý chia sẻ): {NAME} {PHONE}" in alert


@pytest.mark.parametrize(
    ("words", "masked"),
    [
        ("my name is John Smith and I live in Hue", "my name is " + NAME_MASK + " and I live"),
        ("ten toi la tran van an o ha noi", "ten toi la " + NAME_MASK + " o ha noi"),
        ("Họ tên: Lê Văn Tám", "Họ tên: " + NAME_MASK),
        ("gọi +84.912.345.678 nhé", "gọi " + PHONE_MASK + " nhé"),
        ("ngày 12/05/2026 lúc 10h gọi 111", "ngày 12/05/2026 lúc 10h gọi 111"),
        ("bé tên Hoa 9 tuổi bị đánh", "bé tên Hoa 9 tuổi bị đánh"),  # the child, not the tipster
    ],
)
def test_what_the_mask_takes_out(words: str, masked: str) -> None:
    assert mask_tipster(words).startswith(masked)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_files_and_var_are_private(tmp_path, settings, geography, rules) -> None:  # type: ignore[no-untyped-def]
    var = tmp_path / "fresh-var"
    url = f"sqlite:///{var / 'hotline111.db'}"
    from intake.store.migrate import upgrade

    upgrade(url)
    services = build_services(
        settings.model_copy(update={"database_url": url, "var_dir": var}),
        geography=geography,
        rules=rules,
    )
    try:
        services.intake.store_now(Submission((zalo_chat("z1", TIP),), None))
        db_file = var / "hotline111.db"
        assert mode(var) == 0o700
        for path in (db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
            assert path.exists() and mode(path) == 0o600, path
    finally:
        services.close()


def test_a_database_file_left_readable_by_an_older_version_is_narrowed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from intake.store.db import prepare_sqlite_path

    path = tmp_path / "old.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    prepare_sqlite_path(f"sqlite:///{path}")
    assert mode(path) == 0o600


def test_a_var_folder_left_open_by_an_older_version_is_narrowed(
    tmp_path, settings, geography, rules
) -> None:  # type: ignore[no-untyped-def]
    var = tmp_path / "old-var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    url = f"sqlite:///{var / 'hotline111.db'}"
    from intake.store.migrate import upgrade

    upgrade(url)
    assert mode(var) == 0o755
    services = build_services(
        settings.model_copy(update={"database_url": url, "var_dir": var}),
        geography=geography,
        rules=rules,
    )
    services.close()
    assert mode(var) == 0o700
