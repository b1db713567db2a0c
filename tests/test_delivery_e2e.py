"""End to end: a signed tip in -> incident -> routed -> alert at the fake provider ->
acknowledged by the provider's callback; escalation; delivery under random failures."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

from sqlalchemy import select, text, update

from intake.store.models import Alert, Assignment, Incident, Job, utcnow
from tests.telegram_wiring import TIP, drain, post_update, tip_update


def test_tip_to_alert_to_acknowledgement(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    answer = post_update(client, tip_update(1, 700001, TIP))
    assert answer.status_code == 200
    reference = json.loads(answer.text)["text"].split("Mã tin báo: ")[1].split(".")[0]
    assert post_update(client, tip_update(1, 700001, TIP)).status_code == 200  # redelivery
    drain(services)

    with services.db.reader() as session:
        incident = session.scalars(select(Incident)).one()
        assert incident.reference == reference and incident.level == "P1"
        assert incident.ward_code == 15835 and incident.status == "routed"
    # the units' alerts (the tipster, chat 700001, is asked for consent: test_desk_consent)
    alerts = [c for c in recorder.named("sendMessage") if str(c["chat_id"]) != "700001"]
    police_chat = "-1009991158351"
    assert {str(c["chat_id"]) for c in alerts} == {police_chat, "-1009991158352"}
    assert all(reference in c["text"] and "Người báo: bảo mật" in c["text"] for c in alerts)
    assert all("em o xa" not in c["text"].split("Người báo")[1] for c in alerts)

    button = {
        "update_id": 2,
        "callback_query": {
            "id": "cb-1",
            "chat_instance": "ci",
            "data": f"ack:{reference}",
            "from": {"id": 1, "is_bot": False, "first_name": "Cong an xa"},
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": int(police_chat), "type": "group"},
            },
        },
    }
    answer = post_update(client, button)
    assert json.loads(answer.text)["method"] == "answerCallbackQuery"
    drain(services)
    with services.db.reader() as session:
        incident = session.scalars(select(Incident)).one()
        assert incident.status == "acknowledged"
        acked = session.scalars(
            select(Assignment).where(Assignment.acknowledged_at.is_not(None))
        ).all()
        assert [a.unit_id for a in acked] == ["cp-15835"]
        assert acked[0].acknowledged_via == "telegram"
        pending_timers = session.scalars(
            select(Job).where(Job.kind == "escalate", Job.state == "pending")
        ).all()
        assert len(pending_timers) == 1  # the social worker has not acknowledged yet
    # /metrics is no longer anonymous (issue 19): the scrape token of the test settings.
    scrape = {"Authorization": "Bearer test-metrics-token"}
    metrics = client.get("/metrics", headers=scrape).text
    assert 'hotline111_unit_ack_seconds_mean{unit="cp-15835"}' in metrics
    assert 'hotline111_alerts{state="acknowledged"} 1.0' in metrics


def test_unacknowledged_alert_escalates_two_steps(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    services.routing = dataclasses.replace(
        services.routing, ack_deadlines={"P1": timedelta(0), "P2": timedelta(0), "P3": timedelta(0)}
    )
    assert post_update(client, tip_update(5, 700002, TIP)).status_code == 200
    drain(services)
    with services.db.reader() as session:
        units = set(session.scalars(select(Assignment.unit_id)))
        reasons = {a.unit_id: a.reason for a in session.scalars(select(Assignment))}
    assert units == {"cp-15835", "sw-15835", "pp-38", "ps-38", "supervisor"}
    assert reasons["pp-38"].startswith("escalation step 1: cp-15835")
    assert reasons["supervisor"].startswith("escalation step 2")
    reminders = [c for c in recorder.named("sendMessage") if "NHẮC LẠI" in c["text"]]
    assert {str(c["chat_id"]) for c in reminders} >= {"-1009991158351", "-1009991158352"}


def test_random_provider_failures_deliver_each_alert_exactly_once(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    recorder.fail_rate = 0.5
    for n in range(8):
        tip = f"{TIP}. Tin thu {n}"
        assert post_update(client, tip_update(100 + n, 800000 + n, tip)).status_code == 200
    for _ in range(60):
        drain(services)
        with services.db.writer() as session:
            waiting = session.execute(
                update(Job)
                .where(Job.kind == "deliver", Job.state == "pending")
                .values(run_at=utcnow() - timedelta(seconds=1))  # fast-forward the backoff
            ).rowcount
        if not waiting:
            break
    with services.db.reader() as session:
        alerts = session.scalars(select(Alert)).all()
        references = dict(session.execute(text("SELECT id, reference FROM incidents")).all())
    assert len(alerts) == 16 and all(a.state == "sent" for a in alerts)
    # the units' alerts, not the consent question each tipster (chat 8000xx) is asked
    delivered = [
        c
        for c in recorder.named("sendMessage")
        if not c["failed"] and not str(c["chat_id"]).startswith("8000")
    ]
    failed = [c for c in recorder.named("sendMessage") if c["failed"]]
    assert failed, "the fake did fail some calls"
    pairs = [(str(c["chat_id"]), c["text"].split(" — ")[0]) for c in delivered]
    assert len(pairs) == len(set(pairs)) == 16  # once per (incident, unit), no duplicates
    assert {p[1].removeprefix("[111] ") for p in pairs} == set(references.values())
