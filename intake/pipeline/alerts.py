"""What an alert to a responding unit says: what it needs to act, and nothing more."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from intake.pipeline.context import Services
from intake.store.models import Incident, Tipster
from intake.store.times import VN_TZ
from triage.labels import SEX_VI, category_words, purpose_words
from triage.text import strip_diacritics

LEVEL_NAMES = {"P1": "KHẨN CẤP", "P2": "CAO", "P3": "TRUNG BÌNH"}
SUMMARY_CHARS = 400
# An SMS alert fits two segments: GSM-7 text (no diacritics), 153 characters a segment.
SMS_CHARACTERS = 2 * 153
_NOT_GSM = re.compile(r"[^A-Za-z0-9 .,:;!?'\"()/+*#%&<=>@_$\n-]")
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


def alert_text(
    *, incident: Incident, services: Services, session: Session, compact: bool = False
) -> str:
    """The alert: reference, level, place, what happens, victim, when reported; the tipster
    only with consent. `compact`: the SMS form, two segments at most."""
    place = services.geography.place_name(incident.ward_code, incident.province_code)
    tipster = session.get(Tipster, incident.tipster_id) if incident.tipster_id else None
    shared = tipster is not None and tipster.consent_to_share
    summary = (incident.summary or "")[:SUMMARY_CHARS]
    where = incident.location_text or ""
    if not shared:
        summary, where = mask_tipster(summary), mask_tipster(where)
    kinds = ", ".join(category_words(list(incident.categories))) or "chưa rõ"
    if purpose := purpose_words(incident.trafficking_purpose):
        kinds += f" ({purpose})"
    victim = []
    if incident.victim_age is not None:
        victim.append(f"{incident.victim_age} tuổi")
    if incident.victim_gender:
        victim.append(SEX_VI.get(incident.victim_gender, incident.victim_gender))
    reported = incident.received_at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
    callback = services.settings.callback_phone
    link = f"{services.settings.public_base_url.rstrip('/')}/console/incidents/{incident.id}"
    if compact:
        return _compact(incident, place or "chua ro", kinds, victim, summary, link)
    lines = [
        f"[111] {incident.reference} — {incident.level} "
        f"{LEVEL_NAMES.get(incident.level or '', '')}",
        f"Nơi xảy ra: {place or 'chưa rõ'}" + (f" ({where})" if where else ""),
        f"Loại việc: {kinds}",
        f"Nạn nhân: {', '.join(victim) or 'chưa rõ'}",
        f"Báo lúc: {reported} (giờ Việt Nam)",
        f"Nội dung: {summary}",
    ]
    if tipster is not None and shared:
        name = services.cipher.decrypt(tipster.display_name) or ""
        phone = services.cipher.decrypt(tipster.phone) or ""
        if name or phone:
            lines.append(f"Người báo (đồng ý chia sẻ): {name} {phone}".rstrip())
    else:
        lines.append(f"Người báo: bảo mật — gọi Tổng đài {callback} để được nối lại.")
    lines.append(f"Console: {link}")
    lines.append(f'Xác nhận đã nhận: trả lời "OK {incident.reference}".')
    return "\n".join(lines)


def _compact(
    incident: Incident, place: str, kinds: str, victim: list[str], summary: str, link: str
) -> str:
    """The SMS form: the essentials without diacritics, the summary cut to fit."""
    head = (
        f"111 {incident.reference} {incident.level} {LEVEL_NAMES.get(incident.level or '', '')}"
        f". Noi: {place}. Loai: {kinds}. Nan nhan: {', '.join(victim) or 'chua ro'}."
    )
    tail = f" Chi tiet: {link} Tra loi: OK {incident.reference}"
    room = SMS_CHARACTERS - len(gsm(head)) - len(gsm(tail)) - len(" ND: ")
    said = gsm(summary.replace("\n", " "))
    if room < len(said):
        said = said[: max(0, room - 3)].rstrip() + "..."
    text = gsm(head) + (f" ND: {said}" if room > 10 else "") + gsm(tail)
    return text[:SMS_CHARACTERS]


def gsm(text: str) -> str:
    """Text an SMS carries in GSM-7: no diacritics, nothing outside the basic alphabet."""
    return _NOT_GSM.sub("", strip_diacritics(text).replace("—", "-"))
