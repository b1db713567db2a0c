"""Chat tipsters are asked once for consent to share their contact; their answer is kept."""

from __future__ import annotations

from sqlalchemy import select

from intake.pipeline.consent import answer
from intake.store.models import Event, Incident, Message, Tipster
from tests.telegram_wiring import TIP, drain, post_update, tip_update


def test_answers() -> None:
    assert answer("Đồng ý") is True and answer("  dong y!") is True and answer("Có") is True
    assert answer("KHÔNG") is False and answer("không đồng ý") is False
    assert answer("không biết em ở đâu") is None and answer("bố em đánh em") is None


def test_asked_once_and_the_answer_is_stored(wired) -> None:  # type: ignore[no-untyped-def]
    services, client, recorder = wired
    post_update(client, tip_update(1, 700002, TIP))
    drain(services)
    asks = [c for c in recorder.named("sendMessage") if str(c["chat_id"]) == "700002"]
    assert len(asks) == 1 and "ĐỒNG Ý" in asks[0]["text"]
    post_update(client, tip_update(2, 700002, "Đồng ý"))
    drain(services)
    with services.db.reader() as session:
        incident = session.scalars(select(Incident)).one()
        tipster = session.get(Tipster, incident.tipster_id)
        assert tipster is not None and tipster.consent_to_share
        consent = session.scalars(
            select(Event).where(Event.incident_id == incident.id, Event.action == "consent")
        ).one()
        assert consent.detail == {"consent": True}
        outbound = session.scalars(select(Message).where(Message.direction == "out")).all()
    assert len(outbound) == 1  # asked once, not again after the answer
    post_update(client, tip_update(3, 700002, "Không"))
    drain(services)
    with services.db.reader() as session:
        tipster = session.scalars(select(Tipster)).one()
        assert not tipster.consent_to_share  # changed their mind


def test_callers_are_asked_after_their_recording() -> None:
    from channels.base import MessageKind
    from channels.twilio_voice import TwilioVoiceAdapter
    from tests.channels.test_adapters import BASE, TWILIO_TOKEN, twilio_request

    adapter = TwilioVoiceAdapter(auth_token=TWILIO_TOKEN, public_base_url=BASE)
    recording = adapter.handle(
        twilio_request(
            "/webhooks/twilio/voice/recording",
            {"CallSid": "CA" + "9" * 32, "From": "+84903111222", "RecordingSid": "RE" + "9" * 32},
        )
    )
    reply = adapter.reply_after_store(recording, ("111-2612-0009",))
    assert "/webhooks/twilio/voice/consent" in reply.body and "đồng ý" in reply.body
    said = {}
    for n, params in enumerate(
        ({"Digits": "1"}, {"SpeechResult": "Không ạ"}, {"SpeechResult": "đồng ý"}, {"Digits": "7"})
    ):
        parsed = adapter.handle(
            twilio_request(
                "/webhooks/twilio/voice/consent",
                {"CallSid": f"CA{n:032x}", "From": "+84903111222", **params},
            )
        )
        message = parsed.messages[0]
        said[n] = (
            message.extra.get("consent_to_share") if message.kind == MessageKind.CALL else None
        )
        assert message.conversation_key == f"CA{n:032x}"  # joins the call's incident
    assert said == {0: "true", 1: "false", 2: "true", 3: None}
