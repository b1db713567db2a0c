"""What an alert to a responding unit says: what it needs to act, and nothing more."""

from __future__ import annotations

from sqlalchemy.orm import Session

from intake.pipeline.context import Services
from intake.store.models import Incident, Tipster

LEVEL_NAMES = {"P1": "KHẨN CẤP", "P2": "CAO", "P3": "TRUNG BÌNH"}
GENDER = {"female": "nữ", "male": "nam", "other": "khác"}
SUMMARY_CHARS = 400


def alert_text(*, incident: Incident, services: Services, session: Session) -> str:
    """The alert: reference, level, place, what happens, victim; the tipster only with consent."""
    place = services.geography.place_name(incident.ward_code, incident.province_code)
    victim = []
    if incident.victim_age is not None:
        victim.append(f"{incident.victim_age} tuổi")
    if incident.victim_gender:
        victim.append(GENDER.get(incident.victim_gender, incident.victim_gender))
    lines = [
        f"[111] {incident.reference} — {incident.level} "
        f"{LEVEL_NAMES.get(incident.level or '', '')}",
        f"Nơi xảy ra: {place or 'chưa rõ'}"
        + (f" ({incident.location_text})" if incident.location_text else ""),
        f"Loại việc: {', '.join(incident.categories) or 'chưa rõ'}",
        f"Nạn nhân: {', '.join(victim) or 'chưa rõ'}",
        f"Nội dung: {(incident.summary or '')[:SUMMARY_CHARS]}",
    ]
    tipster = session.get(Tipster, incident.tipster_id) if incident.tipster_id else None
    if tipster is not None and tipster.consent_to_share:
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
