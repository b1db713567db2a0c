"""Corrections to a case: victim, caller, categories, purpose, level, place; one timeline
entry each.

What an operator corrects is final (triage keeps it); categories and level are kept as
labelled feedback (`feedback.overrule_level`); a new place re-routes the case; a consent
recorded after the alerts sends the units alerted the contact (`consent_updates.py`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from intake.pipeline.consent_updates import send_consent_updates
from intake.pipeline.context import Services
from intake.pipeline.desk import (
    LEVELS,
    PURPOSES,
    DeskError,
    Victim,
    check_victim,
    set_caller,
    set_place,
)
from intake.pipeline.feedback import CATEGORIES, overrule_level
from intake.pipeline.route import route_incident, withdraw_elsewhere
from intake.pipeline.searching import reindex
from intake.store.models import Incident, utcnow
from intake.store.timeline import add_event

VICTIM_FIELDS = {
    "sex": "victim_gender",
    "age": "victim_age",
    "age_group": "victim_age_group",
    "count": "victim_count",
    "disability": "victim_disability",
}


def correct(
    *,
    session: Session,
    services: Services,
    incident: Incident,
    changes: dict[str, Any],
    actor: str,
) -> list[str]:
    """Apply an operator's corrections, one timeline entry each; returns what changed.

    `changes` may hold `victim` (a dict of Victim's fields), `caller` (`relation`,
    `consent`), `categories`, `trafficking_purpose`, `level` (with `reason`), `ward_code`
    or `province_code`. A level given while the case is marked for review confirms it,
    even when it is the same level."""
    changed: list[str] = []
    if "caller" in changes:
        changed += set_caller(session, incident, dict(changes["caller"] or {}), actor)
    if "victim" in changes:
        given = dict(changes["victim"])
        victim = Victim(**{k: given.get(k) for k in VICTIM_FIELDS})
        check_victim(victim)
        for name, column in VICTIM_FIELDS.items():
            if name not in given:
                continue
            before = getattr(incident, column)
            if before != given[name]:
                setattr(incident, column, given[name])
                changed.append(f"victim.{name}")
                add_event(
                    session=session,
                    incident=incident,
                    actor=actor,
                    action="corrected",
                    detail={"field": f"victim.{name}", "from": before, "to": given[name]},
                )
        if given.get("age") is not None:
            incident.victim_age_group = None
        incident.victim_set_by_operator = True
    purpose = changes.get("trafficking_purpose")
    if "trafficking_purpose" in changes and purpose is not None and purpose not in PURPOSES:
        raise DeskError("mục đích mua bán người không hợp lệ (unknown purpose)")
    level = changes.get("level")
    if level is not None and level not in LEVELS:
        raise DeskError("mức độ không hợp lệ (unknown level)")
    categories = changes.get("categories")
    if categories is not None and set(categories) - CATEGORIES:
        raise DeskError("loại việc không hợp lệ (unknown categories)")
    new_categories = categories is not None and list(categories) != list(incident.categories)
    new_level = level is not None and (level != incident.level or incident.needs_review)
    new_purpose = "trafficking_purpose" in changes and purpose != incident.trafficking_purpose
    if new_categories or new_level or new_purpose:
        overrule_level(
            session=session,
            incident=incident,
            level=level or incident.level or "P3",
            categories=categories,
            reason=str(changes.get("reason") or "sửa phân loại (corrected)")[:2000],
            actor=actor,
        )
        changed += [n for n, c in (("categories", new_categories), ("level", new_level)) if c]
    if new_purpose:
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="corrected",
            detail={
                "field": "trafficking_purpose",
                "from": incident.trafficking_purpose,
                "to": purpose,
            },
        )
        incident.trafficking_purpose = purpose
        changed.append("trafficking_purpose")
    ward_code, province_code = changes.get("ward_code"), changes.get("province_code")
    moved = False
    if ward_code is not None and ward_code != incident.ward_code:
        ward = services.geography.ward(int(ward_code))
        if ward is None:
            raise DeskError("chọn xã/phường (choose a commune)")
        before = incident.ward_code
        set_place(incident, ward.code, ward.province_code)
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="location_set",
            detail={"ward_code": ward.code, "from": before},
        )
        moved = True
    elif (
        ward_code is None and province_code is not None and province_code != incident.province_code
    ):
        if services.geography.province(int(province_code)) is None:
            raise DeskError("chọn tỉnh/thành phố (choose a province)")
        before = incident.province_code
        incident.province_code, incident.ward_code = int(province_code), None
        incident.location_set_by_operator = True
        incident.location_source = "operator"
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="location_set",
            detail={"province_code": province_code, "from": before},
        )
        moved = True
    if moved:
        changed.append("place")
        withdraw_elsewhere(session=session, incident=incident, actor=actor)
    if moved or new_categories or new_level:
        route_incident(session=session, services=services, incident=incident, actor=actor)
    if changed:
        incident.updated_at = utcnow()
        reindex(session=session, services=services, incident=incident)
    if "caller.consent" in changed:
        session.flush()
        send_consent_updates(session=session, services=services, incident=incident)
    return changed
