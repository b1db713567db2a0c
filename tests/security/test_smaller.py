"""Issue 19 item 8, the console and API parts: headers, redirects, error text, metrics,
audited queue views, bad numbers, bidi controls, gzip bombs."""

from __future__ import annotations

import gzip
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from intake.store.models import AuditEntry


def test_every_page_carries_the_security_headers(world) -> None:  # type: ignore[no-untyped-def]
    world.sign_in("operator")
    for path in (
        "/console/login",
        "/console/",
        f"/console/incidents/{world.incident_id}",
        "/report",
        "/healthz",
    ):
        answer = world.client.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
    for path in ("/console/", f"/console/incidents/{world.incident_id}"):
        assert world.client.get(path).headers["cache-control"] == "no-store"
    page = world.client.get("/console/").text
    assert "<script>" not in page  # the queue's script is a file the policy allows


def test_language_switch_redirects_only_inside_the_console(world) -> None:  # type: ignore[no-untyped-def]
    for referer in (
        "https://evil.example/console/x",
        "https://evil.example/?/console",
        "//evil.example/console/",
        "/console//evil.example",
    ):
        answer = world.client.get(
            "/console/lang?to=en", headers={"Referer": referer}, follow_redirects=False
        )
        location = answer.headers["location"]
        assert location.startswith("/console/") and "//" not in location, referer
    back = world.client.get(
        "/console/lang?to=vi",
        headers={"Referer": "https://testserver/console/stats?x=1"},
        follow_redirects=False,
    )
    assert back.headers["location"] == "/console/stats?x=1"


def test_the_incident_page_takes_no_error_text_or_status_from_the_url(world) -> None:  # type: ignore[no-untyped-def]
    world.sign_in("operator")
    url = f"/console/incidents/{world.incident_id}"
    lure = world.client.get(url + "?error=Call+0900+123+456+now&status=0")
    assert lure.status_code == 200 and "0900 123 456" not in lure.text


def test_bad_numbers_are_400_not_500(world) -> None:  # type: ignore[no-untyped-def]
    world.sign_in("operator")
    for path in (
        "/console/?province=²",
        "/console/queue?province=١٢",
        "/console/?province=9" * 3,
        f"/console/incidents/{world.incident_id}?province=²",
    ):
        assert world.client.get(path).status_code == 400, path
    assert world.client.get("/console/?level=P9").status_code == 400


def test_metrics_are_not_anonymous(world, services) -> None:  # type: ignore[no-untyped-def]
    assert world.client.get("/metrics").status_code == 401
    wrong = world.client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    scrape = world.client.get("/metrics", headers={"Authorization": "Bearer test-metrics-token"})
    assert scrape.status_code == 200 and "hotline111_tips_received_total" in scrape.text
    # Without a token configured: loopback only, and no per-unit (commune) series.
    services.settings.metrics_token = None
    from intake.web.app import create_app

    app = create_app(services.settings, services)
    remote = TestClient(app, client=("198.51.100.4", 1)).get("/metrics")
    assert remote.status_code == 403
    local = TestClient(app, client=("127.0.0.1", 1)).get("/metrics")
    assert local.status_code == 200 and "hotline111_alerts" in local.text
    assert "unit=" not in local.text and "cp-15835" not in local.text


def test_queue_views_are_audited(world) -> None:  # type: ignore[no-untyped-def]
    world.sign_in("police")
    world.client.get("/console/")
    with world.services.db.reader() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "queue_view")).all()
    assert entries and entries[-1].username == "police"
    assert world.incident_id in entries[-1].detail["ids"]


def test_bidi_controls_in_a_tip_are_shown_neutralised(world, drain) -> None:  # type: ignore[no-untyped-def]
    tip = {"text": "con tôi bị đánh \u202egpj.exe\u202c ở xã Thiệu Trung", "external_id": "bidi"}
    made = world.client.post("/api/v1/tips", json=tip, headers=world.tokens["partner"]).json()
    drain()
    world.sign_in("operator")
    page = world.client.get(f"/console/incidents/{made['id']}").text
    assert "\u202e" not in page and "[U+202E]" in page


def test_a_gzip_bomb_directory_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    world.sign_in("admin")
    bomb = gzip.compress(b"0" * (80 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200_000
    answer = world.client.post(
        "/console/admin/directory",
        data={"csrf": world.csrf()},
        files={"file": ("units.csv.gz", bomb, "application/gzip")},
    )
    assert answer.status_code == 413


def test_console_shows_words_not_identifiers(world) -> None:  # type: ignore[no-untyped-def]
    world.sign_in("operator")
    page = world.client.get(f"/console/incidents/{world.incident_id}").text
    heading = re.search(r"<h2>(.*?)</h2>", page, re.S)
    assert heading
    assert "Đã chuyển đơn vị" in heading.group(1) or "Đơn vị đã nhận" in heading.group(1)
    assert "routed" not in heading.group(1) and "triaged" not in heading.group(1)
    rows = world.client.get("/console/queue").text
    assert ">routed<" not in rows and ">triaged<" not in rows and "Đối tác (API)" in rows


def test_staff_download_the_report_units_do_not(world) -> None:  # type: ignore[no-untyped-def]
    query = "/console/report?date_from=2020-01-01&date_to=2021-06-30&format=csv"
    world.sign_in("police")
    assert world.client.get(query).status_code == 403
    world.sign_in("operator")
    report = world.client.get(query)
    assert report.status_code == 200 and report.text.startswith("table,key,count")
    assert world.client.get(query + "&unsuppressed=1").status_code == 403
    world.sign_in("supervisor")
    assert world.client.get(query + "&unsuppressed=1").status_code == 200


def test_the_web_form_takes_odd_digits_without_a_500(world) -> None:  # type: ignore[no-untyped-def]
    from intake.web import webform

    webform._limiter.storage.reset()
    page = world.client.get("/report?province=²")
    assert page.status_code == 200
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    sent = world.client.post(
        "/report",
        data={
            "csrf": token.group(1),
            "what": "em bị đánh",
            "province": "²",
            "ward": "³",
            "age": "¹²",
        },
    )
    assert sent.status_code == 200
