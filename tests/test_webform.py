"""The public report form: Vietnamese first, no JavaScript, CSRF, honeypot, rate limit."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from intake.store.models import Incident, Tipster
from intake.web import webform
from intake.web.app import create_app


@pytest.fixture
def client(services):  # type: ignore[no-untyped-def]
    """Over https, as the public base URL says: the form's cookie is Secure."""
    with TestClient(create_app(services.settings, services), base_url="https://testserver") as c:
        yield c


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def test_form_renders_in_vietnamese_and_english(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/report")
    assert page.status_code == 200 and "Báo tin cho Tổng đài 111" in page.text
    assert "<script" not in page.text  # works on a phone without JavaScript
    assert "Tỉnh Thanh Hóa" in page.text  # province picker
    assert "Report to Hotline 111" in client.get("/report?lang=en").text
    picked = client.get("/report?province=38")
    assert 'name="ward"' in picked.text and "Xã Thiệu Trung" in picked.text  # commune picker


def test_commune_picked_from_the_list_locates_the_report(client, services, drain) -> None:  # type: ignore[no-untyped-def]
    webform._limiter.storage.reset()
    token = _csrf(client.get("/report?province=38").text)
    done = client.post(
        "/report",
        data={
            "csrf": token,
            "what": "co be bi bo roi",
            "where": "",
            "province": "38",
            "ward": "15835",
        },
    )
    assert done.status_code == 200
    drain()
    with services.db.reader() as session:
        assert session.scalars(select(Incident.ward_code)).one() == 15835


def test_report_gives_a_reference_and_stays_anonymous(client, services, drain) -> None:  # type: ignore[no-untyped-def]
    webform._limiter.storage.reset()
    token = _csrf(client.get("/report").text)
    done = client.post(
        "/report",
        data={
            "csrf": token,
            "what": "Bé gái 8 tuổi nhà bên bị mẹ kế đánh thường xuyên",
            "where": "xã Thiệu Trung",
            "province": "38",
            "age": "8",
            "gender": "female",
            "phone": "0912345678",
        },
    )
    assert done.status_code == 200
    reference = re.search(r"111-\d{4}-\d{4}", done.text)
    assert reference
    again = client.post("/report", data={"csrf": token, "what": "double click"})
    assert again.status_code == 200  # the same submission id: no second incident
    drain()
    with services.db.reader() as session:
        incident = session.scalars(select(Incident)).one()
        tipster = session.get(Tipster, incident.tipster_id)
        assert incident.reference == reference.group()
        assert incident.ward_code == 15835 and incident.victim_age == 8
        assert tipster is not None and not tipster.consent_to_share  # anonymous by default
        assert "0912345678" not in (tipster.phone or "")  # encrypted at rest


def test_forged_csrf_honeypot_and_missing_text(client, services) -> None:  # type: ignore[no-untyped-def]
    webform._limiter.storage.reset()
    forged = client.post("/report", data={"csrf": "forged", "what": "x"})
    assert forged.status_code == 403
    token = _csrf(client.get("/report").text)
    robot = client.post("/report", data={"csrf": token, "what": "buy now", "website": "spam"})
    assert robot.status_code == 200
    token = _csrf(client.get("/report").text)
    empty = client.post("/report", data={"csrf": token, "what": "  "})
    assert empty.status_code == 400
    with services.db.reader() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_rate_limit_per_address(client) -> None:  # type: ignore[no-untyped-def]
    webform._limiter.storage.reset()
    statuses = []
    for n in range(7):
        token = _csrf(client.get("/report").text)
        statuses.append(
            client.post("/report", data={"csrf": token, "what": f"tin {n}"}).status_code
        )
    assert statuses[:5] == [200] * 5 and statuses[-1] == 429


def test_html_in_a_report_is_escaped(client) -> None:  # type: ignore[no-untyped-def]
    webform._limiter.storage.reset()
    token = _csrf(client.get("/report").text)
    page = client.post("/report", data={"csrf": token, "what": "", "where": "<script>x()</script>"})
    assert "<script>x()</script>" not in page.text and "&lt;script&gt;" in page.text


def test_choosing_a_province_keeps_what_was_typed(client) -> None:  # type: ignore[no-untyped-def]
    token = _csrf(client.get("/report").text)
    chosen = client.post(
        "/report",
        data={
            "csrf": token,
            "what": "Em bé hàng xóm bị đánh mỗi tối",
            "where": "thôn 3",
            "age": "7",
            "province": "38",
            "choose": "1",
        },
    )
    assert chosen.status_code == 200
    assert "Em bé hàng xóm bị đánh mỗi tối" in chosen.text and 'value="thôn 3"' in chosen.text
    assert 'name="ward"' in chosen.text and "Xã Thiệu Trung" in chosen.text
    assert "111-" not in chosen.text  # nothing filed yet
