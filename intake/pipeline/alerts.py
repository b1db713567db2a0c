"""What an alert to a responding unit says: what it needs to act, and nothing more."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from intake.pipeline.context import Services
from intake.store.models import Incident, Tipster

LEVEL_NAMES = {"P1": "KHẨN CẤP", "P2": "CAO", "P3": "TRUNG BÌNH"}
GENDER = {"female": "nữ", "male": "nam", "other": "khác"}
SUMMARY_CHARS = 400
PHONE_MASK = "[số điện thoại ẩn]"
NAME_MASK = "[tên người báo ẩn]"

# A phone number: 8 or more digits, maybe after +84, maybe cut by single spaces, dots or
# dashes ("091 234 5678", "+84.912.345.678"). Dates and the 111 line have fewer digits.
_PHONE = re.compile(r"(?<![\w+])(?:\+?\d[ .\-]?){7,}\d(?!\w)")
# A tipster naming themselves: "tên em là Lan", "em tên Lan", "tôi tên là ...", "my name
# is ...", "họ tên: ..." (with or without diacritics), then up to four words of name.
_SELF = r"(?:em|tôi|toi|mình|minh|tớ|to|cháu|chau|tao)"
_STOP = (  # words that end a name: "tên em là Lan ở ...", "my name is An and ..."
    r"(?:ở|o|nhà|nha|và|va|năm|nam|sinh|học|hoc|đang|dang|bị|bi|là|la|số|so|sdt|đt|dt"
    r"|ạ|a|nhé|nhe|and|i|from|at|in|age|aged|phone)"
)
_NAME = rf"(?:(?!{_STOP}\b)[^\W\d_]+)(?:\s+(?!{_STOP}\b)[^\W\d_]+){{0,3}}"
_SELF_NAMED = re.compile(
    rf"(\b(?:t[êe]n\s+(?:c[ủu]a\s+)?{_SELF}\s+(?:l[àa]\s+)?"
    rf"|{_SELF}\s+t[êe]n\s+(?:l[àa]\s+)?"
    rf"|h[ọo]\s+(?:v[àa]\s+)?t[êe]n\s*:?\s*"
    rf"|my\s+name\s+is\s+|my\s+name's\s+|i\s+am\s+called\s+))({_NAME})",
    re.IGNORECASE,
)


def mask_tipster(text: str) -> str:
    """The text with phone numbers and the tipster's own name masked: for alerts, which
    carry the tipster's words only as far as they did not agree to share who they are."""
    text = _PHONE.sub(PHONE_MASK, text)
    return _SELF_NAMED.sub(lambda m: m.group(1) + NAME_MASK, text)


def alert_text(*, incident: Incident, services: Services, session: Session) -> str:
    """The alert: reference, level, place, what happens, victim; the tipster only with consent."""
    place = services.geography.place_name(incident.ward_code, incident.province_code)
    tipster = session.get(Tipster, incident.tipster_id) if incident.tipster_id else None
    shared = tipster is not None and tipster.consent_to_share
    summary = (incident.summary or "")[:SUMMARY_CHARS]
    where = incident.location_text or ""
    if not shared:
        summary, where = mask_tipster(summary), mask_tipster(where)
    victim = []
    if incident.victim_age is not None:
        victim.append(f"{incident.victim_age} tuổi")
    if incident.victim_gender:
        victim.append(GENDER.get(incident.victim_gender, incident.victim_gender))
    lines = [
        f"[111] {incident.reference} — {incident.level} "
        f"{LEVEL_NAMES.get(incident.level or '', '')}",
        f"Nơi xảy ra: {place or 'chưa rõ'}" + (f" ({where})" if where else ""),
        f"Loại việc: {', '.join(incident.categories) or 'chưa rõ'}",
        f"Nạn nhân: {', '.join(victim) or 'chưa rõ'}",
        f"Nội dung: {summary}",
    ]
    if tipster is not None and shared:
        name = services.cipher.decrypt(tipster.display_name) or ""
        phone = services.cipher.decrypt(tipster.phone) or ""
        if name or phone:
            lines.append(f"Người báo (đồng ý chia sẻ): {name} {phone}".rstrip())
    else:
        lines.append("Người báo: bảo mật — liên hệ Tổng đài 111 để gọi lại.")
    lines.append(
        f"Console: {services.settings.public_base_url.rstrip('/')}/console/incidents/{incident.id}"
    )
    lines.append(f'Xác nhận đã nhận: trả lời "OK {incident.reference}".')
    return "\n".join(lines)
