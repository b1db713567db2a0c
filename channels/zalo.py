"""Zalo Official Account: webhook events in (signed on the raw bytes), messages out."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
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


MAX_EVENT_BYTES = 64 * 1024  # a Zalo event is a few hundred bytes; media come as URLs
MAX_JSON_DEPTH = 16  # an event nests four levels deep
MAX_EVENT_AGE_SECONDS = 600  # older events are refused: a replayed capture
MAX_CLOCK_AHEAD_SECONDS = 120  # Zalo's clock may run a little ahead of ours, not more
# The signed timestamp, found in the raw bytes: the signature is checked before the body
# is parsed (a body nobody signed is never handed to the JSON parser).
_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?(\d{1,16})"?')
_TIMESTAMPS_TRIED = 4


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """True when the JSON text nests objects and arrays deeper than `limit` (counted
    without parsing: a deep body would exhaust the parser's recursion)."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1
    return False


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

    def __init__(
        self,
        *,
        app_id: str,
        oa_secret_key: str,
        client: ZaloClient,
        max_age_seconds: float = MAX_EVENT_AGE_SECONDS,
    ) -> None:
        self.app_id = app_id
        self.oa_secret_key = oa_secret_key
        self.client = client
        self.max_age_seconds = max_age_seconds

    def verify(self, request: RawRequest) -> None:
        """Size, signature, then freshness, all before the body is parsed."""
        given = request.header("x-zevent-signature")
        if not given:
            raise SignatureError("X-ZEvent-Signature missing", status_code=401)
        if len(request.body) > MAX_EVENT_BYTES:
            raise SignatureError("event larger than any Zalo sends", status_code=413)
        timestamp = self._signed_timestamp(request.body, given.strip().encode())
        age = time.time() - int(timestamp) / 1000
        if age > self.max_age_seconds or age < -MAX_CLOCK_AHEAD_SECONDS:
            raise SignatureError("event timestamp outside the freshness window")

    def _signed_timestamp(self, body: bytes, given: bytes) -> str:
        """The body's timestamp the signature was made with, or SignatureError."""
        candidates = [m.group(1).decode() for m in _TIMESTAMP.finditer(body)]
        if not candidates:
            raise SignatureError("no timestamp to check the signature against")
        for timestamp in candidates[:_TIMESTAMPS_TRIED]:
            expected = zalo_signature(self.app_id, body, timestamp, self.oa_secret_key)
            if hmac.compare_digest(given, expected.encode()):
                return timestamp
        raise SignatureError("X-ZEvent-Signature does not match")

    def parse(self, request: RawRequest) -> ParsedRequest:
        if json_depth_exceeds(request.body, MAX_JSON_DEPTH):
            raise MalformedRequest("JSON nested deeper than any Zalo event")
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError) as exc:
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
    max_age = config.value("HOTLINE_ZALO_EVENT_MAX_AGE_SECONDS")
    return ZaloAdapter(
        app_id=app_id,
        oa_secret_key=oa_secret,
        client=client,
        max_age_seconds=float(max_age) if max_age else MAX_EVENT_AGE_SECONDS,
    )


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
