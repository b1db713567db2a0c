"""Chat and SMS tipsters are asked once whether responders may contact them.

The question goes out once per tipster, after their tip is routed; a reply that is only
"đồng ý" (yes) or "không" (no) is their answer, stored as the web form's checkbox is
(`Tipster.consent_to_share`), and goes on the timeline. Anything else is a message. A
caller's answer on the IVR (stored by ingest from the adapter's own message) goes on the
timeline too. Units alerted before a yes are told the contact: `consent_updates.py`.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Channel
from channels.twilio_voice import CONSENT_TEXT
from intake.store.models import Event, Incident, Tipster
from triage.text import fold

CHAT_CHANNELS = {Channel.TELEGRAM, Channel.ZALO, Channel.SMS}
ASK = (
    "Tổng đài 111 đã chuyển tin của bạn (mã {reference}) cho đơn vị xử lý. Bạn có đồng ý "
    'để họ liên hệ trực tiếp với bạn không? Trả lời "ĐỒNG Ý" hoặc "KHÔNG". / May the '
    'responders contact you directly? Reply "DONG Y" (yes) or "KHONG" (no).'
)
YES = {"dong y", "co", "co dong y", "toi dong y", "dong y chia se", "ok", "yes", "dy"}
NO = {"khong", "khong dong y", "ko", "k", "no", "toi khong dong y", "khong dong y chia se"}


def answer(text: str) -> bool | None:
    """True for a yes, False for a no, None for anything else."""
    words = " ".join(re.findall(r"[0-9a-z]+", fold(text)))
    return True if words in YES else False if words in NO else None


# The IVR adapter's own words for a caller's answer (ingest stores the answer itself).
IVR_ANSWERS = {text: said for said, text in CONSENT_TEXT.items()}


def is_answer(channel: str, text: str) -> bool:
    """Whether a message is only an answer to the question (nothing for the units)."""
    if channel == Channel.VOICE:
        return text in IVR_ANSWERS
    return channel in CHAT_CHANNELS and len(text) <= 40 and answer(text) is not None


def read_answer(
    *, session: Session, incident: Incident, tipster: Tipster | None, text: str
) -> bool:
    """Store a follow-up that answers the question (True when it did)."""
    if tipster is not None and incident.channel == Channel.VOICE and text in IVR_ANSWERS:
        # Ingest stored the answer on the tipster already; the timeline is told here.
        session.add(
            Event(
                incident_id=incident.id,
                actor="tipster",
                action="consent",
                detail={"consent": IVR_ANSWERS[text]},
            )
        )
        return True
    if tipster is None or incident.channel not in CHAT_CHANNELS or len(text) > 40:
        return False
    said = answer(text)
    if said is None:
        return False
    asked = session.scalars(
        select(Event.id).where(Event.incident_id == incident.id, Event.action == "asked_consent")
    ).first()
    if asked is None:
        return False
    tipster.consent_to_share = said
    if said:
        tipster.anonymous = False
    session.add(
        Event(incident_id=incident.id, actor="tipster", action="consent", detail={"consent": said})
    )
    return True
