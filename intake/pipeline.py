"""The stages after ingest: locate, triage, then hand over to routing.

Each stage reads the incident's whole conversation and rewrites its own fields, so
running it twice (after a crash, or when a follow-up arrives) gives the same result.
What an operator set by hand (level, location) is never overwritten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from intake.incidents import add_event
from intake.models import Incident, Status, utcnow
from routing.geography import Resolver
from triage import RuleSet, classify

log = logging.getLogger(__name__)
SUMMARY_CHARS = 280


@dataclass(frozen=True)
class PipelineContext:
    """The loaded rules and geography the stages run with."""

    rules: RuleSet
    resolver: Resolver
    repeat_window: timedelta = timedelta(days=30)


def incident_text(incident: Incident) -> str:
    """Everything the tipster wrote or said, oldest first."""
    parts = [m.text for m in incident.messages if m.direction == "in" and m.text]
    if incident.location_text:
        parts.append(incident.location_text)
    return "\n".join(parts)


def locate(*, incident: Incident, context: PipelineContext) -> None:
    """Find the commune from the text, or from a shared location when the text has none."""
    if incident.location_set_by_operator:
        return
    text = incident_text(incident)
    result = context.resolver.resolve(text)
    if (
        result.ward_code is None
        and incident.latitude is not None
        and incident.longitude is not None
    ):
        result = context.resolver.resolve(
            text, latitude=incident.latitude, longitude=incident.longitude
        )
    incident.province_code = result.province_code
    incident.ward_code = result.ward_code
    incident.location_confidence = result.confidence
    incident.location_source = result.source
    incident.location_candidates = list(result.to_json(incident.reference)["candidates"])
    if result.matched and result.source == "text" and not incident.location_text:
        incident.location_text = result.matched


def repeat_count(*, session: Session, incident: Incident, window: timedelta) -> int:
    """Other recent incidents about the same commune or from the same tipster."""
    conditions = []
    if incident.ward_code is not None:
        conditions.append(Incident.ward_code == incident.ward_code)
    if incident.tipster_id is not None and incident.channel not in {"web_form", "api"}:
        conditions.append(Incident.tipster_id == incident.tipster_id)
    if not conditions:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(
                Incident.id != incident.id,
                Incident.received_at >= incident.received_at - window,
                Incident.status.not_in([Status.SPAM, Status.DUPLICATE]),
                or_(*conditions),
            )
        )
        or 0
    )


def triage(*, session: Session, incident: Incident, context: PipelineContext) -> None:
    """Score urgency and name the categories, keeping an operator's level."""
    repeats = repeat_count(session=session, incident=incident, window=context.repeat_window)
    result = classify(
        incident_text(incident),
        rules=context.rules,
        repeat_count=repeats,
        channel=incident.channel,
    )
    if not incident.level_overridden:
        level = str(result.level)
        reasons = list(result.to_json(incident.reference)["reasons"])
        if incident.urgent_call:
            # The caller pressed "danger now"; nothing lowers a P1.
            level = "P1"
            reasons.insert(0, {"rule": "ivr_danger_now", "matched": "1", "effect": "level P1"})
        incident.level = level
        incident.score = result.score
        incident.reasons = reasons
    incident.categories = [str(c) for c in result.categories]
    incident.trafficking_purpose = (
        str(result.trafficking_purpose) if result.trafficking_purpose else None
    )
    if result.victim_age is not None:
        incident.victim_age = result.victim_age
    if result.victim_gender is not None:
        incident.victim_gender = str(result.victim_gender)
    incident.summary = incident_text(incident)[:SUMMARY_CHARS]


def process(*, session: Session, incident_id: int, context: PipelineContext) -> Incident | None:
    """Locate and triage an incident; the caller then routes it."""
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        return None
    locate(incident=incident, context=context)
    triage(session=session, incident=incident, context=context)
    if incident.status == Status.NEW:
        # A phone call is a person on the line: operators review it even when its words
        # alone look like nothing (the caller may still be recording).
        spam = incident.level == "SPAM" and incident.channel != "voice"
        incident.status = Status.SPAM if spam else Status.TRIAGED
        add_event(
            session=session,
            incident=incident,
            actor="system",
            action="triaged",
            detail={
                "level": incident.level,
                "categories": incident.categories,
                "ward_code": incident.ward_code,
            },
        )
    incident.updated_at = utcnow()
    log.info("incident %s triaged %s", incident.reference, incident.level)
    return incident
