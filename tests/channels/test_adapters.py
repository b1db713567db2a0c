"""Each adapter driven the way its provider drives it: real signatures, real SDKs, fakes."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from channels.base import (
    BUTTON,
    Channel,
    ChannelAdapter,
    MalformedRequest,
    MessageKind,
    OutboundMessage,
    RawRequest,
    SendError,
    SignatureError,
)
from channels.telegram import TelegramAdapter
from channels.twilio_sms import TwilioSmsAdapter
from channels.twilio_voice import TwilioVoiceAdapter
from channels.zalo import ZaloAdapter, zalo_signature
from channels.zalo_client import TokenPair, ZaloClient
from tests.fakes.server import Recorder, serve
from tests.fakes.telegram import telegram_app
from tests.fakes.twilio import twilio_app
from tests.fakes.zalo import ZaloState, zalo_app

BASE = "https://hotline.example.org"
TWILIO_TOKEN = "twilio-auth-token-0123456789"
TG_TOKEN = "123456:TEST-token"
TG_SECRET = "tg-secret_0123456789"
ZALO_APP, ZALO_SECRET, ZALO_OA_KEY = "4321", "zalo-app-secret", "zalo-oa-secret-key"


def twilio_request(path: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> RawRequest:
    """A form POST signed the way Twilio signs it (the SDK computes the signature)."""
    url = BASE + path
    signature = RequestValidator(token).compute_signature(url, params)
    return RawRequest(
        "POST",
        url,
        {"x-twilio-signature": signature, "content-type": "application/x-www-form-urlencoded"},
        urlencode(params).encode(),
    )


def telegram_request(update: dict[str, object], secret: str | None = TG_SECRET) -> RawRequest:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    return RawRequest("POST", BASE + "/webhooks/telegram", headers, json.dumps(update).encode())


def zalo_request(event: dict[str, object], key: str = ZALO_OA_KEY) -> RawRequest:
    body = json.dumps(event).encode()
    signature = zalo_signature(ZALO_APP, body, str(event["timestamp"]), key)
    return RawRequest(
        "POST",
        BASE + "/webhooks/zalo",
        {"x-zevent-signature": signature, "content-type": "application/json"},
        body,
    )


def tg_message(update_id: int, **message: object) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": 5550001, "type": "private"},
            "from": {"id": 5550001, "is_bot": False, "first_name": "Lan"},
            **message,
        },
    }


def zalo_event(name: str, msg_id: str = "m1", **message: object) -> dict[str, object]:
    return {
        "app_id": ZALO_APP,
        "event_name": name,
        "sender": {"id": "8400123456789012345"},
        "recipient": {"id": "111"},
        "message": {"msg_id": msg_id, **message},
        "timestamp": str(int(time.time() * 1000)),
    }


def zalo_adapter(
    api: str = "http://127.0.0.1:9",
    tokens: TokenPair | None = None,
    stored: list[TokenPair] | None = None,
) -> ZaloAdapter:
    client = ZaloClient(
        app_id=ZALO_APP,
        app_secret=ZALO_SECRET,
        tokens=tokens or TokenPair("access-0", "refresh-0"),
        api_base_url=api,
        oauth_base_url=api,
        on_refresh=(stored.append if stored is not None else None),
    )
    return ZaloAdapter(app_id=ZALO_APP, oa_secret_key=ZALO_OA_KEY, client=client)


# ------------------------------------------------------------------------------- Twilio


def test_sms_signed_parsed_and_acknowledged_with_the_reference() -> None:
    adapter = TwilioSmsAdapter(account_sid="AC123", auth_token=TWILIO_TOKEN, from_number="+84111")
    request = twilio_request(
        "/webhooks/twilio/sms",
        {
            "MessageSid": "SM00000000000000000000000000000031",
            "From": "+84912345678",
            "To": "+84111",
            "Body": "em bi danh",
            "NumMedia": "1",
            "MediaUrl0": "https://api.twilio.com/media/ME1",
            "MediaContentType0": "image/jpeg",
            "SomeNewField": "twilio adds fields",
        },
    )
    parsed = adapter.handle(request)
    (message,) = parsed.messages
    assert (
        message.provider_message_id == "SM00000000000000000000000000000031"
        and message.sender_phone == "+84912345678"
    )
    assert message.attachments[0].url.endswith("ME1")
    reply = adapter.reply_after_store(parsed, ("111-2611-0007",))
    assert "111-2611-0007" in reply.body and reply.media_type == "application/xml"


def test_sms_ack_reply_is_an_acknowledgement() -> None:
    adapter = TwilioSmsAdapter(account_sid="AC123", auth_token=TWILIO_TOKEN, from_number="+84111")
    parsed = adapter.handle(
        twilio_request(
            "/webhooks/twilio/sms",
            {
                "MessageSid": "SM00000000000000000000000000000032",
                "From": "+84912000000",
                "Body": "OK 111-2611-0007",
            },
        )
    )
    assert parsed.messages[0].kind == MessageKind.ACK
    assert parsed.messages[0].ack_reference == "111-2611-0007"


@pytest.mark.parametrize("tamper", ["missing", "forged", "other-url"])
def test_twilio_refuses_bad_signatures(tamper: str) -> None:
    adapter = TwilioSmsAdapter(account_sid="AC123", auth_token=TWILIO_TOKEN, from_number="+84111")
    request = twilio_request(
        "/webhooks/twilio/sms", {"MessageSid": "SM00000000000000000000000000000033", "From": "+841"}
    )
    headers = dict(request.headers)
    url = request.url
    if tamper == "missing":
        headers.pop("x-twilio-signature")
    elif tamper == "forged":
        headers["x-twilio-signature"] = "bm90IGEgc2lnbmF0dXJl"
    else:
        url = BASE + "/webhooks/twilio/other"
    with pytest.raises(SignatureError) as refused:
        adapter.handle(RawRequest("POST", url, headers, request.body))
    assert refused.value.status_code == (401 if tamper == "missing" else 403)


def test_voice_ivr_danger_now_is_urgent_and_connects() -> None:
    adapter = TwilioVoiceAdapter(
        auth_token=TWILIO_TOKEN, operator_phone="+84240000111", public_base_url=BASE
    )
    start = adapter.handle(
        twilio_request(
            "/webhooks/twilio/voice",
            {"CallSid": "CA00000000000000000000000000000031", "From": "+84900000001"},
        )
    )
    assert start.messages[0].kind == MessageKind.EVENT
    assert 'language="vi-VN"' in start.reply.body and "<Gather" in start.reply.body
    menu = adapter.handle(
        twilio_request(
            "/webhooks/twilio/voice/menu",
            {
                "CallSid": "CA00000000000000000000000000000031",
                "From": "+84900000001",
                "Digits": "1",
            },
        )
    )
    (message,) = menu.messages
    assert message.urgent and message.conversation_key == "CA00000000000000000000000000000031"
    assert "<Dial" in menu.reply.body and "+84240000111" in menu.reply.body


def test_voice_report_records_and_reads_back_the_reference() -> None:
    adapter = TwilioVoiceAdapter(auth_token=TWILIO_TOKEN, public_base_url=BASE)
    menu = adapter.handle(
        twilio_request(
            "/webhooks/twilio/voice/menu",
            {"CallSid": "CA00000000000000000000000000000032", "SpeechResult": "hai"},
        )
    )
    assert "<Record" in menu.reply.body and not menu.messages[0].urgent
    recording = adapter.handle(
        twilio_request(
            "/webhooks/twilio/voice/recording",
            {
                "CallSid": "CA00000000000000000000000000000032",
                "RecordingUrl": "https://api.twilio.com/rec/RE1",
                "RecordingSid": "RE" + "1" * 32,
                "RecordingDuration": "42",
            },
        )
    )
    assert recording.messages[0].attachments[0].provider_id == "RE" + "1" * 32
    reply = adapter.reply_after_store(recording, ("111-2611-0008",))
    assert "1 1 1" in reply.body and "<Hangup" in reply.body
    hangup = adapter.handle(
        twilio_request(
            "/webhooks/twilio/voice/status",
            {"CallSid": "CA00000000000000000000000000000033", "CallStatus": "completed"},
        )
    )
    assert hangup.messages[0].kind == MessageKind.CALL  # a hang-up still leaves an incident


async def test_sms_sent_through_the_real_sdk_and_errors_classified() -> None:
    recorder = Recorder()
    with serve(twilio_app(recorder)) as base:
        adapter = TwilioSmsAdapter(
            account_sid="AC123", auth_token=TWILIO_TOKEN, from_number="+84111", api_base_url=base
        )
        sent = await adapter.send(OutboundMessage(Channel.SMS, "+84912345678", "xin chao"))
        assert sent.provider_message_id.startswith("SM")
        assert recorder.named("messages")[0]["to"] == "+84912345678"
        with pytest.raises(SendError) as permanent:
            await adapter.send(OutboundMessage(Channel.SMS, "+84001", "x"))
        assert not permanent.value.retryable
        recorder.fail_next.append("500")
        with pytest.raises(SendError) as retry:
            await adapter.send(OutboundMessage(Channel.SMS, "+84912345678", "x"))
        assert retry.value.retryable


# ------------------------------------------------------------------------------ Telegram


def test_telegram_parses_text_location_contact_photo_and_commands() -> None:
    adapter = TelegramAdapter(token=TG_TOKEN, secret_token=TG_SECRET)
    text = adapter.handle(telegram_request(tg_message(10, text="em bi danh")))
    assert text.messages[0].provider_message_id == "10"
    assert text.messages[0].sender_id == "5550001"
    reply = adapter.reply_after_store(text, ("111-2611-0001",))
    assert json.loads(reply.body)["method"] == "sendMessage"
    location = adapter.handle(
        telegram_request(tg_message(11, location={"latitude": 21.84, "longitude": 106.81}))
    )
    assert location.messages[0].kind == MessageKind.LOCATION
    assert location.messages[0].latitude == pytest.approx(21.84)
    contact = adapter.handle(
        telegram_request(
            tg_message(12, contact={"phone_number": "+84912345678", "first_name": "Lan"})
        )
    )
    assert contact.messages[0].sender_phone == "+84912345678"
    photo = adapter.handle(
        telegram_request(
            tg_message(
                13, photo=[{"file_id": "F1", "file_unique_id": "U1", "width": 90, "height": 90}]
            )
        )
    )
    assert photo.messages[0].attachments[0].provider_id == "F1"
    start = adapter.handle(telegram_request(tg_message(14, text="/start")))
    assert start.messages[0].kind == MessageKind.COMMAND
    assert "111" in json.loads(start.reply.body)["text"]
    sticker = adapter.handle(
        telegram_request(
            tg_message(
                15,
                sticker={
                    "file_id": "S",
                    "file_unique_id": "S",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                },
            )
        )
    )
    assert sticker.messages[0].kind == MessageKind.EVENT


def _pressed(data: str) -> RawRequest:
    return telegram_request(
        {
            "update_id": 20,
            "callback_query": {
                "id": "cb1",
                "chat_instance": "x",
                "data": data,
                "from": {"id": 7, "is_bot": False, "first_name": "CA xa"},
                "message": {"message_id": 5, "date": 0, "chat": {"id": -100999, "type": "group"}},
            },
        }
    )


@pytest.mark.parametrize(
    ("data", "outcome"),
    [
        ("on_site:111-2611-0003", "on_site"),
        ("unverified:111-2611-0003", "unverified"),
        ("ack:111-2611-0003", "received"),  # the one button of older alerts
    ],
)
def test_telegram_outcome_button_names_outcome_reference_and_chat(data: str, outcome: str) -> None:
    adapter = TelegramAdapter(token=TG_TOKEN, secret_token=TG_SECRET)
    parsed = adapter.handle(_pressed(data))
    (pressed,) = parsed.messages
    assert pressed.kind == MessageKind.EVENT and pressed.extra == {BUTTON: outcome}
    assert pressed.ack_reference == "111-2611-0003"
    assert pressed.sender_id == "-100999"  # the group the alert went to, not the person
    answer = json.loads(parsed.reply.body)
    assert answer["method"] == "answerCallbackQuery" and answer["callback_query_id"] == "cb1"
    assert "111-2611-0003" in answer["text"]


@pytest.mark.parametrize(
    "data", ["closed:111-2611-0003", "on_site:x", "on_site:111-2611-0003x", ""]
)
def test_telegram_button_data_not_ours_is_an_event_answered_blank(data: str) -> None:
    adapter = TelegramAdapter(token=TG_TOKEN, secret_token=TG_SECRET)
    parsed = adapter.handle(_pressed(data))
    (pressed,) = parsed.messages
    assert pressed.kind == MessageKind.EVENT and BUTTON not in pressed.extra
    assert json.loads(parsed.reply.body) == {
        "method": "answerCallbackQuery",
        "callback_query_id": "cb1",
        "text": "",
    }


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
def test_telegram_refuses_a_missing_or_wrong_secret(secret: str | None) -> None:
    adapter = TelegramAdapter(token=TG_TOKEN, secret_token=TG_SECRET)
    with pytest.raises(SignatureError):
        adapter.handle(telegram_request(tg_message(1, text="x"), secret=secret))


def test_telegram_malformed_but_signed_body() -> None:
    adapter = TelegramAdapter(token=TG_TOKEN, secret_token=TG_SECRET)
    for body in (b"{not json", b"[]", b'{"no_update_id": 1}'):
        with pytest.raises(MalformedRequest):
            adapter.handle(
                RawRequest("POST", BASE, {"x-telegram-bot-api-secret-token": TG_SECRET}, body)
            )


async def test_telegram_send_with_button_and_429_retry_after() -> None:
    recorder = Recorder()
    with serve(telegram_app(recorder, TG_TOKEN)) as base:
        adapter = TelegramAdapter(token=TG_TOKEN, secret_token=TG_SECRET, api_base_url=base)
        sent = await adapter.send(
            OutboundMessage(Channel.TELEGRAM, "-100999", "[111] P1", ack_reference="111-2611-0003")
        )
        assert sent.provider_message_id == "1"
        (call,) = recorder.named("sendMessage")
        rows = call["reply_markup"]["inline_keyboard"]
        assert [len(row) for row in rows] == [2, 2, 2]
        assert [b["callback_data"] for b in rows[0]] == [
            "received:111-2611-0003",
            "verifying:111-2611-0003",
        ]
        assert rows[2][1]["text"] == "Chuyển cơ quan khác"
        recorder.fail_next.append("429")
        with pytest.raises(SendError) as limited:
            await adapter.send(OutboundMessage(Channel.TELEGRAM, "-100999", "again"))
        assert limited.value.retryable and limited.value.retry_after == 3
        recorder.fail_next.append("403")
        with pytest.raises(SendError) as blocked:
            await adapter.send(OutboundMessage(Channel.TELEGRAM, "-100999", "again"))
        assert not blocked.value.retryable


# ---------------------------------------------------------------------------------- Zalo


def test_zalo_events_parsed_with_ids_as_strings() -> None:
    adapter = zalo_adapter()
    text = adapter.handle(zalo_request(zalo_event("user_send_text", text="em bi danh")))
    assert text.messages[0].sender_id == "8400123456789012345"  # kept as a string
    location = adapter.handle(
        zalo_request(
            zalo_event(
                "user_send_location",
                "m2",
                attachments=[
                    {
                        "type": "location",
                        "payload": {
                            "coordinates": {"latitude": "21.0285", "longitude": "105.8542"}
                        },
                    }
                ],
            )
        )
    )
    assert location.messages[0].latitude == pytest.approx(21.0285)
    image = adapter.handle(
        zalo_request(
            zalo_event(
                "user_send_image",
                "m3",
                attachments=[{"type": "image", "payload": {"url": "https://zalo.example/img.jpg"}}],
            )
        )
    )
    assert image.messages[0].kind == MessageKind.MEDIA
    follow = adapter.handle(zalo_request({**zalo_event("follow", ""), "message": {}}))
    assert follow.messages[0].kind == MessageKind.EVENT
    ack = adapter.handle(zalo_request(zalo_event("user_send_text", "m4", text="ok 111-2611-0042")))
    assert ack.messages[0].kind == MessageKind.ACK
    broken = zalo_event(
        "user_send_location",
        "m5",
        attachments=[{"payload": {"coordinates": {"latitude": "north"}}}],
    )
    with pytest.raises(MalformedRequest):
        adapter.handle(zalo_request(broken))


def test_zalo_refuses_forged_and_missing_signatures() -> None:
    adapter = zalo_adapter()
    with pytest.raises(SignatureError):
        adapter.handle(zalo_request(zalo_event("user_send_text", text="x"), key="not-the-key"))
    request = zalo_request(zalo_event("user_send_text", text="x"))
    with pytest.raises(SignatureError):
        adapter.handle(RawRequest("POST", request.url, {}, request.body))
    tampered = RawRequest("POST", request.url, request.headers, request.body + b" ")
    with pytest.raises(SignatureError):
        adapter.handle(tampered)


async def test_zalo_expired_token_is_refreshed_once_for_concurrent_senders() -> None:
    recorder, state, stored = Recorder(), ZaloState(), []
    with serve(zalo_app(recorder, state, ZALO_SECRET)) as base:
        adapter = zalo_adapter(base, stored=stored)
        await adapter.send(OutboundMessage(Channel.ZALO, "8400123456789012345", "xin chao"))
        state.expire()
        await asyncio.gather(
            *(adapter.send(OutboundMessage(Channel.ZALO, "84001", f"m{n}")) for n in range(5))
        )
        assert len(recorder.named("refresh")) == 1
        assert stored == [TokenPair("access-1", "refresh-1")]
        delivered = [c for c in recorder.named("cs") if not c.get("rejected")]
        assert len(delivered) == 6
        recorder.fail_next.append("-230")
        with pytest.raises(SendError) as outside_window:
            await adapter.send(OutboundMessage(Channel.ZALO, "84001", "late"))
        assert not outside_window.value.retryable
        recorder.fail_next.append("-32")
        with pytest.raises(SendError) as limited:
            await adapter.send(OutboundMessage(Channel.ZALO, "84001", "fast"))
        assert limited.value.retryable


# ------------------------------------------------------------------------------ contract


def _adapters() -> list[tuple[ChannelAdapter, RawRequest]]:
    return [
        (
            TwilioSmsAdapter(account_sid="AC1", auth_token=TWILIO_TOKEN, from_number="+841"),
            twilio_request(
                "/webhooks/twilio/sms",
                {"MessageSid": "SM00000000000000000000000000000063", "From": "+84912", "Body": "x"},
            ),
        ),
        (
            TwilioVoiceAdapter(auth_token=TWILIO_TOKEN, public_base_url=BASE),
            twilio_request(
                "/webhooks/twilio/voice/menu",
                {"CallSid": "CA00000000000000000000000000000063", "Digits": "2"},
            ),
        ),
        (
            TelegramAdapter(token=TG_TOKEN, secret_token=TG_SECRET),
            telegram_request(tg_message(99, text="x")),
        ),
        (zalo_adapter(), zalo_request(zalo_event("user_send_text", "mc", text="x"))),
    ]


@pytest.mark.parametrize(
    ("adapter", "request_"), _adapters(), ids=lambda value: type(value).__name__
)
def test_contract(adapter: ChannelAdapter, request_: RawRequest) -> None:
    first = adapter.handle(request_)
    again = adapter.handle(request_)
    assert first.messages and all(m.provider_message_id for m in first.messages)
    assert [m.provider_message_id for m in first.messages] == [
        m.provider_message_id for m in again.messages
    ]  # a repeat delivery has the same ids
    assert all(m.channel == adapter.channel for m in first.messages)
    unsigned = RawRequest("POST", request_.url, {"content-type": "text/plain"}, request_.body)
    with pytest.raises(SignatureError):
        adapter.handle(unsigned)
    with pytest.raises(SendError):
        asyncio.run(adapter.send(OutboundMessage(adapter.channel, "", "x")))


async def test_telegram_webhook_registration_sends_the_secret() -> None:
    recorder = Recorder()
    with serve(telegram_app(recorder, TG_TOKEN)) as base:
        adapter = TelegramAdapter(token=TG_TOKEN, secret_token=TG_SECRET, api_base_url=base)
        await adapter.set_webhook(BASE + "/webhooks/telegram")
        await adapter.check_credentials()
    (call,) = recorder.named("setWebhook")
    assert call["url"] == BASE + "/webhooks/telegram" and call["secret_token"] == TG_SECRET
