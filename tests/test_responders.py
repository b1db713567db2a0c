"""The responders' loop through the fake Telegram: a tipster's "ok <ref>" is their words,
a unit's chat message is the unit's (acknowledgement, outcome or update), never a tip."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from intake.pipeline.responders import read_outcome
from intake.store.models import Assignment, Event, InboxItem, Incident, Job, Message, utcnow
from tests.fakes.telegram import press
from tests.telegram_wiring import TIP, drain, post_as_telegram, post_update, tip_update

POLICE_CHAT, SOCIAL_CHAT = -1009991158351, -1009991158352


def _report(services, client, chat: int = 700101) -> str:  # type: ignore[no-untyped-def]
    answer = post_update(client, tip_update(1, chat, TIP))
    drain(services)
    return str(json.loads(answer.text)["text"].split("Mã tin báo: ")[1].split(".")[0])


def _group_message(update_id: int, chat: int, text: str) -> dict[str, object]:
    update = tip_update(update_id, chat, text)
    update["message"]["chat"]["type"] = "group"  # type: ignore[index]
    return update


def _incidents(services) -> int:  # type: ignore[no-untyped-def]
    with services.db.reader() as session:
        return int(session.scalar(select(func.count()).select_from(Incident)) or 0)


def test_a_tipsters_ok_reference_follow_up_joins_their_incident(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, _ = wired
    reference = _report(services, client)
    follow_up = f"ok {reference} bố lại đánh em, em đang bị nhốt trong nhà kho"
    assert post_update(client, tip_update(2, 700101, follow_up)).status_code == 200
    drain(services)
    with services.db.reader() as session:
        incident = session.scalars(select(Incident)).one()
        texts = session.scalars(select(Message.text).where(Message.incident_id == incident.id))
        assert follow_up in list(texts)
        assert (
            session.scalars(select(Assignment).where(Assignment.acknowledged_at.is_not(None))).all()
            == []
        )  # nobody was acknowledged by the tipster


def test_a_units_chat_message_is_an_update_and_opens_nothing(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    reference = _report(services, client)
    sent_before = len(recorder.named("sendMessage"))
    answer = post_update(
        client, _group_message(3, SOCIAL_CHAT, "Cán bộ xã đã gọi cho nhà trường, chiều nay gặp")
    )
    assert answer.status_code == 200
    assert "Mã tin báo" not in answer.text  # no tipster's receipt for a unit
    drain(services)
    assert _incidents(services) == 1
    with services.db.reader() as session:
        update = session.scalars(select(Event).where(Event.action == "unit_update")).one()
        assert update.detail["unit_id"] == "sw-15835" and "nhà trường" in update.detail["text"]
        incident = session.get(Incident, update.incident_id)
        assert incident is not None and incident.reference == reference
    assert len(recorder.named("sendMessage")) == sent_before


def test_outcome_by_keyword_acknowledges_and_does_not_close(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, _ = wired
    reference = _report(services, client)
    words = f"Đã đến nơi {reference}, cháu đã được đưa về nhà bà ngoại"
    assert post_update(client, _group_message(4, POLICE_CHAT, words)).status_code == 200
    drain(services)
    with services.db.reader() as session:
        incident = session.scalars(select(Incident)).one()
        assert incident.status == "acknowledged"  # the hotline closes it, not a unit
        outcome = session.scalars(select(Event).where(Event.action == "unit_outcome")).one()
        assert outcome.detail == {
            "unit_id": "cp-15835",
            "outcome": "on_site",
            "text": "cháu đã được đưa về nhà bà ngoại",
        }
        police, social = (
            session.scalars(
                select(Assignment).where(Assignment.unit_id == unit).order_by(Assignment.id)
            ).first()
            for unit in ("cp-15835", "sw-15835")
        )
        assert police is not None and police.acknowledged_at is not None
        assert social is not None and social.acknowledged_at is None
        timers = session.scalars(
            select(Job.key).where(Job.kind == "escalate", Job.state == "pending")
        ).all()
        assert timers == [str(social.id)]  # the silent unit still escalates


def test_a_units_message_naming_no_incident_waits_for_an_operator(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, _ = wired
    assert post_update(client, _group_message(5, POLICE_CHAT, "Đã xử lý xong")).status_code == 200
    drain(services)
    assert _incidents(services) == 0
    with services.db.reader() as session:
        states = session.scalars(select(InboxItem.state)).all()
    assert states == ["unit_unmatched"]


def test_read_outcome() -> None:
    assert read_outcome("Đã nhận, công an xã đang đến nhà") == (
        "received",
        "công an xã đang đến nhà",
    )
    assert read_outcome("da xu ly 111-2612-0002: da ban giao") == ("handled", "da ban giao")
    assert read_outcome("OK") == ("received", "")
    assert read_outcome("okay 111-2612-0002") == ("received", "")
    assert read_outcome("Không xác minh được địa chỉ") == ("unverified", "địa chỉ")
    assert read_outcome("Chiều nay xã sẽ đến") == (None, "Chiều nay xã sẽ đến")
    assert read_outcome("okie") == (None, "okie")


def test_escalation_names_the_silent_unit_and_p1_reminders_go_on(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    services.routing = dataclasses.replace(
        services.routing, ack_deadlines={"P1": timedelta(0), "P2": timedelta(0), "P3": timedelta(0)}
    )
    _report(services, client, chat=700102)
    escalated = [c for c in recorder.named("sendMessage") if "CHUYỂN CẤP" in c["text"]]
    assert escalated and all("chưa xác nhận" in c["text"] for c in escalated)
    assert any("[DEMO] Công an" in c["text"].split("\n")[0] for c in escalated)
    for _ in range(3):  # three reminder periods later, still nobody acknowledged
        with services.db.writer() as session:
            session.execute(
                update(Job)
                .where(Job.kind == "escalate", Job.state == "pending")
                .values(run_at=utcnow() - timedelta(seconds=1))
            )
        drain(services)
    with services.db.reader() as session:
        reminded = session.scalars(select(Event).where(Event.action == "reminded")).all()
        pending = session.scalars(
            select(Job).where(Job.kind == "escalate", Job.state == "pending")
        ).all()
    assert len(reminded) >= 3
    assert pending and all(j.run_at > utcnow() + timedelta(minutes=10) for j in pending)


def test_a_p1_without_a_place_alerts_the_duty_supervisor_at_once(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    started = time.monotonic()
    post_update(client, tip_update(9, 700103, "cuu em, bo em dang danh em chay mau"))
    drain(services)
    assert time.monotonic() - started < 10
    with services.db.reader() as session:
        incident = session.scalars(select(Incident)).one()
        assert incident.level == "P1" and incident.ward_code is None
        units = session.scalars(select(Assignment.unit_id)).all()
    assert units == ["supervisor"]
    assert any(incident.reference in c["text"] for c in recorder.named("sendMessage"))


def test_a_follow_up_after_the_alert_reaches_the_units_once(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    reference = _report(services, client, chat=700104)
    post_update(client, tip_update(10, 700104, "chau 8 tuoi, ong ay vua quay lai nha"))
    drain(services)
    post_update(client, tip_update(10, 700104, "chau 8 tuoi, ong ay vua quay lai nha"))  # again
    drain(services)
    updates = [c for c in recorder.named("sendMessage") if "CẬP NHẬT" in c["text"]]
    assert {str(c["chat_id"]) for c in updates} == {str(POLICE_CHAT), str(SOCIAL_CHAT)}
    assert len(updates) == 2
    assert all(reference in c["text"] and "vua quay lai nha" in c["text"] for c in updates)


def test_a_merge_moves_messages_tells_units_and_stops_escalation(wired) -> None:  # type: ignore[no-untyped-def]
    from intake.pipeline.merge import merge_into

    services, client, recorder = wired
    first = _report(services, client, chat=700105)
    post_update(client, tip_update(20, 700106, TIP + ". Toi la hang xom"))
    drain(services)
    with services.db.writer() as session:
        survivor, duplicate = session.scalars(select(Incident).order_by(Incident.id)).all()
        assert survivor.reference == first
        moved = merge_into(
            session=session,
            services=services,
            duplicate=duplicate,
            survivor=survivor,
            actor="user:1",
        )
        duplicate_reference = duplicate.reference
    assert moved >= 1  # the tip, and what the hotline sent its tipster
    drain(services)
    with services.db.reader() as session:
        survivor = session.scalars(select(Incident).where(Incident.reference == first)).one()
        texts = session.scalars(select(Message.text).where(Message.incident_id == survivor.id))
        assert any("hang xom" in t for t in texts)
        timers = session.scalars(
            select(Job.key).where(Job.kind == "escalate", Job.state == "pending")
        ).all()
        duplicate_ids = session.scalars(
            select(Assignment.id)
            .join(Incident, Incident.id == Assignment.incident_id)
            .where(Incident.reference == duplicate_reference)
        ).all()
        assert not set(timers) & {str(i) for i in duplicate_ids}
        actions = {e.action for e in session.scalars(select(Event))}
        assert {"merged_into", "merged_from"} <= actions
    notices = [c for c in recorder.named("sendMessage") if "ĐÃ GỘP" in c["text"]]
    assert len(notices) == 2 and all(first in c["text"] for c in notices)
    assert not any(c.get("reply_markup") for c in notices)  # nothing to answer about it
    # The duplicate's tipster writes again: it joins the incident that goes on.
    post_update(client, tip_update(21, 700106, "ong ta lai den"))
    drain(services)
    assert _incidents(services) == 2


def test_alerts_say_it_in_words_and_sms_fits_two_segments(wired) -> None:  # type: ignore[no-untyped-def]
    from intake.pipeline.alerts import SMS_CHARACTERS, alert_text

    services, client, recorder = wired
    reference = _report(services, client, chat=700107)
    units = {str(POLICE_CHAT), str(SOCIAL_CHAT)}
    sent = [
        c["text"]
        for c in recorder.named("sendMessage")
        if reference in c["text"] and str(c["chat_id"]) in units
    ]
    assert sent and all("bạo lực thể chất" in t and "physical_abuse" not in t for t in sent)
    assert all("Báo lúc:" in t and "(giờ Việt Nam)" in t for t in sent)
    assert all("gọi Tổng đài 111" in t for t in sent)
    with services.db.reader() as session:
        incident = session.scalars(select(Incident)).one()
        incident.summary = "bố em đang đánh em bằng gậy " * 40  # a long story
        sms = alert_text(incident=incident, services=services, session=session, compact=True)
    assert len(sms) <= SMS_CHARACTERS and sms.isascii()
    assert not set(sms) & set("[]{}~^\\|`")  # GSM-7 basic alphabet: one character each
    assert reference in sms and f"OK {reference}" in sms and "/console/incidents/" in sms


def test_outcome_buttons_on_the_alert_record_the_units_outcome(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    reference = _report(services, client, chat=700108)
    (alert,) = [c for c in recorder.named("sendMessage") if str(c["chat_id"]) == str(POLICE_CHAT)]
    labels = [b["text"] for row in alert["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [
        "Đã nhận",
        "Đang xác minh",
        "Đã đến nơi",
        "Đã xử lý",
        "Không xác minh được",
        "Chuyển cơ quan khác",
    ]
    answer = post_as_telegram(
        client, recorder, press(recorder, POLICE_CHAT, "Đã đến nơi", update_id=30)
    )
    assert json.loads(answer.text)["method"] == "answerCallbackQuery"
    (answered,) = recorder.named("answerCallbackQuery")
    assert answered["failed"] is None and reference in answered["text"]
    drain(services)
    assert _incidents(services) == 1
    with services.db.reader() as session:
        outcome = session.scalars(select(Event).where(Event.action == "unit_outcome")).one()
        assert outcome.detail == {"unit_id": "cp-15835", "outcome": "on_site"}
        assert outcome.actor == "unit:cp-15835"
        police, social = (
            session.scalars(select(Assignment).where(Assignment.unit_id == unit)).one()
            for unit in ("cp-15835", "sw-15835")
        )
        assert police.acknowledged_at is not None and police.acknowledged_via == "telegram"
        assert social.acknowledged_at is None  # the other unit still escalates
        incident = session.scalars(select(Incident)).one()
        assert incident.status == "acknowledged"  # not closed by a unit


def test_a_button_pressed_outside_the_units_chat_records_nothing(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    _report(services, client, chat=700109)
    pressed = press(recorder, POLICE_CHAT, "Đã xử lý", update_id=31)
    pressed["callback_query"]["message"]["chat"]["id"] = 700109  # type: ignore[index]
    post_as_telegram(client, recorder, pressed)  # the tipster's chat: not the unit's
    drain(services)
    assert _incidents(services) == 1
    with services.db.reader() as session:
        assert session.scalars(select(Event).where(Event.action == "unit_outcome")).all() == []
        acked = session.scalars(select(Assignment).where(Assignment.acknowledged_at.is_not(None)))
        assert acked.all() == []
        texts = session.scalars(select(Message.text).where(Message.direction == "in")).all()
        assert len(texts) == 1  # nothing joined the tipster's conversation either


def test_the_operators_summary_reaches_the_units_already_alerted(wired) -> None:  # type: ignore[no-untyped-def]
    from intake.store.auth import create_user
    from intake.store.models import Role
    from tests.test_console import PASSWORD, csrf, sign_in, version

    services, client, recorder = wired
    reference = _report(services, client, chat=700110)
    with services.db.writer() as session:
        create_user(session=session, username="lan", role=Role.OPERATOR, password=PASSWORD)
        incident_id = session.scalars(select(Incident.id)).one()
    client.base_url = "https://testserver"  # the console's cookies are for https
    sign_in(client, "lan")
    url = f"/console/incidents/{incident_id}"
    summary = "Đã gọi lại người báo: cháu 9 tuổi, mẹ đi làm xa, bố hay say rượu"
    for text, to_units in (("chỉ nội bộ: gọi lại sau 17h", False), (summary, True)):
        page = client.get(url).text
        form = {"csrf": csrf(page), "version": version(page), "action": "note", "text": text}
        posted = client.post(url + "/act", data={**form, "to_units": "1"} if to_units else form)
        assert posted.status_code == 200
    drain(services)
    updates = [c for c in recorder.named("sendMessage") if "CẬP NHẬT" in c["text"]]
    assert sorted(str(c["chat_id"]) for c in updates) == sorted(
        [str(POLICE_CHAT), str(SOCIAL_CHAT)]
    )
    assert all(
        reference in c["text"] and f"Tổng đài 111 tóm tắt: {summary}" in c["text"] for c in updates
    )
    assert not any("chỉ nội bộ" in c["text"] for c in recorder.named("sendMessage"))
    with services.db.reader() as session:
        notes = session.scalars(select(Event).where(Event.action == "note").order_by(Event.id))
        assert [n.detail.get("to_units") for n in notes] == [None, ["cp-15835", "sw-15835"]]


def test_a_follow_up_reaches_the_units_without_the_tipsters_number(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    _report(services, client, chat=700111)
    post_update(client, tip_update(40, 700111, "goi lai cho em so 0912 345 678, ong ay da ve"))
    drain(services)
    updates = [c["text"] for c in recorder.named("sendMessage") if "CẬP NHẬT" in c["text"]]
    assert len(updates) == 2 and all("ong ay da ve" in t for t in updates)
    assert not any("345 678" in t for t in updates)  # no consent to share: masked


def test_the_queue_names_the_silent_unit_after_another_acknowledged(wired) -> None:  # type: ignore[no-untyped-def]
    from intake.store.auth import create_user
    from intake.store.models import Role
    from tests.test_console import PASSWORD, sign_in

    services, client, _ = wired
    reference = _report(services, client, chat=700112)
    with services.db.writer() as session:
        create_user(session=session, username="lan", role=Role.OPERATOR, password=PASSWORD)
    client.base_url = "https://testserver"
    sign_in(client, "lan")

    def shown() -> str:
        return re.sub(r"<[^>]+>", "", client.get("/console/queue").text)

    assert re.search(r"Xã Thiệu Trung chưa xác nhận \(\+1\), còn 0:1\d", shown())
    post_update(client, _group_message(41, POLICE_CHAT, f"OK {reference}"))
    drain(services)
    rows = shown()
    assert re.search(r"\[DEMO\] Cán bộ xã hội Xã Thiệu Trung chưa xác nhận, còn 0:1\d", rows)
    assert "Công an Xã Thiệu Trung chưa xác nhận" not in rows
    with services.db.writer() as session:  # its deadline passes
        for assignment in session.scalars(select(Assignment)):
            assignment.created_at -= timedelta(minutes=22)
    assert re.search(r"Cán bộ xã hội Xã Thiệu Trung chưa xác nhận, quá 0:0\d", shown())


def test_unit_messages_nobody_matched_wait_for_an_operator(wired) -> None:  # type: ignore[no-untyped-def]
    from intake.store.auth import create_user
    from intake.store.models import AuditEntry, Role
    from tests.test_console import PASSWORD, csrf, sign_in

    services, client, _ = wired
    post_update(client, _group_message(50, POLICE_CHAT, "Đã xử lý xong vụ ở thôn 3"))
    post_update(client, _group_message(51, SOCIAL_CHAT, "Nhầm nhóm, xin bỏ qua"))
    drain(services)
    reference = _report(services, client, chat=700113)
    with services.db.writer() as session:
        create_user(session=session, username="lan", role=Role.OPERATOR, password=PASSWORD)
        first, second = session.scalars(
            select(InboxItem.id).where(InboxItem.state == "unit_unmatched").order_by(InboxItem.id)
        ).all()
    client.base_url = "https://testserver"
    sign_in(client, "lan")
    assert "2 tin chờ xử lý" in client.get("/console/").text
    page = client.get("/console/inbox").text
    assert "Đã xử lý xong vụ ở thôn 3" in page and "[DEMO] Công an Xã Thiệu Trung" in page
    token = csrf(page)
    attached = client.post(
        f"/console/inbox/{first}", data={"csrf": token, "do": "attach", "reference": reference}
    )
    assert f"Đã gắn vào {reference}" in attached.text
    client.post(f"/console/inbox/{second}", data={"csrf": token, "do": "dismiss"})
    again = client.post(f"/console/inbox/{second}", data={"csrf": token, "do": "dismiss"})
    assert again.status_code == 404  # decided already
    assert "Không có tin nào chờ xử lý." in client.get("/console/inbox").text
    assert "tin chờ xử lý</a>" not in client.get("/console/").text
    with services.db.reader() as session:
        outcome = session.scalars(select(Event).where(Event.action == "unit_outcome")).one()
        assert outcome.detail == {
            "unit_id": "cp-15835",
            "outcome": "handled",
            "text": "xong vụ ở thôn 3",
        }
        assert session.scalars(select(Event.action).where(Event.action == "message_attached")).one()
        states = dict(session.execute(select(InboxItem.id, InboxItem.state)).all())
        assert (states[first], states[second]) == ("unit_message", "dismissed")
        audited = session.scalars(select(AuditEntry.action).where(AuditEntry.username == "lan"))
        assert {"inbox_view", "inbox_attach", "inbox_dismiss"} <= set(audited)
