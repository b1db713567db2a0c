"""The contract every channel adapter implements, and the messages that cross it.

An adapter is the transport edge: it verifies a provider's request, parses it into inbound
messages plus the answer the provider expects, and sends outbound messages. It knows
nothing about incidents. `ChannelAdapter.handle` is the only entry point the service
calls, so no adapter can parse a request it has not verified.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import final


class Channel(StrEnum):
    """Where a message came from or goes to."""

    VOICE = "voice"
    SMS = "sms"
    TELEGRAM = "telegram"
    ZALO = "zalo"
    WEB_FORM = "web_form"
    API = "api"


class MessageKind(StrEnum):
    """What an inbound message carries."""

    TEXT = "text"
    LOCATION = "location"
    CONTACT = "contact"
    MEDIA = "media"
    CALL = "call"
    COMMAND = "command"
    ACK = "ack"  # a responder acknowledged an alert (button, reply)
    EVENT = "event"  # follow, unfollow, delivery receipts: stored, not an incident


# The `extra` key of a button a responder pressed on an alert (an EVENT carrying the
# outcome code, with the alert's reference as `ack_reference`): only a unit's own chat
# gives it a meaning, so from anyone else it stays an event, never a tip.
BUTTON = "button"


@dataclass(frozen=True)
class RawRequest:
    """An HTTP request as the provider sent it, before anything is trusted."""

    method: str
    url: str  # the public URL the provider called (rebuilt from the public base URL)
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    client_ip: str | None = None

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Attachment:
    """A photo, recording or file, kept by reference, never downloaded into logs."""

    kind: str  # image, audio, video, file, sticker, recording
    url: str | None = None
    provider_id: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """One message from a tipster or responder, normalised across providers."""

    channel: Channel
    provider_message_id: str  # the provider's id; the inbox dedupes on (channel, this)
    sender_id: str  # chat id, Zalo user id, phone number, call sid...
    kind: MessageKind
    received_at: datetime
    text: str = ""
    sender_phone: str | None = None
    sender_name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    attachments: tuple[Attachment, ...] = ()
    conversation_key: str | None = None  # e.g. a call sid: messages sharing it join one incident
    ack_reference: str | None = None  # for ACK: the incident reference acknowledged
    urgent: bool = False  # the caller chose "a child is in danger now"
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookReply:
    """What the provider gets back once the messages are durably stored."""

    status_code: int = 200
    media_type: str = "text/plain"
    body: str = ""


@dataclass(frozen=True)
class ParsedRequest:
    """The messages one provider request carries and the answer it expects."""

    messages: tuple[InboundMessage, ...]
    reply: WebhookReply = WebhookReply()


@dataclass(frozen=True)
class OutboundMessage:
    """A text to one recipient on one channel, with an optional acknowledge button."""

    channel: Channel
    recipient: str  # chat id, Zalo user id or E.164 phone number
    text: str
    ack_reference: str | None = None  # adds the outcome buttons carrying this reference
    idempotency_key: str | None = None


@dataclass(frozen=True)
class SendResult:
    """The provider's id for a sent message."""

    provider_message_id: str


class ChannelError(Exception):
    """Base of the errors adapters raise."""


class SignatureError(ChannelError):
    """The request is not from the provider: answer 401/403 and store nothing."""

    def __init__(self, message: str, status_code: int = 403) -> None:
        super().__init__(message)
        self.status_code = status_code


class MalformedRequest(ChannelError):
    """Signed correctly but unreadable: store it for inspection, never answer 500."""


class SendError(ChannelError):
    """A send failed; `retryable` tells the delivery worker whether to try again."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class ChannelAdapter(abc.ABC):
    """One provider: verify, parse, send, check credentials."""

    channel: Channel

    @final
    def handle(self, request: RawRequest) -> ParsedRequest:
        """Verify the request, then parse it. The only way the service reads a request."""
        self.verify(request)
        return self.parse(request)

    def reply_after_store(
        self, parsed: ParsedRequest, references: tuple[str | None, ...]
    ) -> WebhookReply:
        """The answer once the messages are stored; adapters whose answer carries the
        incident reference (Twilio SMS) override this."""
        return parsed.reply

    @abc.abstractmethod
    def verify(self, request: RawRequest) -> None:
        """Raise SignatureError unless the provider signed this exact request."""

    @abc.abstractmethod
    def parse(self, request: RawRequest) -> ParsedRequest:
        """Turn a verified request into messages; raise MalformedRequest when unreadable."""

    @abc.abstractmethod
    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message; raise SendError classified as retryable or permanent."""

    @abc.abstractmethod
    async def check_credentials(self) -> None:
        """Raise ChannelError when the configured credentials do not work."""

    async def aclose(self) -> None:  # noqa: B027 - most adapters hold nothing to close
        """Release what the adapter holds on the running event loop (connections)."""
