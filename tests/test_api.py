"""The JSON API over HTTP, on both databases: tips, reads, scoping, audit, bad input."""

from __future__ import annotations

import json

from sqlalchemy import select

from intake.store.models import Assignment, AuditEntry, Incident, Message, Unit

TIP = {
    "text": "em o thon 3 xa thieu trung thanh hoa, bo em dang danh em, cuu em",
    "external_id": "partner-0001",
}


def test_tip_becomes_a_triaged_incident(client, make_user, drain) -> None:  # type: ignore[no-untyped-def]
    partner = make_user("partner1", "partner")
    operator = make_user("lan", "operator")
    created = client.post("/api/v1/tips", json=TIP, headers=partner)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["reference"].startswith("111-") and body["status"] == "new"

    repeat = client.post("/api/v1/tips", json=TIP, headers=partner)
    assert repeat.status_code == 200 and repeat.json()["id"] == body["id"]

    drain()
    incident = client.get(f"/api/v1/incidents/{body['id']}", headers=operator).json()
    assert incident["status"] == "triaged"
    assert incident["level"] == "P1"
    assert incident["reasons"], "the reasons for the level are shown"
    assert incident["province_code"] == 38
    assert incident["messages"][0]["text"] == TIP["text"]
    for field in ("categories", "trafficking_purpose", "victim", "routed_to", "summary", "score"):
        assert field in incident


def test_list_filters_and_cursor(client, make_user, drain) -> None:  # type: ignore[no-untyped-def]
    partner = make_user("partner1", "partner")
    operator = make_user("lan", "operator")
    for n in range(5):
        tip = {"text": f"tin nhan thu {n}", "external_id": f"e{n}"}
        assert client.post("/api/v1/tips", json=tip, headers=partner).status_code == 201
    drain()
    first = client.get("/api/v1/incidents?limit=2", headers=operator).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = client.get(
        f"/api/v1/incidents?limit=2&cursor={first['next_cursor']}", headers=operator
    ).json()
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    api_only = client.get("/api/v1/incidents?channel=api&status=triaged", headers=operator)
    assert api_only.status_code == 200
    assert client.get("/api/v1/incidents?channel=zalo", headers=operator).json()["items"] == []
    assert client.get("/api/v1/incidents?cursor=@@@", headers=operator).status_code == 400


def test_roles_and_unit_scoping_are_enforced_and_audited(  # type: ignore[no-untyped-def]
    client, make_user, services, drain
) -> None:
    partner = make_user("partner1", "partner")
    police = make_user("cs1", "police", unit_id="cp-16000")
    mine = client.post("/api/v1/tips", json=TIP, headers=partner).json()["id"]
    other = client.post("/api/v1/tips", json={**TIP, "external_id": "x2"}, headers=partner).json()[
        "id"
    ]
    drain()  # the incidents the tips were answered with are written by the pipeline
    with services.db.writer() as session:
        session.add(Unit(id="cp-16000", kind="commune_police", name="CA xã", province_code=38))
        session.flush()
        session.add(Assignment(incident_id=mine, unit_id="cp-16000", reason="test"))

    assert client.get("/api/v1/incidents").status_code == 401
    assert (
        client.get("/api/v1/incidents", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    assert client.get("/api/v1/incidents", headers=partner).status_code == 403
    listed = client.get("/api/v1/incidents", headers=police).json()["items"]
    assert [i["id"] for i in listed] == [mine]
    assert client.get(f"/api/v1/incidents/{mine}", headers=police).status_code == 200
    assert client.get(f"/api/v1/incidents/{other}", headers=police).status_code == 403
    with services.db.reader() as session:
        actions = session.execute(select(AuditEntry.action, AuditEntry.incident_id)).all()
    assert ("view", mine) in actions and ("denied", other) in actions


def test_status_change_with_stale_version_is_refused(client, make_user, drain) -> None:  # type: ignore[no-untyped-def]
    partner = make_user("partner1", "partner")
    operator = make_user("lan", "operator")
    incident_id = client.post("/api/v1/tips", json=TIP, headers=partner).json()["id"]
    drain()
    version = client.get(f"/api/v1/incidents/{incident_id}", headers=operator).json()["version"]
    url = f"/api/v1/incidents/{incident_id}/status"
    ok = client.post(url, json={"status": "in_progress", "version": version}, headers=operator)
    assert ok.status_code == 200 and ok.json()["status"] == "in_progress"
    stale = client.post(url, json={"status": "resolved", "version": version}, headers=operator)
    assert stale.status_code == 409 and "reload" in stale.json()["detail"]
    bad = client.post(url, json={"status": "acknowledged"}, headers=operator)
    assert bad.status_code == 422


def test_bad_input_gets_clear_errors_and_loses_nothing(  # type: ignore[no-untyped-def]
    client, make_user, services, drain
) -> None:
    partner = make_user("partner1", "partner")
    headers = {**partner, "Content-Type": "application/json"}
    assert client.post("/api/v1/tips", json=TIP, headers=partner).status_code == 201

    not_json = client.post("/api/v1/tips", content=b"{not json", headers=headers)
    assert not_json.status_code == 400
    bad_utf8 = client.post("/api/v1/tips", content=b'{"text": "\xff\xfe"}', headers=headers)
    assert bad_utf8.status_code == 400
    missing = client.post("/api/v1/tips", json={"text": "x"}, headers=partner)
    assert missing.status_code == 400
    assert any(e["field"] == "external_id" for e in missing.json()["errors"])
    too_big = client.post(
        "/api/v1/tips", content=b'{"text": "' + b"a" * (1024 * 1024) + b'"}', headers=headers
    )
    assert too_big.status_code == 413
    chunks = (b'{"text": "' + b"a" * 65536 for _ in range(20))  # no length declared
    streamed = client.post("/api/v1/tips", content=chunks, headers=headers)
    assert streamed.status_code == 413
    for path in ("/webhooks/telegram", "/report"):
        assert client.post(path, content=b"x" * (1024 * 1024 + 1)).status_code == 413
    unknown = client.post(
        "/api/v1/tips", json={**TIP, "external_id": "u1", "colour": "blue"}, headers=partner
    )
    assert unknown.status_code == 201
    long_line = {"text": "x" * 100_000, "external_id": "long"}
    assert client.post("/api/v1/tips", json=long_line, headers=partner).status_code == 201
    control = {"text": "a\u0000b\u0007c", "external_id": "ctl"}
    accepted = client.post("/api/v1/tips", json=control, headers=partner)
    assert accepted.status_code == 201
    drain()
    with services.db.reader() as session:
        assert len(session.scalars(select(Incident.id)).all()) == 4
        stored = session.get(Incident, accepted.json()["id"])
        assert stored is not None and stored.reference == accepted.json()["reference"]
        text = session.scalars(select(Message.text).where(Message.incident_id == stored.id)).one()
        assert text == "a\ufffdb\ufffdc"


def test_tips_route_checks_its_caller_and_its_body_itself(client, make_user) -> None:  # type: ignore[no-untyped-def]
    partner = make_user("partner1", "partner")
    operator = make_user("lan", "operator")
    assert client.post("/api/v1/tips", json=TIP).status_code == 401
    wrong = client.post("/api/v1/tips", json=TIP, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert client.post("/api/v1/tips", json=TIP, headers=operator).status_code == 403
    form = client.post("/api/v1/tips", data={"text": "x", "external_id": "f"}, headers=partner)
    assert form.status_code == 400 and form.json()["errors"][0]["field"] == "body"
    not_object = client.post("/api/v1/tips", json=["x"], headers=partner)
    assert not_object.status_code == 400
    bad = client.post("/api/v1/tips", json={**TIP, "victim_age": 300}, headers=partner)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "victim_age"
    assert "300" not in bad.text  # the value is not echoed
    typed = {**partner, "Content-Type": "application/json; charset=utf-8"}
    ok = client.post("/api/v1/tips", content=json.dumps(TIP).encode(), headers=typed)
    assert ok.status_code == 201 and ok.headers["content-type"] == "application/json"
    assert set(ok.json()) == {"id", "reference", "status"}

    document = client.get("/openapi.json").json()
    operation = document["paths"]["/api/v1/tips"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/TipCreate"}
    schemas = document["components"]["schemas"]
    assert {"TipCreate", "Reporter", "TipAccepted"} <= set(schemas)
    assert "external_id" in schemas["TipCreate"]["required"]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert {"200", "201", "202", "400"} <= set(operation["responses"])


def test_health_and_metrics(client, make_user) -> None:  # type: ignore[no-untyped-def]
    partner = make_user("partner1", "partner")
    client.post("/api/v1/tips", json=TIP, headers=partner)
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    # /metrics is no longer anonymous (issue 19): the scrape token of the test settings.
    scrape = {"Authorization": "Bearer test-metrics-token"}
    metrics = client.get("/metrics", headers=scrape).text
    assert 'hotline111_tips_received_total{channel="api"} 1.0' in metrics
    assert "hotline111_pipeline_lag_seconds" in metrics
    assert json.loads(client.get("/openapi.json").text)["paths"]["/api/v1/tips"]
