"""Operators overrule triage (kept as feedback) and acknowledge for a unit on the phone."""

from __future__ import annotations

from intake.cli import main as cli
from intake.pipeline.feedback import export_feedback
from intake.store.directory import DEMO_DIRECTORY, read_directory, save_units

TIP = {
    "text": "chau 9 tuoi nghi hoc di ban ve so. xa Thieu Trung, Thanh Hoa",
    "external_id": "op-1",
}


def _load_units(services, geography) -> None:  # type: ignore[no-untyped-def]
    demo = read_directory(DEMO_DIRECTORY, geography)
    with services.db.writer() as session:
        save_units(
            session=session,
            units=[u for u in demo.units if u.ward_code in (None, 15835) or u.id == "supervisor"],
            demo=True,
        )


def test_level_override_reroutes_and_is_exported(  # type: ignore[no-untyped-def]
    client, make_user, drain, services, geography
) -> None:
    _load_units(services, geography)
    partner, operator = make_user("p", "partner"), make_user("lan", "operator")
    incident_id = client.post("/api/v1/tips", json=TIP, headers=partner).json()["id"]
    drain()
    before = client.get(f"/api/v1/incidents/{incident_id}", headers=operator).json()
    assert before["level"] == "P3"
    assert {u["unit_id"] for u in before["routed_to"]} == {"sw-15835"}

    url = f"/api/v1/incidents/{incident_id}/level"
    refused = client.post(url, json={"level": "P1", "reason": "x"}, headers=operator)
    assert refused.status_code == 400  # a reason of at least three characters is required
    stale = client.post(
        url,
        json={
            "level": "P1",
            "reason": "the child was beaten today",
            "version": before["version"] - 1,
        },
        headers=operator,
    )
    assert stale.status_code == 409
    changed = client.post(
        url,
        json={
            "level": "P1",
            "categories": ["physical_abuse"],
            "reason": "caller said the child was beaten today",
            "version": before["version"],
        },
        headers=operator,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["level"] == "P1" and body["reasons"][-1]["rule"] == "operator"
    assert {u["unit_id"] for u in body["routed_to"]} == {"sw-15835", "cp-15835"}
    drain()  # triage runs again later: the operator's level stays
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=operator).json()["level"] == "P1"

    with services.db.reader() as session:
        (line,) = list(export_feedback(session, services.pipeline.rules.recipients))
    assert line["expected"]["level"] == "P1" and line["expected"]["route_to"] == [
        "police",
        "social_worker",
    ]
    assert line["reason"].startswith("caller said") and "ban ve so" in line["text"]


def test_acknowledge_by_phone_and_by_the_unit(  # type: ignore[no-untyped-def]
    client, make_user, drain, services, geography
) -> None:
    _load_units(services, geography)
    partner, operator = make_user("p", "partner"), make_user("lan", "operator")
    police = make_user("cs", "police", unit_id="cp-15835")
    tip = {**TIP, "text": "bo dang danh con, cuu voi. xa Thieu Trung, Thanh Hoa"}
    incident_id = client.post("/api/v1/tips", json=tip, headers=partner).json()["id"]
    drain()
    url = f"/api/v1/incidents/{incident_id}/acknowledge"
    other_unit = client.post(url, json={"unit_id": "sw-15835"}, headers=police)
    assert other_unit.status_code == 403
    own = client.post(url, json={"unit_id": "cp-15835"}, headers=police)
    assert own.status_code == 200 and own.json()["status"] == "acknowledged"
    phoned = client.post(url, json={"unit_id": "sw-15835"}, headers=operator)
    acked = {u["unit_id"]: u["acknowledged_at"] for u in phoned.json()["routed_to"]}
    assert all(acked.values())
    assert client.post(url, json={"unit_id": "pp-38"}, headers=operator).status_code == 422


def test_cli_user_token_and_export(monkeypatch, tmp_path, capsys, database_url) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "cli-secret-key-0123456789")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a-long-password\n"))
    assert (
        cli(["user", "create", "--username", "lan", "--role", "operator", "--password-stdin"]) == 0
    )
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a-long-password\n"))
    assert (
        cli(["user", "create", "--username", "cs", "--role", "police", "--password-stdin"]) == 2
    )  # police need a unit
    capsys.readouterr()
    assert cli(["token", "create", "--username", "lan"]) == 0
    assert capsys.readouterr().out.strip().startswith("h111_")
    out = tmp_path / "feedback.jsonl"
    assert cli(["triage", "export-feedback", "--out", str(out)]) == 0
    assert out.read_text() == ""
    assert cli(["token", "create", "--username", "nobody"]) == 2


def test_route_explain_works_on_a_fresh_checkout(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    # No database yet, no settings: demo mode creates and migrates it, loads the demo
    # directory, and explains a dry-run plan (here: a border commune, so a border post too).
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh' / 'h.db'}")
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HOTLINE_SECRET_KEY", raising=False)
    plan = '{"level": "P1", "categories": ["trafficking"], "ward_code": 6172, "province_code": 20}'
    assert cli(["route", "explain", plan]) == 0
    out = capsys.readouterr().out
    assert "alerts: cp-6172 (commune_police), sw-6172 (commune_social_worker), bg-6172" in out
