"""Keys that fail closed (issue 19, item 6) and their rotation (issue 17), on both databases.

Each test is the failure as an operator would meet it: no key outside demo mode, the wrong
key, a key renamed or dropped too early, a rotation stopped half-way, an old key missing.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, text

from channels.base import Channel, InboundMessage, MessageKind
from intake.cli import main as cli
from intake.pipeline.inbox import Submission
from intake.pipeline.worker import Worker
from intake.services import build_services
from intake.settings import Settings
from intake.store.auth import create_token, create_user
from intake.store.crypto import Cipher, key_id_of, parse_key_list
from intake.store.db import Database
from intake.store.directory import DEMO_DIRECTORY, read_directory, save_units
from intake.store.keys import WRONG_KEY
from intake.store.models import Incident, KeyCheck, Message, Role, User
from intake.store.rotation import CLEAR, TABLES, census
from intake.store.sealed import seal_json
from intake.store.timeline import add_event_for
from intake.web.app import create_app

KEY_A = "first-secret-key-of-the-hotline"
KEY_B = "second-secret-key-of-the-hotline"
KEY_C = "third-secret-key-of-the-hotline0"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The CLI's environment: this test's database; keys set by each test."""
    for name in ("HOTLINE_SECRET_KEY", "HOTLINE_SECRET_KEYS", "HOTLINE_PRODUCTION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_RUN_WORKERS", "false")

    def keys(single: str | None = None, ring: str | None = None) -> None:
        for name, value in (("HOTLINE_SECRET_KEY", single), ("HOTLINE_SECRET_KEYS", ring)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)

    return keys


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------- start-up refusals


def test_no_key_outside_demo_mode_is_refused(env, database_url, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    env()
    if database_url.startswith("sqlite"):
        monkeypatch.setenv("HOTLINE_PRODUCTION", "true")  # PostgreSQL is never demo mode
    for argv in (["serve"], ["worker"], ["keys", "status"]):
        code, _, err = run(argv, capsys)
        assert code == 2, argv
        assert "HOTLINE_SECRET_KEY is not set" in err and "refusing" in err
    assert not (Path(os.environ["HOTLINE_VAR_DIR"]) / "demo-secret.key").exists()


WRONG_KEY_COMMANDS: list[tuple[list[str], str]] = [
    (["serve"], ""),
    (["worker"], ""),
    (["keys", "status"], ""),
    (["keys", "rotate"], ""),
    (["user", "create", "--username", "mallory", "--role", "admin", "--password-stdin"], "pw\n"),
    (["token", "create", "--username", "lan"], ""),
    (["triage", "export-feedback"], ""),
    (["report", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "json"], ""),
    (["route", "explain", "1"], ""),
    (["channels", "check"], ""),
]


def test_the_wrong_key_is_refused_by_every_command_that_opens_the_database(  # type: ignore[no-untyped-def]
    env, monkeypatch, capsys, tmp_path
) -> None:
    env(single=KEY_A)
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert (
        run(
            ["user", "create", "--username", "lan", "--role", "operator", "--password-stdin"],
            capsys,
        )[0]
        == 0
    )
    env(single=KEY_B)
    monkeypatch.chdir(tmp_path)  # `report` would write its files here
    for argv, stdin in WRONG_KEY_COMMANDS:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code, out, err = run(argv, capsys)
        assert code == 2, (argv, out, err)
        assert WRONG_KEY in err, argv
    db = Database(os.environ["HOTLINE_DATABASE_URL"])
    with db.reader() as session:
        assert session.scalars(select(User.username)).all() == ["lan"]  # nothing written
    db.dispose()


def test_a_real_serve_process_with_the_wrong_key_exits_with_the_reason(  # type: ignore[no-untyped-def]
    env, capsys
) -> None:
    env(single=KEY_A)
    assert run(["keys", "status"], capsys)[0] == 0
    process = subprocess.run(
        [sys.executable, "-m", "intake.cli", "serve", "--port", "9"],
        cwd=REPO,
        env={**os.environ, "HOTLINE_SECRET_KEY": KEY_B},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2
    assert WRONG_KEY in process.stderr and "Traceback" not in process.stderr


def test_a_database_from_before_key_checks_is_checked_against_its_data(  # type: ignore[no-untyped-def]
    env, settings, geography, rules, capsys
) -> None:
    services = build_services(settings, geography=geography, rules=rules)
    services.intake.store_now(Submission((chat("m1", "tên em là Lan"),), None))
    with services.db.writer() as session:
        session.execute(text("DELETE FROM key_checks"))  # as before migration 0007
    services.close()
    env(single=KEY_B)
    code, _, err = run(["keys", "status"], capsys)
    assert code == 2 and WRONG_KEY in err
    env(single=settings.secret_key.get_secret_value())
    assert run(["keys", "status"], capsys)[0] == 0


def test_a_renamed_key_and_a_key_dropped_too_early_are_named(env, capsys) -> None:  # type: ignore[no-untyped-def]
    env(single=KEY_A)  # the single key's id is "1"
    assert run(["keys", "status"], capsys)[0] == 0
    env(ring=f"old:{KEY_A},k2:{KEY_B}")
    code, _, err = run(["keys", "status"], capsys)
    assert code == 2 and "knows as '1'" in err
    env(ring=f"1:{KEY_A},k2:{KEY_B}")
    assert run(["keys", "status"], capsys)[0] == 0
    env(ring=f"k2:{KEY_B}")
    code, _, err = run(["keys", "status"], capsys)
    assert code == 2 and "1 still encrypt stored values" in err
    env(ring=f"1:{KEY_C},k2:{KEY_B}")
    code, _, err = run(["keys", "status"], capsys)
    assert code == 2 and WRONG_KEY in err and "'1'" in err


# ------------------------------------------------------------------------------ rotation


def chat(pid: str, words: str, sender: str = "84001") -> InboundMessage:
    return InboundMessage(
        channel=Channel.ZALO,
        provider_message_id=pid,
        sender_id=sender,
        kind=MessageKind.TEXT,
        received_at=datetime.now(UTC),
        text=words,
    )


def fill(settings: Settings, geography: Any, rules: Any) -> None:
    """Tips through the real service: partner tips (bulk path), a chat conversation, a
    tipster with a phone, triage, routing, alerts, an operator's note."""
    services = build_services(settings, geography=geography, rules=rules)
    demo = read_directory(DEMO_DIRECTORY, geography)
    with services.db.writer() as session:
        save_units(session=session, units=[u for u in demo.units if u.ward_code == 15835])
        create_user(session=session, username="p", role=Role.PARTNER, password="x" * 12)
        token = create_token(session=session, username="p")
    with TestClient(create_app(settings, services)) as client:
        for n in range(7):
            tip = {
                "text": f"tên em là Lan {n}, số 0912 345 67{n}, bố đánh em ở xã Thiệu Trung, "
                "Thanh Hóa",
                "external_id": f"tip-{n}",
            }
            if n % 2:
                tip["reporter"] = {"phone": f"091234567{n}", "consent_to_share": True}
            answer = client.post(
                "/api/v1/tips", json=tip, headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code in (201, 202), answer.text
    services.intake.store_now(Submission((chat("z1", "cứu em, em ở xã Thiệu Trung"),), b"{}"))
    services.intake.store_now(Submission((chat("z2", "bố em lại đánh em"),), None))
    Worker(services).drain()
    with services.db.writer() as session:
        first = session.scalars(select(Incident.id).order_by(Incident.id)).first()
        add_event_for(
            session=session,
            incident_id=first,
            actor="user:1",
            action="note",
            detail={"text": "đã gọi lại cho em Lan"},
        )
    services.close()


def plain_snapshot(url: str, cipher: Cipher) -> dict[tuple[str, Any, str], Any]:
    """Every encrypted value of the database, decrypted: what a rotation must keep."""
    db = Database(url, cipher=cipher)
    found: dict[tuple[str, Any, str], Any] = {}
    with db.reader() as session:
        for spec in TABLES:
            pk = next(iter(spec.table.primary_key.columns))
            for row in session.execute(select(spec.table)):
                for column, kind in spec.kinds.items():
                    value = row._mapping[column]
                    if kind == "bytes" and value is not None:
                        value = cipher.decrypt_bytes(value)
                    elif kind == "secret":
                        value = cipher.decrypt(value)
                    elif kind == "sealed":
                        value = cipher.open_text(value)
                    elif kind == "json":
                        value = seal_json(value, cipher.open_text)
                    found[(spec.name, row._mapping[pk.name], column)] = value
    db.dispose()
    return found


def raw_snapshot(url: str) -> list[Any]:
    db = Database(url)
    with db.reader() as session:
        rows = [tuple(row) for spec in TABLES for row in session.execute(select(spec.table))]
    db.dispose()
    return rows


def key_counts(url: str) -> dict[str, int]:
    db = Database(url)
    counts = dict(census(db).total())
    db.dispose()
    return counts


def test_a_rotation_stopped_half_way_and_resumed_leaves_every_value_readable(  # type: ignore[no-untyped-def]
    env, settings, geography, rules, database_url, capsys
) -> None:
    fill(settings, geography, rules)
    old = settings.secret_key.get_secret_value()
    before = plain_snapshot(database_url, Cipher(old))
    assert any("Lan" in str(v) for v in before.values())
    assert key_counts(database_url).get("1", 0) > 20

    env(ring=f"1:{old},k2:{KEY_B}")
    code, out, err = run(["keys", "rotate", "--batch-size", "3", "--max-batches", "4"], capsys)
    assert code == 3 and "run `hotline111 keys rotate` again" in err
    assert "[" in err and "]" in err  # the progress bar, on stderr
    half = key_counts(database_url)
    assert half.get("1", 0) > 0 and half.get("k2", 0) > 0  # really half-way
    ring = Cipher(parse_key_list(os.environ["HOTLINE_SECRET_KEYS"]))
    assert plain_snapshot(database_url, ring) == before

    code, out, err = run(["keys", "rotate", "--batch-size", "3"], capsys)
    assert code == 0, err
    assert "no stored value needs key(s) 1" in out
    assert set(key_counts(database_url)) == {"k2"}
    code, out, _ = run(["keys", "rotate"], capsys)  # again: nothing left to do
    assert code == 0 and out.startswith("0 rows re-encrypted")

    env(ring=f"k2:{KEY_B}")  # the old key is gone now
    assert run(["keys", "status"], capsys)[0] == 0
    assert plain_snapshot(database_url, Cipher([("k2", KEY_B)])) == before

    # The tipster is still found under the new key: a follow-up joins their incident.
    only_new = settings.model_copy(
        update={"secret_key": None, "secret_keys": SecretStr(f"k2:{KEY_B}")}
    )
    services = build_services(only_new, geography=geography, rules=rules)
    (follow_up,) = services.intake.store_now(Submission((chat("z3", "em sợ lắm"),), None))
    assert follow_up.created is False and follow_up.incident_id is not None
    services.close()


def test_a_rotation_missing_an_old_key_changes_nothing(  # type: ignore[no-untyped-def]
    env, settings, geography, rules, database_url, capsys
) -> None:
    fill(settings, geography, rules)
    raw = raw_snapshot(database_url)
    old = settings.secret_key.get_secret_value()

    env(ring=f"k2:{KEY_B}")  # key "1" left out: refused at start
    code, _, err = run(["keys", "rotate"], capsys)
    assert code == 2 and "1 still encrypt stored values" in err
    assert raw_snapshot(database_url) == raw

    # A database whose checks say key "1" was retired, yet values still need it (say, a
    # restored backup): the rotation's own census refuses before writing anything.
    db = Database(database_url)
    with db.writer() as session:
        session.execute(text("UPDATE key_checks SET retired_at = created_at"))
    db.dispose()
    code, _, err = run(["keys", "rotate"], capsys)
    assert code == 2 and "key id(s) 1" in err and "nothing was changed" in err
    assert raw_snapshot(database_url) == raw
    env(ring=f"1:{old},k2:{KEY_B}")
    assert run(["keys", "rotate"], capsys)[0] == 0


def test_text_stored_in_clear_before_encryption_is_encrypted_by_the_rotation(  # type: ignore[no-untyped-def]
    env, settings, geography, rules, database_url, capsys
) -> None:
    fill(settings, geography, rules)
    db = Database(database_url)
    with db.writer() as session:  # as an older version wrote them
        session.execute(text("UPDATE messages SET text = 'em bị đánh, số 0912345678'"))
    db.dispose()
    counts = key_counts(database_url)
    assert counts.get(CLEAR, 0) > 0
    env(single=settings.secret_key.get_secret_value())
    assert run(["keys", "rotate"], capsys)[0] == 0
    assert CLEAR not in key_counts(database_url)
    db = Database(database_url)
    with db.reader() as session:
        stored = session.execute(text("SELECT text FROM messages")).scalars().all()
    db.dispose()
    assert stored and all(key_id_of(value) == "1" for value in stored)
    assert all("0912345678" not in value for value in stored)
    db = Database(database_url, cipher=Cipher(settings.secret_key.get_secret_value()))
    with db.reader() as session:
        assert set(session.scalars(select(Message.text))) == {"em bị đánh, số 0912345678"}
    db.dispose()


def test_the_key_check_holds_no_secret(env, database_url, capsys) -> None:  # type: ignore[no-untyped-def]
    env(single=KEY_A)
    assert run(["keys", "status"], capsys)[0] == 0
    db = Database(database_url)
    with db.reader() as session:
        (check,) = session.scalars(select(KeyCheck)).all()
    db.dispose()
    assert check.key_id == "1" and len(check.check_value) == 64
    assert KEY_A not in check.check_value and check.retired_at is None
