"""Zalo Official Account: webhook events in (signed on the raw bytes), messages out."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

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
    SendResult,
    SignatureError,
)
from channels.prompts import ack_reference
from channels.registry import ChannelConfig, ChannelSpec, register
from channels.zalo_client import ZALO_API, ZALO_OAUTH, TokenPair, ZaloClient

MEDIA_EVENTS = {
    "user_send_image": "image",
    "user_send_audio": "audio",
    "user_send_file": "file",
    "user_send_video": "video",
    "user_send_gif": "image",
}


def zalo_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """X-ZEvent-Signature: "mac=" + sha256(app_id + raw body + timestamp + OA secret key)."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode())
    return "mac=" + digest.hexdigest()


def _coordinate(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) <= 180 else None


class ZaloAdapter(ChannelAdapter):
    """The hotline's Zalo Official Account."""

    channel = Channel.ZALO

    def __init__(self, *, app_id: str, oa_secret_key: str, client: ZaloClient) -> None:
        self.app_id = app_id
        self.oa_secret_key = oa_secret_key
        self.client = client

    def verify(self, request: RawRequest) -> None:
        given = request.header("x-zevent-signature")
        if not given:
            raise SignatureError("X-ZEvent-Signature missing", status_code=401)
        try:
            data = json.loads(request.body)
            timestamp = str(data["timestamp"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SignatureError("no timestamp to check the signature against") from exc
        expected = zalo_signature(self.app_id, request.body, timestamp, self.oa_secret_key)
        if not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise SignatureError("X-ZEvent-Signature does not match")

    def parse(self, request: RawRequest) -> ParsedRequest:
        try:
            data = json.loads(request.body)
        except ValueError as exc:
            raise MalformedRequest("body is not JSON") from exc
        if not isinstance(data, dict):
            raise MalformedRequest("event is not an object")
        event = str(data.get("event_name", ""))
        sender = str((data.get("sender") or {}).get("id", ""))
        message = data.get("message") or {}
        if not isinstance(message, dict):
            raise MalformedRequest("message is not an object")
        message_id = str(message.get("msg_id") or "")
        try:
            received = datetime.fromtimestamp(int(str(data.get("timestamp"))) / 1000, UTC)
        except (TypeError, ValueError):
            received = datetime.now(UTC)
        provider_id = message_id or f"{event}:{sender}:{data.get('timestamp')}"

        def make(kind: MessageKind, **fields: Any) -> InboundMessage:
            return InboundMessage(
                channel=Channel.ZALO,
                provider_message_id=provider_id,
                sender_id=sender,
                received_at=received,
                kind=kind,
                **fields,
            )

        if not sender or not event.startswith("user_"):
            return ParsedRequest((make(MessageKind.EVENT),))
        text = str(message.get("text") or "")
        if event == "user_send_text":
            reference = ack_reference(text)
            kind = MessageKind.ACK if reference else MessageKind.TEXT
            return ParsedRequest((make(kind, text=text, ack_reference=reference),))
        attachments = message.get("attachments") or []
        first = attachments[0] if isinstance(attachments, list) and attachments else {}
        payload = first.get("payload") or {} if isinstance(first, dict) else {}
        if event == "user_send_location":
            coordinates = payload.get("coordinates") or {} if isinstance(payload, dict) else {}
            lat = _coordinate(coordinates.get("latitude"))
            lon = _coordinate(coordinates.get("longitude"))
            if lat is None or lon is None:
                raise MalformedRequest("location without readable coordinates")
            return ParsedRequest(
                (make(MessageKind.LOCATION, text=text, latitude=lat, longitude=lon),)
            )
        if event in MEDIA_EVENTS:
            url = payload.get("url") if isinstance(payload, dict) else None
            attachment = Attachment(MEDIA_EVENTS[event], url=str(url) if url else None)
            return ParsedRequest((make(MessageKind.MEDIA, text=text, attachments=(attachment,)),))
        return ParsedRequest((make(MessageKind.EVENT),))  # sticker, follow

    async def send(self, message: OutboundMessage) -> SendResult:
        text = message.text
        if message.ack_reference:
            text += f'\nTrả lời "OK {message.ack_reference}" để xác nhận đã nhận.'
        return SendResult(await self.client.send_text(message.recipient, text))

    async def check_credentials(self) -> None:
        await self.client.oa_info()


def _build(config: ChannelConfig) -> ZaloAdapter | None:
    """The Zalo adapter when the app and the Official Account's secrets are set."""
    app_id = config.value("ZALO_APP_ID")
    app_secret, oa_secret = config.value("ZALO_APP_SECRET"), config.value("ZALO_OA_SECRET_KEY")
    if not (app_id and app_secret and oa_secret):
        return None
    # Zalo's refresh token is single use: once rotated, the stored pair is the live one.
    stored = config.load_tokens(TOKENS)
    access, refresh = stored or (
        config.value("ZALO_ACCESS_TOKEN") or "",
        config.value("ZALO_REFRESH_TOKEN") or "",
    )

    def keep(tokens: TokenPair) -> None:
        config.save_tokens(TOKENS, tokens.access_token, tokens.refresh_token)

    client = ZaloClient(
        app_id=app_id,
        app_secret=app_secret,
        tokens=TokenPair(access, refresh),
        api_base_url=config.value("ZALO_API_BASE_URL") or ZALO_API,
        oauth_base_url=config.value("ZALO_OAUTH_BASE_URL") or ZALO_OAUTH,
        on_refresh=keep,
    )
    return ZaloAdapter(app_id=app_id, oa_secret_key=oa_secret, client=client)


TOKENS = "zalo"  # the stored token pair's name
SPEC = register(
    ChannelSpec(
        channel=Channel.ZALO,
        label="Zalo",
        settings=("ZALO_APP_ID", "ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY"),
        options=(
            "ZALO_ACCESS_TOKEN",
            "ZALO_REFRESH_TOKEN",
            "ZALO_API_BASE_URL",
            "ZALO_OAUTH_BASE_URL",
        ),
        routes=("/zalo",),
        build=_build,
        unit_contact="zalo_user_id",
        replies=True,
        acknowledges=True,
        malformed_status=200,  # Zalo retries any other answer
        confirm_by_message=True,  # its webhook answer carries no text
    )
)
