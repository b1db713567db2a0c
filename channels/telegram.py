"""Telegram: python-telegram-bot in webhook mode behind our FastAPI route.

Updates are checked with the secret token Telegram sends (constant time), parsed with
PTB's `Update.de_json`, and deduplicated on `update_id`. Answers that need no state ride
on the webhook response itself (the Bot API allows one method call there): /start and
/help texts, the answer to an alert's outcome button, the reference of a new report.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from channels.base import (
    BUTTON,
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
from channels.prompts import HELP, RECEIVED, UNIT_OUTCOMES, UNSUPPORTED, WELCOME, ack_reference
from channels.registry import ChannelConfig, ChannelSpec, register
from channels.telegram_request import AiohttpRequest

TELEGRAM_API = "https://api.telegram.org"
ACK_PREFIX = "ack:"  # the one button of alerts sent before the outcome buttons
BUTTONS_PER_ROW = 2
SEND_CONCURRENCY = 8  # connections to the Bot API (intake.pipeline.deliver sends 8 at a time)


def _method(name: str, **fields: Any) -> WebhookReply:
    """A Bot API call carried by the webhook answer."""
    return WebhookReply(
        200, "application/json", json.dumps({"method": name, **fields}, ensure_ascii=False)
    )


def outcome_keyboard(reference: str) -> InlineKeyboardMarkup:
    """An alert's buttons: each outcome a unit can report, carrying the reference."""
    buttons = [
        InlineKeyboardButton(vietnamese, callback_data=f"{code}:{reference}"[:64])
        for code, (vietnamese, _) in UNIT_OUTCOMES.items()
    ]
    rows = [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
    return InlineKeyboardMarkup(rows)


def read_button(data: str) -> tuple[str, str] | None:
    """(outcome, reference) of a button's callback data, or None for data not ours."""
    code, _, reference = data.partition(":")
    code = "received" if code + ":" == ACK_PREFIX else code
    if code not in UNIT_OUTCOMES or ack_reference(f"ok {reference}") != reference:
        return None
    return code, reference


class TelegramAdapter(ChannelAdapter):
    """The hotline's Telegram bot."""

    channel = Channel.TELEGRAM

    def __init__(self, *, token: str, secret_token: str, api_base_url: str = TELEGRAM_API) -> None:
        if not secret_token:
            raise ValueError("a Telegram webhook secret token is required")
        self.secret_token = secret_token
        # Alerts are sent together (intake.pipeline.deliver): PTB's default pool of one connection
        # would queue them and time out waiting for it.
        self.bot = Bot(
            token,
            base_url=f"{api_base_url.rstrip('/')}/bot",
            request=AiohttpRequest(connection_pool_size=SEND_CONCURRENCY),
        )
        self._ready: asyncio.Lock | None = None

    def verify(self, request: RawRequest) -> None:
        given = request.header("x-telegram-bot-api-secret-token")
        if given is None:
            raise SignatureError("X-Telegram-Bot-Api-Secret-Token missing", status_code=401)
        if not hmac.compare_digest(given.encode(), self.secret_token.encode()):
            raise SignatureError("X-Telegram-Bot-Api-Secret-Token does not match")

    def parse(self, request: RawRequest) -> ParsedRequest:
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError) as exc:  # a deep body exhausts the parser
            raise MalformedRequest("body is not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise MalformedRequest("not a Telegram update (no update_id)")
        try:
            update = Update.de_json(data, self.bot)
        except (ValueError, TypeError, KeyError, AttributeError, TelegramError) as exc:
            raise MalformedRequest(f"not a Telegram update: {type(exc).__name__}") from exc
        update_id = str(update.update_id)
        if update.callback_query is not None:
            return self._callback(update, update_id)
        message = update.message or update.edited_message
        if message is None or message.chat is None:
            event = self._message(update_id, "0", MessageKind.EVENT)
            return ParsedRequest((event,))
        chat_id = str(message.chat.id)
        sender = message.from_user
        name = sender.full_name if sender else None
        received = message.date.astimezone(UTC) if message.date else datetime.now(UTC)
        text = message.text or message.caption or ""
        if text.startswith("/start") or text.startswith("/help"):
            command = self._message(
                update_id, chat_id, MessageKind.COMMAND, text=text, received_at=received
            )
            reply = WELCOME if text.startswith("/start") else HELP
            return ParsedRequest((command,), _method("sendMessage", chat_id=chat_id, text=reply))
        if (reference := ack_reference(text)) is not None:
            ack = self._message(
                update_id,
                chat_id,
                MessageKind.ACK,
                text=text,
                received_at=received,
                ack_reference=reference,
            )
            return ParsedRequest((ack,))
        kind, attachments, lat, lon, phone = MessageKind.TEXT, [], None, None, None
        if message.location is not None:
            kind, lat, lon = (
                MessageKind.LOCATION,
                message.location.latitude,
                message.location.longitude,
            )
        elif message.contact is not None:
            kind, phone = MessageKind.CONTACT, message.contact.phone_number
        elif message.photo:
            kind = MessageKind.MEDIA
            attachments.append(Attachment("image", provider_id=message.photo[-1].file_id))
        elif message.voice is not None:
            kind = MessageKind.MEDIA
            attachments.append(
                Attachment(
                    "audio", provider_id=message.voice.file_id, content_type=message.voice.mime_type
                )
            )
        elif message.document is not None:
            kind = MessageKind.MEDIA
            attachments.append(
                Attachment(
                    "file",
                    provider_id=message.document.file_id,
                    content_type=message.document.mime_type,
                )
            )
        elif message.sticker is not None or not text:
            event = self._message(update_id, chat_id, MessageKind.EVENT, received_at=received)
            return ParsedRequest(
                (event,), _method("sendMessage", chat_id=chat_id, text=UNSUPPORTED)
            )
        inbound = self._message(
            update_id,
            chat_id,
            kind,
            text=text,
            received_at=received,
            sender_name=name,
            sender_phone=phone,
            latitude=lat,
            longitude=lon,
            attachments=tuple(attachments),
        )
        return ParsedRequest((inbound,))

    def _callback(self, update: Update, update_id: str) -> ParsedRequest:
        """A button pressed on an alert: the outcome it carries, from the chat it was
        pressed in (the unit's group or private chat), answered on the webhook reply."""
        query = update.callback_query
        assert query is not None
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        pressed = read_button(query.data or "")
        outcome, reference = pressed if pressed else (None, None)
        event = self._message(
            update_id,
            str(chat),
            MessageKind.EVENT,
            text=UNIT_OUTCOMES[outcome][0] if outcome else "",
            ack_reference=reference,
            sender_name=query.from_user.full_name,
            extra={BUTTON: outcome} if outcome else {},
        )
        said = (
            f"Tổng đài 111 đã ghi nhận: {UNIT_OUTCOMES[outcome][0]} ({reference})"
            if outcome
            else ""
        )
        answer = _method("answerCallbackQuery", callback_query_id=query.id, text=said)
        return ParsedRequest((event,), answer)

    @staticmethod
    def _message(update_id: str, chat_id: str, kind: MessageKind, **fields: Any) -> InboundMessage:
        fields.setdefault("received_at", datetime.now(UTC))
        return InboundMessage(
            channel=Channel.TELEGRAM,
            provider_message_id=update_id,
            sender_id=chat_id,
            kind=kind,
            **fields,
        )

    def reply_after_store(
        self, parsed: ParsedRequest, references: tuple[str | None, ...]
    ) -> WebhookReply:
        """A report gets its reference back on the webhook answer."""
        message = parsed.messages[0] if parsed.messages else None
        reference = references[0] if references else None
        if (
            message is None
            or reference is None
            or message.kind in (MessageKind.ACK, MessageKind.COMMAND, MessageKind.EVENT)
        ):
            return parsed.reply
        return _method(
            "sendMessage", chat_id=message.sender_id, text=RECEIVED.format(reference=reference)
        )

    async def _initialized(self) -> None:
        if self._ready is None:
            self._ready = asyncio.Lock()
        async with self._ready:
            await self.bot.initialize()

    async def send(self, message: OutboundMessage) -> SendResult:
        markup = outcome_keyboard(message.ack_reference) if message.ack_reference else None
        try:
            await self._initialized()
            sent = await self.bot.send_message(
                chat_id=message.recipient, text=message.text[:4096], reply_markup=markup
            )
        except RetryAfter as exc:
            retry = exc.retry_after
            seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)
            raise SendError("telegram rate limit", retryable=True, retry_after=seconds) from exc
        except (TimedOut, NetworkError) as exc:
            if isinstance(exc, BadRequest):
                raise SendError(f"telegram refused: {exc.message}", retryable=False) from exc
            raise SendError(f"telegram unreachable: {type(exc).__name__}", retryable=True) from exc
        except (Forbidden, BadRequest, TelegramError) as exc:
            raise SendError(f"telegram refused: {type(exc).__name__}", retryable=False) from exc
        return SendResult(str(sent.message_id))

    async def set_webhook(self, url: str) -> None:
        """Tell Telegram where to send updates, with the secret it must send back."""
        try:
            await self._initialized()
            await self.bot.set_webhook(
                url=url,
                secret_token=self.secret_token,
                allowed_updates=["message", "edited_message", "callback_query"],
            )
        except TelegramError as exc:
            raise ChannelError(f"telegram refused the webhook: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        await self.bot.shutdown()

    async def check_credentials(self) -> None:
        try:
            await self.bot.get_me()
        except TelegramError as exc:
            raise ChannelError(f"telegram token does not work: {type(exc).__name__}") from exc


def _build(config: ChannelConfig) -> TelegramAdapter | None:
    """The Telegram adapter when the bot token and the webhook secret are set."""
    token, secret = config.value("TELEGRAM_BOT_TOKEN"), config.value("TELEGRAM_SECRET_TOKEN")
    if not (token and secret):
        return None
    return TelegramAdapter(
        token=token,
        secret_token=secret,
        api_base_url=config.value("TELEGRAM_API_BASE_URL") or TELEGRAM_API,
    )


async def _set_webhook(adapter: ChannelAdapter, base_url: str) -> str:
    """Register /webhooks/telegram, with the secret Telegram sends back."""
    url = base_url.rstrip("/") + "/webhooks/telegram"
    assert isinstance(adapter, TelegramAdapter)
    await adapter.set_webhook(url)
    return url


SPEC = register(
    ChannelSpec(
        channel=Channel.TELEGRAM,
        label="Telegram",
        settings=("TELEGRAM_BOT_TOKEN", "TELEGRAM_SECRET_TOKEN"),
        options=("TELEGRAM_API_BASE_URL",),
        routes=("/telegram",),
        build=_build,
        unit_contact="telegram_chat_id",
        replies=True,
        acknowledges=True,
        malformed_status=200,  # Telegram retries any other answer
        set_webhook=_set_webhook,
    )
)
