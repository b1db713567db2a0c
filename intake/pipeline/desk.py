"""The operator's desk: a case from a phone call (corrections: `corrections.py`).

A call is filed as any tip is: stored in the inbox, made an incident, then located,
triaged and routed by the pipeline's own jobs. What the operator chose (level,
categories, purpose, place, the victim) is final: triage keeps it, and a level or
categories the operator set are kept as labelled feedback (`feedback.overrule_level`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from channels.base import Channel, InboundMessage, MessageKind
from intake.pipeline.consent_updates import send_consent_updates
from intake.pipeline.context import Services
from intake.pipeline.feedback import CATEGORIES, overrule_level
from intake.pipeline.inbox import accept
from intake.pipeline.incidents import clean_text
from intake.store import jobs
from intake.store.models import Incident, Message, Tipster, utcnow
from intake.store.timeline import add_event
from triage import classify
from triage.rules import Purpose

SEXES = ("female", "male", "other")
AGE_GROUPS = ("under_6", "6-11", "12-15", "16-17", "adult")
PURPOSES = tuple(str(p) for p in Purpose)
RELATIONS = ("self", "parent", "relative", "neighbour", "teacher", "friend", "official", "other")
LEVELS = ("P1", "P2", "P3", "P4", "SPAM")
CALL_REASON = "Điện thoại viên ghi nhận cuộc gọi (operator recorded the call)"


@dataclass
class Victim:
    """The victim(s) as the caller describes them."""

    sex: str | None = None
    age: int | None = None
    age_group: str | None = None
    count: int | None = None
    disability: bool | None = None


@dataclass
class Caller:
    """Who called, and whether they agree that responders may contact them."""

    relation: str | None = None
    phone: str | None = None
    name: str | None = None
    consent: bool = False


@dataclass
class CallRecord:
    """What an operator wrote down during a call."""

    text: str
    ward_code: int | None = None
    province_code: int | None = None
    level: str | None = None
    categories: list[str] | None = None
    trafficking_purpose: str | None = None
    victim: Victim = field(default_factory=Victim)
    caller: Caller = field(default_factory=Caller)
    key: str | None = None  # the form's own id: filing twice files once


class DeskError(ValueError):
    """A value the desk refuses, in words for the operator."""


def check(record: CallRecord) -> None:
    """Refuse values no field takes."""
    if not record.text.strip():
        raise DeskError("Ghi lại nội dung cuộc gọi (write what the caller said)")
    if record.level is not None and record.level not in LEVELS:
        raise DeskError("mức độ không hợp lệ (unknown level)")
    unknown = set(record.categories or []) - CATEGORIES
    if unknown:
        raise DeskError(f"loại việc không hợp lệ (unknown categories): {sorted(unknown)}")
    if record.trafficking_purpose is not None and record.trafficking_purpose not in PURPOSES:
        raise DeskError("mục đích mua bán người không hợp lệ (unknown purpose)")
    if record.caller.relation is not None and record.caller.relation not in RELATIONS:
        raise DeskError("quan hệ người gọi không hợp lệ (unknown relation)")
    check_victim(record.victim)


def check_victim(victim: Victim) -> None:
    """Refuse a sex, age, age group or number of victims no report counts."""
    if victim.sex is not None and victim.sex not in SEXES:
        raise DeskError("giới tính không hợp lệ (unknown sex)")
    if victim.age is not None and not 0 <= victim.age <= 120:
        raise DeskError("tuổi từ 0 đến 120 (age 0 to 120)")
    if victim.age_group is not None and victim.age_group not in AGE_GROUPS:
        raise DeskError("nhóm tuổi không hợp lệ (unknown age group)")
    if victim.count is not None and not 1 <= victim.count <= 10_000:
        raise DeskError("số nạn nhân từ 1 (number of victims from 1)")


def suggestion(services: Services, text: str) -> dict[str, Any]:
    """What triage makes of the operator's words so far (nothing is written)."""
    result = classify(text[:20_000], rules=services.pipeline.rules, channel="voice")
    location = services.pipeline.resolver.resolve(text[:5_000])
    return {
        "level": str(result.level),
        "categories": [str(c) for c in result.categories],
        "trafficking_purpose": str(result.trafficking_purpose)
        if result.trafficking_purpose
        else None,
        "reasons": [r.to_json() for r in result.reasons],
        "victim_age": result.victim_age,
        "victim_gender": result.victim_gender,
        "place": [c.to_json() for c in location.candidates[:5]],
    }


def file_call(
    *, session: Session, services: Services, record: CallRecord, actor: str, user_id: int
) -> Incident:
    """Store the call as a tip and apply the operator's choices; the pipeline routes it."""
    check(record)
    key = record.key or uuid.uuid4().hex
    phone = (record.caller.phone or "").strip() or None
    extra = {"recorded_by": actor}
    if record.caller.consent:
        extra["consent_to_share"] = "true"
    if record.ward_code is None and record.province_code is not None:
        province = services.geography.province(record.province_code)
        if province is None:
            raise DeskError("chọn tỉnh/thành phố (choose a province)")
        extra["location_text"] = province.name
    message = InboundMessage(
        channel=Channel.VOICE,
        provider_message_id=f"console:{key[:100]}",
        sender_id=phone or f"console:{key[:100]}",
        kind=MessageKind.TEXT,
        received_at=utcnow(),
        text=clean_text(record.text[:20_000]),
        sender_phone=phone,
        sender_name=(record.caller.name or "").strip()[:200] or None,
        extra=extra,
    )
    (accepted,) = accept(
        session=session,
        cipher=services.cipher,
        messages=(message,),
        raw_body=None,
        options=services.ingest,
    )
    if accepted.incident_id is None:
        raise DeskError("không lưu được cuộc gọi, thử lại (the call was not stored: retry)")
    incident = session.get(Incident, accepted.incident_id)
    assert incident is not None
    if accepted.duplicate:
        return incident  # the same form filed twice
    incident.caller_relation = record.caller.relation
    add_event(
        session=session,
        incident=incident,
        actor=actor,
        action="call_recorded",
        detail={"caller_relation": record.caller.relation, "consent": record.caller.consent},
    )
    _choices(session, services, incident, record, actor)
    return incident


def add_call(
    *,
    session: Session,
    services: Services,
    incident: Incident,
    record: CallRecord,
    actor: str,
    user_id: int,
) -> Incident:
    """The operator's record of a call that came in on the IVR, added to its incident."""
    check(record)
    session.add(
        Message(
            incident_id=incident.id,
            direction="in",
            channel=str(Channel.VOICE),
            kind=str(MessageKind.TEXT),
            text=clean_text(record.text[:20_000]),
            attachments=[],
            author_user_id=user_id,
        )
    )
    add_event(
        session=session,
        incident=incident,
        actor=actor,
        action="call_recorded",
        detail={"caller_relation": record.caller.relation, "consent": record.caller.consent},
    )
    incident.caller_relation = record.caller.relation or incident.caller_relation
    _choices(session, services, incident, record, actor)
    # The caller agreeing now: stored on them as any consent, and units alerted before told.
    agreed = record.caller.consent and set_caller(session, incident, {"consent": True}, actor)
    session.flush()
    if agreed:
        send_consent_updates(session=session, services=services, incident=incident)
    session.expire(incident, ["messages"])
    jobs.enqueue(session=session, kind="process", key=str(incident.id))
    return incident


def _choices(
    session: Session, services: Services, incident: Incident, record: CallRecord, actor: str
) -> None:
    """The operator's level, categories, purpose, place and victim: final."""
    victim = record.victim
    if any(v is not None for v in (victim.sex, victim.age, victim.age_group, victim.count)):
        _set_victim(incident, victim)
    if record.ward_code is not None:
        ward = services.geography.ward(record.ward_code)
        if ward is None:
            raise DeskError("chọn xã/phường (choose a commune)")
        set_place(incident, ward.code, ward.province_code)
    if record.level or record.categories is not None or record.trafficking_purpose:
        level = (
            record.level
            or classify(record.text, rules=services.pipeline.rules, channel="voice").level
        )
        overrule_level(
            session=session,
            incident=incident,
            level=str(level),
            categories=record.categories,
            reason=CALL_REASON,
            actor=actor,
        )
        if record.trafficking_purpose:
            incident.trafficking_purpose = record.trafficking_purpose


def _set_victim(incident: Incident, victim: Victim) -> None:
    incident.victim_gender = victim.sex
    incident.victim_age = victim.age
    incident.victim_age_group = victim.age_group if victim.age is None else None
    incident.victim_count = victim.count
    incident.victim_disability = victim.disability
    incident.victim_set_by_operator = True


def set_place(incident: Incident, ward_code: int, province_code: int) -> None:
    """The place an operator chose: final, the resolver no longer moves it."""
    incident.ward_code, incident.province_code = ward_code, province_code
    incident.location_set_by_operator = True
    incident.location_confidence = 1.0
    incident.location_source = "operator"


def set_caller(
    session: Session, incident: Incident, given: dict[str, Any], actor: str
) -> list[str]:
    """Change the caller's relation to the victim and their consent to share their
    contact (the keys given), one timeline entry each; returns what changed."""
    changed = []
    relation = given.get("relation")
    if "relation" in given and relation != incident.caller_relation:
        if relation is not None and relation not in RELATIONS:
            raise DeskError("quan hệ người gọi không hợp lệ (unknown relation)")
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="corrected",
            detail={"field": "caller.relation", "from": incident.caller_relation, "to": relation},
        )
        incident.caller_relation = relation
        changed.append("caller.relation")
    consent = given.get("consent")
    if consent is None:
        return changed
    tipster = session.get(Tipster, incident.tipster_id) if incident.tipster_id else None
    if tipster is None:
        if consent:
            raise DeskError(
                "người báo ẩn danh, không có liên lạc để chia sẻ "
                "(an anonymous tip has no contact to share)"
            )
        return changed
    if bool(consent) != tipster.consent_to_share:
        before = tipster.consent_to_share
        tipster.consent_to_share = bool(consent)
        if consent:
            tipster.anonymous = False
        # The same timeline entry as a tipster's own answer: recorded by an operator.
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="consent",
            detail={"consent": bool(consent), "from": before},
        )
        changed.append("caller.consent")
    return changed
