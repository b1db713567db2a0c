"""Twilio Messaging: inbound SMS webhooks (signed), TwiML answers, outbound SMS by the SDK."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from channels.base import (
    Attachment,
    Channel,
    ChannelAdapter,
    ChannelError,
    InboundMessage,
    MalformedRequest,
    MessageKind,
    OutboundMessage,
    ParsedRequest,
    RawRequest,
    SendError,
    SendResult,
    SignatureError,
    WebhookReply,
)
from channels.prompts import RECEIVED, ack_reference
from channels.registry import ChannelConfig, ChannelSpec, register

TWILIO_API = "https://api.twilio.com"
# Twilio's ids: two letters for the kind, then 32 hex digits. Checked strictly because the
# signature cannot tell where one parameter ends and the next begins (it signs the sorted
# names and values run together): a request re-cut under the same signature either
# changes MessageSid, and fails this, or keeps it, and the inbox dedupes it on that id.
MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}")
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")


def twilio_sid(params: dict[str, str], name: str, form: re.Pattern[str]) -> str:
    """A Twilio id parameter, required and of its exact form (else MalformedRequest)."""
    value = params.get(name, "")
    if not form.fullmatch(value):
        raise MalformedRequest(f"{name} missing or not of Twilio's form")
    return value


class RebasedHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending to another base URL (tests, staging)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        parts = urlsplit(base_url)
        self._scheme, self._netloc = parts.scheme, parts.netloc

    def request(self, method: str, url: str, *args: object, **kwargs: object) -> Response:  # type: ignore[override]
        parts = urlsplit(url)
        rebased = urlunsplit((self._scheme, self._netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, rebased, *args, **kwargs)  # type: ignore[arg-type]


def form_params(request: RawRequest) -> dict[str, str]:
    """The form fields of a Twilio webhook (every field: Twilio signs all of them)."""
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest("form body is not UTF-8") from exc
    return dict(parse_qsl(text, keep_blank_values=True))


def verify_twilio(request: RawRequest, auth_token: str) -> None:
    """Check X-Twilio-Signature with the SDK's validator against the public URL."""
    signature = request.header("x-twilio-signature")
    if not signature:
        raise SignatureError("X-Twilio-Signature missing", status_code=401)
    try:
        params = form_params(request)
    except MalformedRequest as exc:
        raise SignatureError(str(exc)) from exc
    if not RequestValidator(auth_token).validate(request.url, params, signature):
        raise SignatureError("X-Twilio-Signature does not match")


def classify_twilio_error(exc: TwilioRestException) -> SendError:
    """429, 5xx: try again; other 4xx (invalid number, blocked...): do not."""
    retryable = exc.status == 429 or exc.status >= 500
    return SendError(f"twilio {exc.status} code {exc.code}", retryable=retryable)


class TwilioSmsAdapter(ChannelAdapter):
    """SMS in and out through Twilio."""

    channel = Channel.SMS

    def __init__(
        self, *, account_sid: str, auth_token: str, from_number: str, api_base_url: str = TWILIO_API
    ) -> None:
        self.auth_token = auth_token
        self.from_number = from_number
        self.client = Client(account_sid, auth_token, http_client=RebasedHttpClient(api_base_url))

    def verify(self, request: RawRequest) -> None:
        verify_twilio(request, self.auth_token)

    def parse(self, request: RawRequest) -> ParsedRequest:
        params = form_params(request)
        sid, sender = twilio_sid(params, "MessageSid", MESSAGE_SID), params.get("From", "")
        if not sender:
            raise MalformedRequest("From is required")
        body = params.get("Body", "")
        attachments = []
        try:
            media_count = int(params.get("NumMedia", "0") or 0)
        except ValueError:
            media_count = 0
        for n in range(min(media_count, 10)):
            if url := params.get(f"MediaUrl{n}"):
                attachments.append(
                    Attachment("media", url=url, content_type=params.get(f"MediaContentType{n}"))
                )
        reference = ack_reference(body)
        message = InboundMessage(
            channel=Channel.SMS,
            provider_message_id=sid,
            sender_id=sender,
            sender_phone=sender,
            kind=MessageKind.ACK
            if reference
            else (MessageKind.MEDIA if attachments and not body.strip() else MessageKind.TEXT),
            received_at=datetime.now(UTC),
            text=body,
            attachments=tuple(attachments),
            ack_reference=reference,
        )
        return ParsedRequest(
            (message,), WebhookReply(200, "application/xml", str(MessagingResponse()))
        )

    def reply_after_store(
        self, parsed: ParsedRequest, references: tuple[str | None, ...]
    ) -> WebhookReply:
        """A TwiML acknowledgement that gives the tipster the reference."""
        response = MessagingResponse()
        reference = references[0] if references else None
        if reference and parsed.messages and parsed.messages[0].kind != MessageKind.ACK:
            response.message(RECEIVED.format(reference=reference))
        return WebhookReply(200, "application/xml", str(response))

    async def send(self, message: OutboundMessage) -> SendResult:
        def create() -> str:
            sent = self.client.messages.create(
                to=message.recipient, from_=self.from_number, body=message.text[:1600]
            )
            return str(sent.sid)

        try:
            sid = await asyncio.to_thread(create)
        except TwilioRestException as exc:
            raise classify_twilio_error(exc) from exc
        except Exception as exc:  # network errors, timeouts
            raise SendError(f"twilio unreachable: {type(exc).__name__}", retryable=True) from exc
        return SendResult(sid)

    async def check_credentials(self) -> None:
        try:
            await asyncio.to_thread(
                lambda: self.client.api.v2010.accounts(self.client.account_sid).fetch()
            )
        except Exception as exc:
            raise ChannelError(f"twilio credentials do not work: {type(exc).__name__}") from exc


def _build(config: ChannelConfig) -> TwilioSmsAdapter | None:
    """The SMS adapter when Twilio's account, token and sending number are set."""
    sid, token = config.value("TWILIO_ACCOUNT_SID"), config.value("TWILIO_AUTH_TOKEN")
    number = config.value("TWILIO_FROM_NUMBER")
    if not (sid and token and number):
        return None
    return TwilioSmsAdapter(
        account_sid=sid,
        auth_token=token,
        from_number=number,
        api_base_url=config.value("TWILIO_API_BASE_URL") or TWILIO_API,
    )


SPEC = register(
    ChannelSpec(
        channel=Channel.SMS,
        label="SMS",
        settings=(
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "TWILIO_FROM_NUMBER",
        ),
        options=("TWILIO_API_BASE_URL",),
        routes=("/twilio/sms",),
        build=_build,
        unit_contact="phone",
        replies=True,
        acknowledges=True,
    )
)
