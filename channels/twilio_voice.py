"""Twilio Voice: the Vietnamese IVR of the 111 line.

    /webhooks/twilio/voice            the call starts: the menu (speech or keypad)
    /webhooks/twilio/voice/menu       1 = a child is in danger now -> operators, P1 at once
                                      2 = report abuse or trafficking -> record a message
                                      3 = advice -> operators
    /webhooks/twilio/voice/recording  the recorded message (kept by reference)
    /webhooks/twilio/voice/status     call status: a hang-up still leaves what was gathered

Every step of one call shares the call's sid as its conversation, so a call is one incident.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from twilio.twiml.voice_response import Gather, VoiceResponse

from channels.base import (
    Attachment,
    Channel,
    ChannelAdapter,
    InboundMessage,
    MalformedRequest,
    MessageKind,
    OutboundMessage,
    ParsedRequest,
    RawRequest,
    SendError,
    SendResult,
    WebhookReply,
)
from channels.registry import ChannelConfig, ChannelSpec, register
from channels.twilio_sms import (
    CALL_SID,
    RECORDING_SID,
    form_params,
    twilio_sid,
    verify_twilio,
)

VOICE = {"language": "vi-VN", "voice": "Google.vi-VN-Standard-A"}
BASE_PATH = "/webhooks/twilio/voice"
MENU = (
    "Tổng đài 111, bảo vệ trẻ em và phòng chống mua bán người. "
    "Nếu có trẻ em đang gặp nguy hiểm ngay bây giờ, bấm phím 1 hoặc nói một. "
    "Để báo tin về xâm hại hoặc mua bán người, bấm phím 2. Để được tư vấn, bấm phím 3."
)
CONNECTING = "Xin giữ máy, tổng đài viên sẽ nghe máy ngay."
RECORD = (
    "Sau tiếng bíp, hãy nói chuyện gì đã xảy ra, ở xã, phường nào, tỉnh nào, "
    "và trẻ bao nhiêu tuổi. Nói xong, bấm phím thăng."
)
THANKS = "Cảm ơn bạn. Tổng đài 111 đã ghi nhận. Mã tin báo của bạn là {reference}."
NO_CHOICE = "Tổng đài chưa nghe rõ lựa chọn của bạn."
ASK_CONSENT = (
    "Bạn có đồng ý để đơn vị xử lý gọi lại trực tiếp cho bạn không? "
    "Bấm 1 hoặc nói đồng ý. Bấm 2 hoặc nói không."
)
CONSENT_TEXT = {
    True: "[Cuộc gọi] Người gọi đồng ý để đơn vị xử lý liên hệ trực tiếp.",
    False: "[Cuộc gọi] Người gọi không đồng ý chia sẻ liên lạc.",
}
GOODBYE = "Cảm ơn bạn. Xin chào."
CHOICES = {
    "1": "danger_now",
    "một": "danger_now",
    "mot": "danger_now",
    "2": "report",
    "hai": "report",
    "3": "advice",
    "ba": "advice",
}
CHOICE_TEXT = {
    "danger_now": "[Cuộc gọi] Người gọi chọn 1: có trẻ em đang gặp nguy hiểm ngay bây giờ.",
    "report": "[Cuộc gọi] Người gọi chọn 2: báo tin xâm hại hoặc mua bán người.",
    "advice": "[Cuộc gọi] Người gọi chọn 3: cần tư vấn.",
}


CALL_PREFIX = "[Cuộc gọi]"
RECORDING_TEXT = CALL_PREFIX + " Tin nhắn thoại"
SPEECH_MARK = " Lời người gọi: "


def caller_words(text: str) -> str:
    """What the caller said in a call message's text: the transcript of a recording, not
    the service's own wording of the menu ("báo tin xâm hại ..." is the menu's, not theirs)."""
    if not text.startswith(CALL_PREFIX):
        return text
    if SPEECH_MARK in text:
        return text.split(SPEECH_MARK, 1)[1]
    if text.startswith(RECORDING_TEXT) and ": " in text:
        return text.split(": ", 1)[1]
    return ""


def _choice(params: dict[str, str]) -> str | None:
    digits = params.get("Digits", "").strip()
    if digits[:1] in CHOICES:
        return CHOICES[digits[:1]]
    speech = params.get("SpeechResult", "").strip().lower()
    for word, choice in CHOICES.items():
        if word in speech.split():
            return choice
    return None


CALL_STATUSES = {
    "queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed",
    "no-answer", "canceled",
}  # fmt: skip
DIGITS = re.compile(r"[0-9*#]{0,32}")


def _check_ids(params: dict[str, str], step: str) -> None:
    """The parameters a message's id is made of, of their exact form (MalformedRequest):
    parameters re-cut under the same signature (see `twilio_sid`) cannot make a new id."""
    twilio_sid(params, "CallSid", CALL_SID)
    if step == "recording" or params.get("RecordingSid"):
        twilio_sid(params, "RecordingSid", RECORDING_SID)
    if step == "status" and params.get("CallStatus") not in CALL_STATUSES:
        raise MalformedRequest("CallStatus is not one of Twilio's")
    if not DIGITS.fullmatch(params.get("Digits", "")):
        raise MalformedRequest("Digits are not keypad digits")


def _consent(params: dict[str, str]) -> bool | None:
    """The caller's answer to the consent question: 1 or "đồng ý", 2 or "không"."""
    digits = params.get("Digits", "").strip()[:1]
    if digits in ("1", "2"):
        return digits == "1"
    speech = " ".join(params.get("SpeechResult", "").lower().split())
    if "không" in speech or "khong" in speech:
        return False
    if "đồng ý" in speech or "dong y" in speech or speech.strip(".! ") in ("có", "co"):
        return True
    return None


class TwilioVoiceAdapter(ChannelAdapter):
    """The IVR: TwiML answers built with the SDK; no outbound messages on this channel."""

    channel = Channel.VOICE

    def __init__(
        self,
        *,
        auth_token: str,
        operator_phone: str | None = None,
        queue_name: str = "hotline111",
        public_base_url: str = "",
    ) -> None:
        self.auth_token = auth_token
        self.operator_phone = operator_phone
        self.queue_name = queue_name
        self.base = public_base_url.rstrip("/") + BASE_PATH

    def verify(self, request: RawRequest) -> None:
        verify_twilio(request, self.auth_token)

    def _message(
        self, params: dict[str, str], step: str, kind: MessageKind, text: str = "", **extra: object
    ) -> InboundMessage:
        call = params["CallSid"]
        return InboundMessage(
            channel=Channel.VOICE,
            provider_message_id=f"{call}:{step}:{params.get('RecordingSid', '')}",
            sender_id=params.get("From", "") or call,
            sender_phone=params.get("From") or None,
            kind=kind,
            received_at=datetime.now(UTC),
            text=text,
            conversation_key=call,
            **extra,  # type: ignore[arg-type]
        )

    def _menu(self, prefix: str = "") -> str:
        response = VoiceResponse()
        gather = Gather(
            input="speech dtmf",
            language="vi-VN",
            num_digits=1,
            timeout=8,
            action=f"{self.base}/menu",
            method="POST",
            hints="một, hai, ba",
        )
        gather.say(prefix + MENU, **VOICE)
        response.append(gather)
        response.redirect(self.base, method="POST")
        return str(response)

    def _connect(self, urgent: bool) -> str:
        response = VoiceResponse()
        response.say(CONNECTING, **VOICE)
        if self.operator_phone:
            response.dial(self.operator_phone, timeout=30)
        else:
            response.enqueue(f"{self.queue_name}-{'urgent' if urgent else 'advice'}")
        return str(response)

    def parse(self, request: RawRequest) -> ParsedRequest:
        params = form_params(request)
        path = request.url.split("?", 1)[0]
        step = path.rstrip("/").rsplit("/", 1)[-1]
        _check_ids(params, step)
        xml = "application/xml"
        if step == "voice":
            event = self._message(params, "start", MessageKind.EVENT)
            return ParsedRequest((event,), WebhookReply(200, xml, self._menu()))
        if step == "menu":
            choice = _choice(params)
            if choice is None:
                event = self._message(params, f"menu-{params.get('Digits', '')}", MessageKind.EVENT)
                return ParsedRequest((event,), WebhookReply(200, xml, self._menu(NO_CHOICE + " ")))
            text = CHOICE_TEXT[choice]
            if speech := params.get("SpeechResult"):
                text += SPEECH_MARK + speech
            message = self._message(
                params, "menu", MessageKind.CALL, text, urgent=choice == "danger_now"
            )
            if choice == "report":
                response = VoiceResponse()
                response.say(RECORD, **VOICE)
                response.record(
                    action=f"{self.base}/recording",
                    method="POST",
                    max_length=180,
                    timeout=5,
                    finish_on_key="#",
                    play_beep=True,
                )
                return ParsedRequest((message,), WebhookReply(200, xml, str(response)))
            return ParsedRequest(
                (message,), WebhookReply(200, xml, self._connect(urgent=choice == "danger_now"))
            )
        if step == "recording":
            attachment = Attachment(
                "recording",
                url=params.get("RecordingUrl"),
                provider_id=params.get("RecordingSid"),
                content_type="audio/wav",
            )
            text = RECORDING_TEXT
            if params.get("RecordingDuration"):
                text += f" ({params['RecordingDuration']} giây)"
            if speech := params.get("SpeechResult") or params.get("TranscriptionText"):
                text += f": {speech}"
            message = self._message(
                params, "recording", MessageKind.CALL, text, attachments=(attachment,)
            )
            return ParsedRequest((message,), WebhookReply(200, xml, str(VoiceResponse())))
        if step == "consent":
            agreed = _consent(params)
            response = VoiceResponse()
            response.say(GOODBYE, **VOICE)
            response.hangup()
            if agreed is None:
                event = self._message(params, "consent-none", MessageKind.EVENT)
                return ParsedRequest((event,), WebhookReply(200, xml, str(response)))
            message = self._message(
                params,
                "consent",
                MessageKind.CALL,
                CONSENT_TEXT[agreed],
                extra={"consent_to_share": "true" if agreed else "false"},
            )
            return ParsedRequest((message,), WebhookReply(200, xml, str(response)))
        if step == "status":
            status = params.get("CallStatus", "")
            message = self._message(
                params,
                f"status-{status}",
                MessageKind.CALL,
                f"[Cuộc gọi] Kết thúc ({status}).",
                extra={"call_status": status},
            )
            return ParsedRequest((message,), WebhookReply(200, xml, str(VoiceResponse())))
        raise MalformedRequest(f"unknown IVR step {step!r}")

    def reply_after_store(
        self, parsed: ParsedRequest, references: tuple[str | None, ...]
    ) -> WebhookReply:
        """After a recording: thank the caller and read out the reference."""
        message = parsed.messages[0] if parsed.messages else None
        reference = references[0] if references else None
        if message is None or not reference or not message.provider_message_id.count(":recording:"):
            return parsed.reply
        response = VoiceResponse()
        spoken = " ".join(reference.replace("-", " "))
        response.say(THANKS.format(reference=spoken), **VOICE)
        # Asked once, as chat tipsters are: may the responders call back directly?
        gather = Gather(
            input="speech dtmf",
            language="vi-VN",
            num_digits=1,
            timeout=6,
            action=f"{self.base}/consent",
            method="POST",
            hints="đồng ý, không",
        )
        gather.say(ASK_CONSENT, **VOICE)
        response.append(gather)
        response.hangup()
        return WebhookReply(200, "application/xml", str(response))

    async def send(self, message: OutboundMessage) -> SendResult:
        raise SendError("the voice channel sends no text messages", retryable=False)

    async def check_credentials(self) -> None:
        return None  # the IVR only answers Twilio's requests; SMS checks the account


def _build(config: ChannelConfig) -> TwilioVoiceAdapter | None:
    """The voice adapter when Twilio's account and token are set."""
    token = config.value("TWILIO_AUTH_TOKEN")
    if not (config.value("TWILIO_ACCOUNT_SID") and token):
        return None
    return TwilioVoiceAdapter(
        auth_token=token,
        operator_phone=config.value("HOTLINE_OPERATOR_PHONE"),
        public_base_url=config.public_base_url,
    )


SPEC = register(
    ChannelSpec(
        channel=Channel.VOICE,
        label="Cuộc gọi",
        settings=("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"),
        options=("HOTLINE_OPERATOR_PHONE",),
        routes=("/twilio/voice", "/twilio/voice/{step}"),
        build=_build,
    )
)
