"""A level triage is not sure of is marked "needs review" in the incident, the queue and
the API, with its reason; an operator's level clears the mark (issue 15, point 1)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from intake.store import jobs
from intake.store.models import Event, Incident
from tests import test_console
from tests.test_console import csrf, sign_in, version
from triage import classify

console = test_console.console  # the signed-out console client fixture, shared

# Someone may be at risk, and nothing says what happens: the tips a person should read.
# The test takes the first that the rules in force mark for review (they are tuned apart).
VAGUE = (
    "bé nhà bên sợ lắm không dám về nhà, giúp bé với, ở Thiệu Trung Thanh Hóa",
    "em ấy không dám về nhà, em ấy sợ lắm. xã Thiệu Trung Thanh Hóa",
    "cháu nó sợ lắm, không dám về nhà, giúp cháu với. Nhà ở xã Thiệu Trung, Thanh Hóa",
)
CLEAR = "bố dượng đang đánh bé bằng gậy, bé chảy máu đầu. xã Thiệu Trung, Thanh Hóa"


def _vague(services: Any) -> str:
    marked = [
        t for t in VAGUE if classify(t, rules=services.pipeline.rules, channel="api").needs_review
    ]
    assert marked, "the rules mark none of the vague tips for review"
    return marked[0]


def _tip(client: Any, partner: dict[str, str], text: str, key: str) -> int:
    answer = client.post("/api/v1/tips", json={"text": text, "external_id": key}, headers=partner)
    assert answer.status_code in (200, 201, 202), answer.text
    return int(answer.json()["id"])


def test_marked_in_the_api_and_cleared_by_a_level(  # type: ignore[no-untyped-def]
    client, make_user, drain, services, console
) -> None:
    partner, operator = make_user("p", "partner"), make_user("op", "operator")
    vague = _tip(client, partner, _vague(services), "r-1")
    clear = _tip(client, partner, CLEAR, "r-2")
    drain()
    url = f"/api/v1/incidents/{vague}"
    case = client.get(url, headers=operator).json()
    assert case["needs_review"] is True and case["level"] in {"P1", "P2", "P3"}
    assert (
        client.get(f"/api/v1/incidents/{clear}", headers=operator).json()["needs_review"] is False
    )

    def listed(**params: str) -> dict[int, bool]:
        found = client.get("/api/v1/incidents", params=params, headers=operator).json()
        return {item["id"]: item["needs_review"] for item in found["items"]}

    assert listed(needs_review="true") == {vague: True}
    assert listed(needs_review="false") == {clear: False}
    assert listed() == {vague: True, clear: False}

    # the operator keeps triage's level: saying so is the review
    reviewed = client.patch(
        url,
        json={"level": case["level"], "reason": "đã đọc tin", "version": case["version"]},
        headers=operator,
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["needs_review"] is False and reviewed.json()["level"] == case["level"]
    with services.db.writer() as session:  # a follow-up runs triage again: the mark stays off
        jobs.enqueue(session=session, kind="process", key=str(vague))
    drain()
    assert client.get(url, headers=operator).json()["needs_review"] is False
    with services.db.reader() as session:
        (event,) = session.scalars(
            select(Event).where(Event.incident_id == vague, Event.action == "reviewed")
        ).all()
    assert event.actor == "user:op" and event.detail == {"level": case["level"]}


def test_marked_in_the_queue_and_on_the_page_with_its_reason(  # type: ignore[no-untyped-def]
    client, make_user, drain, services, console
) -> None:
    partner = make_user("p", "partner")
    vague = _tip(client, partner, _vague(services), "r-1")
    clear = _tip(client, partner, CLEAR, "r-2")
    drain()
    sign_in(console, "lan")

    def row(html: str, incident_id: int) -> str | None:
        found = re.search(
            rf'<tr data-href="/console/incidents/{incident_id}".*?</tr>', html, re.DOTALL
        )
        return found.group(0) if found else None

    queue = console.get("/console/").text
    assert 'name="needs_review"' in queue
    assert "cần xem lại" in (row(queue, vague) or "") and "cần xem lại" not in (
        row(queue, clear) or "x"
    )
    only = console.get("/console/", params={"needs_review": "1"}).text
    assert row(only, vague) and not row(only, clear)

    page = console.get(f"/console/incidents/{vague}").text
    assert 'class="rv"' in page and "Cần xem lại" in page
    with services.db.reader() as session:
        incident = session.get(Incident, vague)
        assert incident is not None and incident.needs_review
        why = [r["text"] for r in incident.reasons if "review" in r.get("effect", "")]
    assert why and all(w.replace('"', "&#34;") in page or w in page for w in why)

    answer = console.post(
        f"/console/incidents/{vague}/act",
        data={
            "csrf": csrf(page),
            "version": version(page),
            "action": "level",
            "level": "P2",
            "reason": "đã gọi lại người báo",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[-400:]
    page = console.get(f"/console/incidents/{vague}").text
    assert 'id="review"' not in page and "Đã xem lại mức độ" in page
    assert "cần xem lại" not in (row(console.get("/console/").text, vague) or "")
    assert not row(console.get("/console/", params={"needs_review": "1"}).text, vague)
