"""Chat and SMS tipsters are asked once whether responders may contact them.

The question goes out once per tipster, after their tip is routed; a reply that is only
"đồng ý" (yes) or "không" (no) is their answer, stored as the web form's checkbox is
(`Tipster.consent_to_share`), and goes on the timeline. Anything else is a message.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import Channel
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


def read_answer(
    *, session: Session, incident: Incident, tipster: Tipster | None, text: str
) -> bool:
    """Store a follow-up that answers the question (True when it did)."""
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
