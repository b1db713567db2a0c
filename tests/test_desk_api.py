"""The operator's desk over the API: a case from a call, corrections, search."""

from __future__ import annotations

from sqlalchemy import select

from intake.pipeline.feedback import export_feedback
from intake.store.models import Alert, Event
from tests.test_operator_actions import _load_units

CALL = {
    "text": "Chị Hoa gọi: cháu gái hàng xóm bị bố dượng đánh đập nhiều lần, hôm nay có vết bầm",
    "ward_code": 15835,
    "victim": {"sex": "female", "age": 9, "count": 1, "disability": False},
    "categories": ["physical_abuse"],
    "caller": {"relation": "neighbour", "phone": "0912 345 678", "name": "Hoa", "consent": False},
}


def _file(client, headers, **changes):  # type: ignore[no-untyped-def]
    answer = client.post("/api/v1/incidents", json={**CALL, **changes}, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_call_is_filed_routed_and_alerts_with_the_operators_words(  # type: ignore[no-untyped-def]
    client, make_user, drain, services, geography
) -> None:
    _load_units(services, geography)
    operator = make_user("lan", "operator")
    filed = _file(client, operator, level="P2")
    assert filed["channel"] == "voice" and filed["reference"].startswith("111-")
    drain()
    case = client.get(f"/api/v1/incidents/{filed['id']}", headers=operator).json()
    assert case["level"] == "P2" and case["categories"] == ["physical_abuse"]
    assert case["ward_code"] == 15835 and case["status"] == "routed"
    assert case["victim"] == {
        "age": 9,
        "gender": "female",
        "count": 1,
        "age_group": None,
        "disability": False,
    }
    assert {u["unit_id"] for u in case["routed_to"]} >= {"cp-15835"}
    with services.db.reader() as session:
        alerts = session.scalars(select(Alert).where(Alert.incident_id == filed["id"])).all()
        assert alerts and all("bố dượng đánh đập" in a.text for a in alerts)
        assert all("0912" not in a.text for a in alerts)  # no consent: no number
        # the operator's level and categories are kept as training feedback
        labelled = [
            row
            for row in export_feedback(session, services.pipeline.rules.recipients)
            if row["id"] == filed["reference"]
        ]
    assert labelled and labelled[0]["expected"]["level"] == "P2"


def test_consent_puts_the_callers_number_in_the_alert(  # type: ignore[no-untyped-def]
    client, make_user, drain, services, geography
) -> None:
    _load_units(services, geography)
    operator = make_user("lan", "operator")
    caller = {**CALL["caller"], "consent": True}
    filed = _file(client, operator, caller=caller, idempotency_key="form-0001")
    again = _file(client, operator, caller=caller, idempotency_key="form-0001")
    assert again["id"] == filed["id"]  # a form sent twice files one case
    drain()
    with services.db.reader() as session:
        texts = session.scalars(select(Alert.text).where(Alert.incident_id == filed["id"])).all()
    assert texts and all("0912 345 678" in t for t in texts)


def test_roles_and_refusals(client, make_user) -> None:  # type: ignore[no-untyped-def]
    police = make_user("cong-an", "police", unit_id="cp-15835")
    partner = make_user("p", "partner")
    operator = make_user("lan", "operator")
    assert client.post("/api/v1/incidents", json=CALL, headers=police).status_code == 403
    assert client.post("/api/v1/incidents", json=CALL, headers=partner).status_code == 403
    bad = client.post(
        "/api/v1/incidents", json={**CALL, "categories": ["made_up"]}, headers=operator
    )
    assert bad.status_code == 422
    bad_age = client.post(
        "/api/v1/incidents", json={**CALL, "victim": {"age": 300}}, headers=operator
    )
    assert bad_age.status_code == 400


def test_corrections_are_versioned_and_on_the_timeline(  # type: ignore[no-untyped-def]
    client, make_user, drain, services, geography
) -> None:
    _load_units(services, geography)
    operator = make_user("lan", "operator")
    police = make_user("cong-an", "police", unit_id="cp-15835")
    filed = _file(client, operator, victim={"sex": "female"})
    drain()
    case = client.get(f"/api/v1/incidents/{filed['id']}", headers=operator).json()
    url = f"/api/v1/incidents/{filed['id']}"
    refused = client.patch(url, json={"victim": {"age": 14}}, headers=police)
    assert refused.status_code == 403
    stale = client.patch(
        url, json={"victim": {"age": 14}, "version": case["version"] - 1}, headers=operator
    )
    assert stale.status_code == 409
    fixed = client.patch(
        url,
        json={
            "victim": {"age": 14, "count": 2},
            "trafficking_purpose": "forced_labour",
            "categories": ["physical_abuse", "child_labour"],
            "version": case["version"],
        },
        headers=operator,
    )
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert body["victim"]["age"] == 14 and body["victim"]["count"] == 2
    assert body["victim"]["gender"] == "female"  # not named: unchanged
    assert body["trafficking_purpose"] == "forced_labour"
    assert body["version"] > case["version"]
    # a later pipeline run (a follow-up) keeps what the operator set
    with services.db.writer() as session:
        from intake.store import jobs

        jobs.enqueue(session=session, kind="process", key=str(filed["id"]))
    drain()
    again = client.get(url, headers=operator).json()
    assert again["victim"]["age"] == 14 and again["categories"] == [
        "physical_abuse",
        "child_labour",
    ]
    with services.db.reader() as session:
        fields = [
            e.detail.get("field")
            for e in session.scalars(
                select(Event).where(Event.incident_id == filed["id"], Event.action == "corrected")
            )
        ]
    assert {"victim.age", "victim.count", "trafficking_purpose"} <= set(fields)


def test_search_finds_closed_cases_by_words_phone_place_reference(  # type: ignore[no-untyped-def]
    client, make_user, drain, services, geography
) -> None:
    _load_units(services, geography)
    operator = make_user("lan", "operator")
    filed = _file(client, operator)
    other = _file(
        client,
        operator,
        text="Một em bé bị bỏ rơi ở chợ",
        ward_code=None,
        caller={"phone": "0987000111"},
    )
    drain()
    closed = client.post(
        f"/api/v1/incidents/{filed['id']}/status",
        json={"status": "closed", "reason": "done"},
        headers=operator,
    )
    assert closed.status_code == 200, closed.text

    def found(q: str) -> set[int]:
        answer = client.get("/api/v1/incidents", params={"q": q}, headers=operator)
        assert answer.status_code == 200, answer.text
        return {item["id"] for item in answer.json()["items"]}

    assert found("bo duong danh dap") == {filed["id"]}
    assert found("BẦM") == {filed["id"]}
    assert found("thieu trung") == {filed["id"]}  # the place's name
    assert found("+84 912 345 678") == {filed["id"]}
    assert found("0987000111") == {other["id"]}
    assert found(filed["reference"].lower()) == {filed["id"]}
    assert found("bo roi") == {other["id"]}
    assert found("khong co tu nay") == set()
    assert (
        client.get(
            "/api/v1/incidents", params={"q": "bo roi", "status": "closed"}, headers=operator
        ).json()["items"]
        == []
    )
    police = make_user("cong-an", "police", unit_id="cp-6172")
    answer = client.get("/api/v1/incidents", params={"q": "danh dap"}, headers=police)
    assert answer.json()["items"] == []  # not their unit's


def test_reindex_makes_older_incidents_findable(  # type: ignore[no-untyped-def]
    client, make_user, drain, services, geography
) -> None:
    from intake.pipeline.searching import reindex_all
    from intake.store.search import SearchTerm

    operator = make_user("lan", "operator")
    filed = _file(client, operator)
    drain()
    with services.db.writer() as session:
        session.query(SearchTerm).delete()  # as if stored before the index existed
    assert (
        client.get("/api/v1/incidents", params={"q": "bam"}, headers=operator).json()["items"] == []
    )
    assert reindex_all(services) == 1
    found = client.get("/api/v1/incidents", params={"q": "bam"}, headers=operator).json()
    assert [i["id"] for i in found["items"]] == [filed["id"]]


def test_control_characters_are_refused_or_harmless(client, make_user) -> None:  # type: ignore[no-untyped-def]
    operator = make_user("lan", "operator")
    found = client.get("/api/v1/incidents", params={"q": "em\x00bé"}, headers=operator)
    assert found.status_code == 200 and found.json()["items"] == []
    bad_key = client.post(
        "/api/v1/incidents", json={**CALL, "idempotency_key": "key\x00with-nul"}, headers=operator
    )
    assert bad_key.status_code == 400
    filed = client.post(
        "/api/v1/incidents",
        json={**CALL, "text": "em\x00 bị đánh", "caller": {"name": "A\x00", "phone": "09\x00"}},
        headers=operator,
    )
    assert filed.status_code == 201, filed.text


def test_a_case_is_found_by_the_places_former_names(  # type: ignore[no-untyped-def]
    client, make_user, drain, services, geography
) -> None:
    from intake.pipeline.searching import former_names, reindex_all
    from intake.store.search import index_incident

    operator = make_user("lan", "operator")
    # Xã Thiệu Trung (2025) took in Thiệu Lý, Thiệu Vận... of the former Huyện Thiệu Hóa.
    olds = former_names(geography, 15835, None)
    assert {"Xã Thiệu Lý", "Huyện Thiệu Hóa"} <= set(olds)
    merged = former_names(geography, None, 8)  # Tuyên Quang took in Hà Giang
    assert "Tỉnh Hà Giang" in merged
    filed = _file(client, operator)
    elsewhere = _file(client, operator, text="Một em bé bị bỏ rơi", ward_code=None, province_code=8)
    drain()

    def found(q: str) -> set[int]:
        answer = client.get("/api/v1/incidents", params={"q": q}, headers=operator)
        return {item["id"] for item in answer.json()["items"]}

    assert found("Thiệu Lý") == {filed["id"]}  # a former commune, as people still say it
    assert found("huyen thieu hoa") == {filed["id"]}  # the district that no longer exists
    assert found("ha giang") == {elsewhere["id"]}  # the province merged into Tuyên Quang
    assert found("thieu ly ha giang") == set()
    # rows indexed as before (the 2025 names alone): `search reindex` adds the former ones
    with services.db.writer() as session:
        for case, ward, province in ((filed, 15835, None), (elsewhere, None, 8)):
            index_incident(
                session=session,
                cipher=services.cipher,
                incident_id=case["id"],
                texts=[geography.place_name(ward, province)],
            )
    assert found("thieu ly") == set() and found("thieu trung") == {filed["id"]}
    assert reindex_all(services) == 2
    assert found("thieu ly") == {filed["id"]} and found("ha giang") == {elsewhere["id"]}
