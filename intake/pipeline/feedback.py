"""Operators' level changes, kept as labelled data to tune the rules on real traffic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.pipeline.assess import incident_text
from intake.store.models import Event, Incident
from intake.store.timeline import add_event
from routing.policy import RecipientTable, recipients_for

CATEGORIES = {
    "trafficking",
    "physical_abuse",
    "sexual_abuse",
    "emotional_abuse",
    "neglect",
    "child_labour",
    "bullying",
    "online_abuse",
    "self_harm",
    "missing_child",
    "victim_support",
    "information",
    "other",
}


def overrule_level(
    *,
    session: Session,
    incident: Incident,
    level: str,
    categories: list[str] | None,
    reason: str,
    actor: str,
) -> None:
    """Set the level (and categories) by hand; triage will not change them again, and a
    "needs review" mark is cleared (a timeline entry says so)."""
    unknown = set(categories or []) - CATEGORIES
    if unknown:
        raise ValueError(f"unknown categories: {', '.join(sorted(unknown))}")
    before = {"level": incident.level, "categories": list(incident.categories)}
    incident.level = level
    incident.level_overridden = True
    reviewed = incident.needs_review
    incident.needs_review = False  # a person has now decided the level
    if categories is not None:
        incident.categories = list(categories)
    incident.reasons = [
        *incident.reasons,
        {"rule": "operator", "matched": reason[:200], "effect": f"level {level}"},
    ]
    add_event(
        session=session,
        incident=incident,
        actor=actor,
        action="level_changed",
        detail={
            "from": before,
            "to": {"level": level, "categories": incident.categories},
            "reason": reason,
        },
    )
    if reviewed:
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="reviewed",
            detail={"level": level},
        )


def export_feedback(session: Session, recipients: RecipientTable) -> Iterator[dict[str, Any]]:
    """One labelled line per overruled incident, in the format of tips_dev.jsonl."""
    seen: set[int] = set()
    rows = session.scalars(
        select(Event).where(Event.action == "level_changed").order_by(Event.id.desc())
    )
    for event in rows:
        if event.incident_id in seen:
            continue  # only the latest decision counts
        seen.add(event.incident_id)
        incident = session.get(Incident, event.incident_id)
        if incident is None:
            continue
        yield {
            "id": incident.reference,
            "channel": incident.channel,
            "text": incident_text(incident),
            "expected": {
                "level": incident.level,
                "categories": list(incident.categories),
                "trafficking_purpose": incident.trafficking_purpose,
                "route_to": recipients_for(incident.categories, incident.level or "", recipients),
                "province_code": incident.province_code,
                "ward_code": incident.ward_code,
                "victim_age": incident.victim_age,
                "victim_gender": incident.victim_gender,
            },
            "reason": event.detail.get("reason", ""),
            "triage_said": event.detail.get("from", {}),
        }
