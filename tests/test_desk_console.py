"""The operator's desk in the console: record a call, correct it, reveal, search."""

from __future__ import annotations

import re

from sqlalchemy import select

from intake.store.models import Alert, AuditEntry, Incident
from tests import test_console
from tests.test_console import csrf, sign_in, version

console = test_console.console  # the signed-out console client fixture, shared

CALL = {
    "text": "Cô giáo gọi: học sinh lớp 4 bị cha đánh bằng roi, người đầy vết thương",
    "place": "Thiệu Trung, Thanh Hóa",
    "sex": "male",
    "age": "10",
    "categories": ["physical_abuse"],
    "relation": "teacher",
    "phone": "0903 111 222",
    "name": "Cô Mai",
}


def _file(console, drain, **more):  # type: ignore[no-untyped-def]
    form = console.get("/console/calls/new")
    assert form.status_code == 200
    assert "Ghi nhận cuộc gọi" in form.text and 'for="text"' in form.text
    answer = console.post(
        "/console/calls",
        data={"csrf": csrf(form.text), **CALL, **more},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[-400:]
    incident_id = int(answer.headers["location"].rsplit("/", 1)[1])
    drain()
    return incident_id


def test_record_a_call_in_the_console(console, services, drain) -> None:  # type: ignore[no-untyped-def]
    sign_in(console, "lan")
    incident_id = _file(console, drain)
    page = console.get(f"/console/incidents/{incident_id}").text
    assert "Bạo lực thể chất" in page and "Nam" in page and "10 tuổi" in page
    assert "Xã Thiệu Trung" in page and "Ghi nhận cuộc gọi" in page
    with services.db.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.status == "routed"
        assert incident.ward_code == 15835 and incident.victim_age == 10
        texts = session.scalars(select(Alert.text).where(Alert.incident_id == incident_id)).all()
    assert texts and all("bị cha đánh bằng roi" in t for t in texts)


def test_refused_values_keep_what_was_typed(console, drain) -> None:  # type: ignore[no-untyped-def]
    sign_in(console, "lan")
    form = console.get("/console/calls/new")
    answer = console.post(
        "/console/calls",
        data={"csrf": csrf(form.text), **CALL, "place": "Xã Không Có Thật, Tỉnh Ảo"},
    )
    assert answer.status_code == 422
    assert "bị cha đánh bằng roi" in answer.text and 'value="0903 111 222"' in answer.text


def test_suggestion_and_places(console) -> None:  # type: ignore[no-untyped-def]
    sign_in(console, "lan")
    token = csrf(console.get("/console/calls/new").text)
    found = console.post(
        "/console/calls/suggest",
        data={"csrf": token, "text": "con tôi bị bắt cóc bán sang Trung Quốc ngay bây giờ"},
    ).json()
    assert found["level"] in {"P1", "P2"}
    assert any(c["label"] == "Mua bán người" for c in found["categories"])
    assert found["reasons"] and all("“" in r or "mức" in r for r in found["reasons"])
    assert console.post("/console/calls/suggest", data={"text": "x"}).status_code == 403
    places = console.get("/console/places", params={"q": "thieu trung"}).json()
    assert any(p["ward_code"] == 15835 for p in places)
    sign_in(console, "cs")
    assert console.get("/console/calls/new", follow_redirects=False).status_code == 403


def test_details_correct_reveal_and_search(console, services, drain) -> None:  # type: ignore[no-untyped-def]
    sign_in(console, "lan")
    incident_id = _file(console, drain)
    page = console.get(f"/console/incidents/{incident_id}").text
    answer = console.post(
        f"/console/incidents/{incident_id}/act",
        data={
            "csrf": csrf(page),
            "version": version(page),
            "action": "details",
            "categories_shown": "1",
            "sex": "male",
            "age": "12",
            "count": "2",
            "categories": "physical_abuse",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[-400:]
    page = console.get(f"/console/incidents/{incident_id}").text
    assert "12 tuổi" in page and "Sửa thông tin" in page
    stale = console.post(
        f"/console/incidents/{incident_id}/act",
        data={"csrf": csrf(page), "version": "1", "action": "details", "age": "3"},
    )
    assert stale.status_code == 409

    # call back: the number only on the answer to a reasoned, audited request
    assert "0903 111 222" not in page
    refused = console.post(
        f"/console/incidents/{incident_id}/contact", data={"csrf": csrf(page), "reason": ""}
    )
    assert refused.status_code == 422 and "0903 111 222" not in refused.text
    shown = console.post(
        f"/console/incidents/{incident_id}/contact",
        data={"csrf": csrf(page), "reason": "gọi lại hỏi địa chỉ"},
    )
    assert shown.status_code == 200 and "0903 111 222" in shown.text
    with services.db.reader() as session:
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "contact_revealed")
        ).all()
    assert [a.detail["reason"] for a in audited] == ["gọi lại hỏi địa chỉ"]
    assert "0903 111 222" not in console.get(f"/console/incidents/{incident_id}").text

    # closed cases are found by words without diacritics, by phone and by place
    page = console.get(f"/console/incidents/{incident_id}").text
    console.post(
        f"/console/incidents/{incident_id}/act",
        data={"csrf": csrf(page), "version": version(page), "action": "status", "to": "closed"},
    )
    for q in ("danh bang roi", "0903111222", "thieu trung thanh hoa"):
        results = console.get("/console/search", params={"q": q}).text
        assert re.search(rf'href="/console/incidents/{incident_id}"', results), q
    assert "Đã đóng" in console.get("/console/search", params={"q": "roi"}).text
    sign_in(console, "cs2")  # police of another commune: nothing of theirs
    other = console.get("/console/search", params={"q": "danh bang roi"}).text
    assert f"/console/incidents/{incident_id}" not in other


def test_error_pages_are_vietnamese_html_for_browsers(console) -> None:  # type: ignore[no-untyped-def]
    sign_in(console, "lan")
    html = {"accept": "text/html,application/xhtml+xml"}
    missing = console.get("/console/incidents/99999", headers=html)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy trang hoặc sự việc này." in missing.text
    bad = console.get("/console/?province=²", headers=html)
    assert bad.status_code == 400 and "Yêu cầu không hợp lệ" in bad.text
    assert console.get("/console/incidents/99999").json()["detail"]  # scripts keep JSON
    sign_in(console, "cs")
    refused = console.get("/console/calls/new", headers=html)
    assert refused.status_code == 403 and "Bạn không có quyền làm việc này." in refused.text


def test_a_call_added_to_the_ivr_calls_incident(console, services, drain) -> None:  # type: ignore[no-untyped-def]
    sign_in(console, "lan")
    first = _file(console, drain, text="[Cuộc gọi] Người gọi chọn 2", place="", categories=[])
    page = console.get(f"/console/incidents/{first}").text
    assert f'href="/console/calls/new?incident={first}"' in page
    form = console.get("/console/calls/new", params={"incident": str(first)})
    assert f'name="into" value="{first}"' in form.text
    added = console.post(
        "/console/calls",
        data={"csrf": csrf(form.text), **CALL, "into": str(first)},
        follow_redirects=False,
    )
    assert added.headers["location"] == f"/console/incidents/{first}"
    drain()
    with services.db.reader() as session:
        incident = session.get(Incident, first)
        assert incident is not None and incident.ward_code == 15835
        assert any("bị cha đánh bằng roi" in m.text for m in incident.messages)
        assert session.query(Incident).count() == 1
        texts = session.scalars(select(Alert.text).where(Alert.incident_id == first)).all()
    assert texts and all("bị cha đánh bằng roi" in t for t in texts)
