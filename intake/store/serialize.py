"""The stored form of inbound messages (JSON, encrypted by the caller)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from channels.base import Attachment, Channel, InboundMessage, MessageKind


def dump_message(message: InboundMessage) -> str:
    """The JSON form of an inbound message, as stored (encrypted) in the inbox."""
    # A shallow copy of its fields: dataclasses.asdict deep-copies and costs more than the
    # rest of storing a tip.
    data: dict[str, Any] = dict(vars(message))
    data["channel"] = str(message.channel)
    data["kind"] = str(message.kind)
    data["received_at"] = message.received_at.isoformat()
    data["attachments"] = [vars(attachment) for attachment in message.attachments]
    data["extra"] = dict(message.extra)
    return json.dumps(data, ensure_ascii=False)


def load_message(text: str) -> InboundMessage:
    """Rebuild an inbound message from its stored JSON."""
    data: dict[str, Any] = json.loads(text)
    data["channel"] = Channel(data["channel"])
    data["kind"] = MessageKind(data["kind"])
    data["received_at"] = datetime.fromisoformat(data["received_at"])
    data["attachments"] = tuple(Attachment(**a) for a in data.get("attachments", ()))
    return InboundMessage(**data)
