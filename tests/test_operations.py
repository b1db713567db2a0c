"""Running it for a province, through the CLI as an administrator would: doctor, the
restore drill, erasure on request and the retention limits, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text, update

from intake.cli import main as cli
from intake.doctor import examine, fatal
from intake.reports import build_report
from intake.settings import Settings
from intake.store.backup import row_counts
from intake.store.directory import DEMO_DIRECTORY, read_directory, save_units
from intake.store.erasure import RetentionPolicy, apply_retention
from intake.store.migrate import upgrade
from intake.store.models import (
    Alert,
    AuditEntry,
    Event,
    InboxItem,
    Incident,
    Message,
    Tipster,
    utcnow,
)

KEY = "test-secret-key-for-hotline111"  # the `settings` fixture's key
TIPS = [
    {
        "text": "em o xa Thieu Trung, Thanh Hoa, bo em dang danh em bang gay, cuu em",
        "external_id": "ops-1",
        "reporter": {"name": "Nguyen Van A", "phone": "0912345678", "consent_to_share": False},
    },
    {
        "text": "chau 9 tuoi nghi hoc di ban ve so o cho, xa Thieu Trung, Thanh Hoa",
        "external_id": "ops-2",
    },
    {"text": "mua sim so dep gia re lien he ngay", "external_id": "ops-3"},
]


@pytest.fixture
def stocked(client, make_user, drain, services, geography):  # type: ignore[no-untyped-def]
    """A service with units, three tips through the pipeline, alerts and audit rows."""
    demo = read_directory(DEMO_DIRECTORY, geography)
    with services.db.writer() as session:
        save_units(
            session=session,
            units=[u for u in demo.units if u.ward_code in (None, 15835) or u.id == "supervisor"],
            demo=True,
        )
    partner = make_user("partner1", "partner")
    supervisor = make_user("hoa", "supervisor")
    ids = [client.post("/api/v1/tips", json=tip, headers=partner).json()["id"] for tip in TIPS]
    drain()
    for incident_id in ids:  # reads by a person: audit rows
        assert client.get(f"/api/v1/incidents/{incident_id}", headers=supervisor).status_code == 200
    return ids, supervisor


def _env(monkeypatch, database_url: str, tmp_path: Path, key: str = KEY) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", key)
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path / "var"))


def _wipe(database_url: str) -> None:
    """What a lost disk leaves: an empty database."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:
            tables = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table'")
            ).scalars()
            for name in list(tables):
                connection.execute(text(f'DROP TABLE "{name}"'))
    engine.dispose()


def test_restore_drill(stocked, services, client, database_url, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ids, supervisor = stocked
    with services.db.reader() as session:
        before = {
            "states": sorted(session.execute(select(Alert.id, Alert.state)).all()),
            "texts": sorted(session.scalars(select(Message.text))),
            "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
        }
        raw_phone = session.scalar(select(Tipster.phone).where(Tipster.phone.is_not(None)))
    assert before["states"] and before["audit"] >= 3
    counts = row_counts(database_url)
    _env(monkeypatch, database_url, tmp_path)
    out = tmp_path / "hotline111.backup"
    assert cli(["backup", str(out)]) == 0
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        dump = b"".join(archive.read(n) for n in archive.namelist() if n != "manifest.json")
    assert manifest["counts"] == counts
    assert b"0912345678" not in dump and raw_phone and raw_phone.encode() in dump  # encrypted
    assert cli(["backup", str(out)]) == 2  # never overwrites a file

    services.db.dispose()
    _wipe(database_url)
    assert cli(["restore", str(out)]) == 0
    assert row_counts(database_url) == counts
    with services.db.reader() as session:
        assert sorted(session.execute(select(Alert.id, Alert.state)).all()) == before["states"]
        assert sorted(session.scalars(select(Message.text))) == before["texts"]
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == before["audit"]
    served = client.get(f"/api/v1/incidents/{ids[0]}", headers=supervisor)
    assert served.status_code == 200 and served.json()["messages"][0]["text"] == TIPS[0]["text"]

    # Restoring over a database that holds incidents needs --yes.
    assert cli(["restore", str(out)]) == 2
    assert cli(["restore", str(out), "--yes"]) == 0


def test_a_restore_that_cannot_be_right_changes_nothing(  # type: ignore[no-untyped-def]
    stocked, database_url, monkeypatch, tmp_path, capsys
) -> None:
    _env(monkeypatch, database_url, tmp_path)
    out = tmp_path / "b.zip"
    assert cli(["backup", str(out)]) == 0
    counts = row_counts(database_url)

    _env(monkeypatch, database_url, tmp_path, key="another-key-of-another-province-0123")
    assert cli(["restore", str(out), "--yes"]) == 2
    assert "another HOTLINE_SECRET_KEY" in capsys.readouterr().err

    _env(monkeypatch, database_url, tmp_path)
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(newer, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "manifest.json":
                data = json.dumps({**json.loads(data), "schema_revision": "9999"}).encode()
            target.writestr(name, data)
    assert cli(["restore", str(newer), "--yes"]) == 2
    assert "another version" in capsys.readouterr().err
    (tmp_path / "junk.zip").write_text("not a zip")
    assert cli(["restore", str(tmp_path / "junk.zip"), "--yes"]) == 2
    assert cli(["restore", str(tmp_path / "missing.zip"), "--yes"]) == 2
    assert row_counts(database_url) == counts


def test_erasure_keeps_the_statistics(  # type: ignore[no-untyped-def]
    stocked, services, database_url, monkeypatch, tmp_path, capsys
) -> None:
    ids, _ = stocked
    with services.db.reader() as session:
        reference = session.get(Incident, ids[0]).reference  # type: ignore[union-attr]
        report_before = build_report(
            session, date_from=date.today() - timedelta(days=1), date_to=date.today()
        ).export(0)
    _env(monkeypatch, database_url, tmp_path)
    assert cli(["erase", "--incident", "111-0000-0000", "--by", "hoa", "--reason", "x"]) == 2
    assert "no incident" in capsys.readouterr().err
    assert cli(["erase", "--incident", reference, "--by", "partner1", "--reason", "x"]) == 2
    assert cli(["erase", "--incident", reference, "--by", "hoa", "--reason", "tipster asked"]) == 0
    with services.db.reader() as session:
        incident = session.get(Incident, ids[0])
        assert incident is not None and incident.tipster_id is None
        assert incident.summary is None and incident.location_text is None
        assert all(r["matched"] == "" for r in incident.reasons)
        assert set(session.scalars(select(Message.text).where(Message.incident_id == ids[0]))) == {
            ""
        }
        assert set(session.scalars(select(Alert.text).where(Alert.incident_id == ids[0]))) <= {""}
        assert session.scalars(
            select(InboxItem.message).where(InboxItem.incident_id == ids[0])
        ).all() == [None]
        assert (
            session.scalar(
                select(func.count()).select_from(Tipster).where(Tipster.phone.is_not(None))
            )
            == 0
        )
        assert ("erase", ids[0]) in session.execute(
            select(AuditEntry.action, AuditEntry.incident_id)
        ).all()
        assert session.scalar(
            select(Event.id).where(Event.incident_id == ids[0], Event.action == "erased")
        )
        report_after = build_report(
            session, date_from=date.today() - timedelta(days=1), date_to=date.today()
        ).export(0)
        assert incident.level and incident.province_code == 38  # what the report counts
    assert report_after == report_before


def test_retention_limits(stocked, services, drain) -> None:  # type: ignore[no-untyped-def]
    ids, _ = stocked
    old = utcnow() - timedelta(days=400)
    with services.db.writer() as session:
        spam = session.scalars(select(Incident).where(Incident.level == "SPAM")).one()
        session.execute(update(Incident).where(Incident.id == spam.id).values(received_at=old))
        session.execute(
            update(Incident)
            .where(Incident.id == ids[0])
            .values(status="closed", updated_at=old)
            .execution_options(synchronize_session=False)
        )
        session.execute(update(InboxItem).values(received_at=old))
    policy = RetentionPolicy(spam_days=90, identity_months=12, raw_body_days=30)
    with services.db.writer() as session:
        outcome = apply_retention(session=session, policy=policy)
    assert (outcome.spam_erased, outcome.identities_erased) == (1, 1)
    assert outcome.raw_bodies_dropped == 2  # the spam's own went with its erasure
    with services.db.writer() as session:
        again = apply_retention(session=session, policy=policy)
        assert (again.spam_erased, again.identities_erased, again.raw_bodies_dropped) == (0, 0, 0)
        assert session.get(Incident, ids[0]).tipster_id is None  # type: ignore[union-attr]
        assert (
            session.scalar(
                select(func.count()).select_from(InboxItem).where(InboxItem.raw_body.is_not(None))
            )
            == 0
        )
        assert session.get(Incident, ids[1]).summary  # type: ignore[union-attr]  # not due


def test_the_worker_runs_retention_every_day(services) -> None:  # type: ignore[no-untyped-def]
    from intake.pipeline.worker import Worker
    from intake.store.models import Job

    worker = Worker(services)
    worker.prepare()
    assert worker.drain() >= 1  # the first pass runs at once
    worker.prepare()  # a second start (or a second process) adds no second job
    assert worker.drain() == 0
    with services.db.reader() as session:
        jobs = session.scalars(select(Job).where(Job.kind == "retention")).all()
    assert len(jobs) == 1
    assert jobs[0].state == "pending" and jobs[0].run_at > utcnow() + timedelta(hours=23)


def test_doctor_names_what_is_wrong_for_production(database_url, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    upgrade(database_url)
    demo = Settings(
        HOTLINE_DATABASE_URL=database_url,
        HOTLINE_VAR_DIR=tmp_path,
        HOTLINE_SQLITE_SYNCHRONOUS="OFF",
        TWILIO_ACCOUNT_SID="AC123",
    )
    from intake.store.db import Database

    db = Database(database_url)
    try:
        codes = {f.code for f in fatal(examine(demo, db))}
        expected = {"demo-key", "public-url-https", "twilio-partial", "directory-empty"}
        if demo.is_sqlite:
            expected.add("sqlite-synchronous")
        assert codes == expected
        ready = Settings(
            HOTLINE_DATABASE_URL=database_url,
            HOTLINE_SECRET_KEY="k" * 40,
            HOTLINE_PUBLIC_BASE_URL="https://111.example.gov.vn",
            HOTLINE_OPERATOR_PHONE="+84111000111",
        )
        with db.writer() as session:
            from intake.store.models import Unit

            session.add(Unit(id="cp-1", kind="commune_police", name="CA xã", province_code=38))
        assert fatal(examine(ready, db)) == []
    finally:
        db.dispose()
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("HOTLINE_SECRET_KEY", raising=False)
    assert cli(["doctor"]) == 1


def test_production_start_is_refused_on_a_fatal_finding(  # type: ignore[no-untyped-def]
    database_url, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("HOTLINE_PRODUCTION", "true")
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("HOTLINE_PUBLIC_BASE_URL", "http://127.0.0.1:8111")
    for command in (["serve", "--port", "1"], ["worker"]):
        assert cli(command) == 2
        refused = capsys.readouterr().err
        assert "refusing to start in production" in refused
        assert "[public-url-https]" in refused and "[directory-empty]" in refused
        assert "k" * 40 not in refused


def test_the_deployment_files_agree_with_the_settings() -> None:
    import re

    import yaml

    repo = Path(__file__).resolve().parents[1]
    compose = yaml.safe_load((repo / "compose.yaml").read_text())
    assert {"db", "migrate", "serve", "worker"} <= set(compose["services"])
    example = (repo / "hotline111.env.example").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", (repo / "compose.yaml").read_text()))
    assert required and all(f"\n{name}=" in example for name in required)
    known = {
        field.validation_alias
        for field in Settings.model_fields.values()
        if isinstance(field.validation_alias, str)
    }
    for line in example.splitlines():
        if "=" in line and not line.startswith("#") and not line.startswith("POSTGRES_"):
            assert line.split("=")[0] in known, line
    dockerfile = (repo / "Dockerfile").read_text()
    assert "USER hotline" in dockerfile and "/healthz" in dockerfile
    assert 'CMD ["hotline111", "serve"' in dockerfile


def test_a_supervisor_erases_from_the_console(stocked, services) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from intake.store.auth import create_user
    from intake.web.app import create_app
    from tests.test_console import csrf, sign_in, version

    ids, _ = stocked
    with services.db.writer() as session:
        create_user(
            session=session, username="mai", role="supervisor", password="correct horse battery"
        )
    app = create_app(services.settings, services)
    with TestClient(app, base_url="https://testserver") as console:
        sign_in(console, "mai", "correct horse battery")
        page = console.get(f"/console/incidents/{ids[0]}").text
        assert "Xóa dữ liệu cá nhân" in page
        console.post(
            f"/console/incidents/{ids[0]}/act",
            data={
                "csrf": csrf(page),
                "version": version(page),
                "action": "erase",
                "reason": "đơn yêu cầu số 12",
            },
        )
    with services.db.reader() as session:
        texts = set(session.scalars(select(Message.text).where(Message.incident_id == ids[0])))
        assert texts == {""}
        assert ("erase", ids[0]) in session.execute(
            select(AuditEntry.action, AuditEntry.incident_id)
        ).all()
