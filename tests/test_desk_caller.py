"""The caller's relation and consent, corrected after a call; a consent given after the
alert (by the operator, in the chat, on the IVR) reaches the units alerted before it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from channels.twilio_voice import TwilioVoiceAdapter
from intake.pipeline.inbox import accept
from intake.store.auth import create_token, create_user
from intake.store.models import AuditEntry, Event, Incident, Role
from tests.channels.test_adapters import BASE, TWILIO_TOKEN, twilio_request
from tests.telegram_wiring import TIP, drain, post_update, tip_update
from tests.test_desk_api import _file
from tests.test_operator_actions import _load_units

UNIT_CHATS = {"-1009991158351", "-1009991158352"}  # the demo commune's police, social worker


def _operator(services: Any, username: str = "lan") -> dict[str, str]:
    with services.db.writer() as session:
        create_user(
            session=session,
            username=username,
            role=Role.OPERATOR,
            password="correct horse battery",
        )
        token = create_token(session=session, username=username)
    return {"Authorization": f"Bearer {token}"}


def _consent_updates(recorder: Any) -> list[dict[str, Any]]:
    return [
        c
        for c in recorder.named("sendMessage")
        if "CẬP NHẬT" in c["text"] and "đồng ý để đơn vị liên hệ" in c["text"]
    ]


def _events(services: Any, incident_id: int, action: str) -> list[Event]:
    with services.db.reader() as session:
        return list(
            session.scalars(
                select(Event)
                .where(Event.incident_id == incident_id, Event.action == action)
                .order_by(Event.id)
            )
        )


def test_relation_and_consent_are_corrected_on_the_timeline_and_audited(  # type: ignore[no-untyped-def]
    client, make_user, drain, services, geography
) -> None:
    _load_units(services, geography)
    operator = make_user("lan", "operator")
    filed = _file(client, operator)
    drain()
    url = f"/api/v1/incidents/{filed['id']}"
    case = client.get(url, headers=operator).json()
    assert case["caller"] == {"relation": "neighbour", "consent": False}
    bad = client.patch(url, json={"caller": {"relation": "stranger"}}, headers=operator)
    assert bad.status_code == 400  # not a relation the form offers
    fixed = client.patch(
        url,
        json={"caller": {"relation": "relative", "consent": True}, "version": case["version"]},
        headers=operator,
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["caller"] == {"relation": "relative", "consent": True}
    assert fixed.json()["victim"]["age"] == 9  # what was not named is unchanged
    relation = [
        e.detail
        for e in _events(services, filed["id"], "corrected")
        if e.detail.get("field") == "caller.relation"
    ]
    assert relation == [{"field": "caller.relation", "from": "neighbour", "to": "relative"}]
    (consent,) = _events(services, filed["id"], "consent")
    assert consent.actor == "user:lan" and consent.detail == {"consent": True, "from": False}
    # the same again changes nothing and writes nothing
    again = client.patch(url, json={"caller": {"consent": True}}, headers=operator)
    assert again.status_code == 200 and len(_events(services, filed["id"], "consent")) == 1
    with services.db.reader() as session:
        audited = session.scalars(
            select(AuditEntry).where(
                AuditEntry.incident_id == filed["id"], AuditEntry.action == "consent"
            )
        ).all()
    assert [(a.username, a.detail) for a in audited] == [("lan", {"consent": True})]


def test_consent_recorded_after_the_alert_sends_the_units_the_number(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    operator = _operator(services)
    filed = _file(client, operator)  # the caller did not agree at first
    drain(services)
    alerted = [c for c in recorder.named("sendMessage") if filed["reference"] in c["text"]]
    assert {str(c["chat_id"]) for c in alerted} >= UNIT_CHATS
    assert not any("0912 345 678" in c["text"] for c in alerted)
    assert not _consent_updates(recorder)

    url = f"/api/v1/incidents/{filed['id']}"
    assert (
        client.patch(url, json={"caller": {"consent": True}}, headers=operator).status_code == 200
    )
    drain(services)
    updates = _consent_updates(recorder)
    assert {str(c["chat_id"]) for c in updates} == UNIT_CHATS and len(updates) == 2
    assert all(filed["reference"] in c["text"] and "Hoa 0912 345 678" in c["text"] for c in updates)
    # withdrawn and given again: the units have the number already, nothing more is sent
    for consent in (False, True):
        client.patch(url, json={"caller": {"consent": consent}}, headers=operator)
        drain(services)
    assert len(_consent_updates(recorder)) == 2


def test_a_chat_tipsters_yes_after_the_alert_reaches_the_units(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    post_update(client, tip_update(1, 700301, TIP))
    drain(services)
    with services.db.reader() as session:
        incident = session.scalars(select(Incident)).one()
        reference = incident.reference
    assert any(
        str(c["chat_id"]) == "700301" and "ĐỒNG Ý" in c["text"]
        for c in recorder.named("sendMessage")
    )
    post_update(client, tip_update(2, 700301, "Đồng ý"))
    drain(services)
    updates = _consent_updates(recorder)
    assert {str(c["chat_id"]) for c in updates} == UNIT_CHATS
    # no number on Telegram: the units are told to call the hotline to be put through
    assert all(reference in c["text"] and "gọi Tổng đài 111" in c["text"] for c in updates)
    # the answer itself is not sent on as the tipster's "additional" words
    assert not any("Người báo bổ sung: Đồng ý" in c["text"] for c in recorder.named("sendMessage"))
    post_update(client, tip_update(3, 700301, "đồng ý"))  # said twice: sent once
    drain(services)
    assert len(_consent_updates(recorder)) == 2


def test_a_callers_yes_on_the_ivr_after_the_alert_reaches_the_units(wired) -> None:  # type: ignore[no-untyped-def]
    services, _client, recorder = wired
    adapter = TwilioVoiceAdapter(auth_token=TWILIO_TOKEN, public_base_url=BASE)
    call = {"CallSid": "CA" + "4" * 32, "From": "+84903111222"}
    recording = adapter.handle(
        twilio_request(
            "/webhooks/twilio/voice/recording",
            {
                **call,
                "RecordingSid": "RE" + "4" * 32,
                "SpeechResult": "bố đang đánh em bằng gậy, em ở xã Thiệu Trung Thanh Hóa",
            },
        )
    )
    consent = adapter.handle(
        twilio_request("/webhooks/twilio/voice/consent", {**call, "Digits": "1"})
    )

    def store(parsed: Any) -> None:
        with services.db.writer() as session:
            accept(
                session=session,
                cipher=services.cipher,
                messages=parsed.messages,
                raw_body=None,
                options=services.ingest,
            )
        drain(services)

    store(recording)
    assert not _consent_updates(recorder)
    store(consent)  # the caller agreed after the units were alerted
    updates = _consent_updates(recorder)
    assert {str(c["chat_id"]) for c in updates} == UNIT_CHATS
    assert all("+84903111222" in c["text"] for c in updates)
    with services.db.reader() as session:
        incident = session.scalars(select(Incident)).one()
    assert [e.detail for e in _events(services, incident.id, "consent")] == [{"consent": True}]


def test_the_incident_pages_details_form_has_the_caller(wired) -> None:  # type: ignore[no-untyped-def]
    from tests.test_console import PASSWORD, csrf, sign_in, version

    services, client, recorder = wired
    filed = _file(client, _operator(services, "op"))
    drain(services)
    with services.db.writer() as session:
        create_user(session=session, username="lan", role=Role.OPERATOR, password=PASSWORD)
    console = client
    console.base_url = "https://testserver"  # the console's cookie is https-only
    sign_in(console, "lan")
    page = console.get(f"/console/incidents/{filed['id']}").text
    assert 'id="d-relation"' in page and 'value="neighbour" selected' in page
    assert (
        'id="d-consent"' in page
        and 'id="d-consent" name="consent" type="checkbox" value="1">' in page
    )
    answer = console.post(
        f"/console/incidents/{filed['id']}/act",
        data={
            "csrf": csrf(page),
            "version": version(page),
            "action": "details",
            "relation": "parent",
            "consent": "1",
            "sex": "female",
            "age": "9",
            "count": "1",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[-400:]
    page = console.get(f"/console/incidents/{filed['id']}").text
    assert 'value="parent" selected' in page and "Đồng ý chia sẻ liên lạc" in page
    assert 'name="consent" type="checkbox" value="1" checked' in page
    drain(services)
    assert {str(c["chat_id"]) for c in _consent_updates(recorder)} == UNIT_CHATS
    with services.db.reader() as session:
        audited = session.scalars(select(AuditEntry.action).where(AuditEntry.username == "lan"))
        assert "consent" in set(audited)


def test_a_call_added_with_consent_after_the_alert(wired) -> None:  # type: ignore[no-untyped-def]
    from tests.test_console import PASSWORD, csrf, sign_in

    services, client, recorder = wired
    filed = _file(client, _operator(services, "op"))  # alerted without the number
    drain(services)
    with services.db.writer() as session:
        create_user(session=session, username="lan", role=Role.OPERATOR, password=PASSWORD)
    client.base_url = "https://testserver"  # the console's cookie is https-only
    sign_in(client, "lan")
    form = client.get("/console/calls/new", params={"incident": str(filed["id"])}).text
    added = client.post(
        "/console/calls",
        data={
            "csrf": csrf(form),
            "into": str(filed["id"]),
            "text": "Chị Hoa gọi lại: đồng ý cho công an xã gọi cho chị",
            "relation": "relative",
            "consent": "1",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text[-400:]
    drain(services)
    updates = _consent_updates(recorder)
    assert {str(c["chat_id"]) for c in updates} == UNIT_CHATS
    assert all("0912 345 678" in c["text"] for c in updates)
    with services.db.reader() as session:
        incident = session.get(Incident, filed["id"])
        assert incident is not None and incident.caller_relation == "relative"
