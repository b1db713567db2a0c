"""The stages after ingest: locate, triage, then hand over to routing.

Each stage reads the incident's whole conversation and rewrites its own fields, so
running it twice (after a crash, or when a follow-up arrives) gives the same result.
What an operator set by hand (level, location) is never overwritten; a level triage is not
sure of is marked `needs_review` until an operator sets one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from channels.base import MessageKind
from channels.twilio_voice import caller_words
from intake.store.models import Incident, Status, utcnow
from intake.store.timeline import add_event
from routing.geography import LocationResult, Resolver
from triage import RuleSet, TriageResult, classify

log = logging.getLogger(__name__)
SUMMARY_CHARS = 280


@dataclass(frozen=True)
class PipelineContext:
    """The loaded rules and geography the stages run with."""

    rules: RuleSet
    resolver: Resolver
    repeat_window: timedelta = timedelta(days=30)


def incident_text(incident: Incident) -> str:
    """Everything the tipster wrote or said, oldest first (of a call, the caller's words)."""
    said = (
        caller_words(m.text) if m.kind == MessageKind.CALL else m.text
        for m in incident.messages
        if m.direction == "in" and m.text
    )
    parts = [text for text in said if text]
    if incident.location_text:
        parts.append(incident.location_text)
    return "\n".join(parts)


@dataclass(frozen=True)
class Analysis:
    """What locating and triage concluded; computed outside any write transaction."""

    location: LocationResult | None  # None when an operator set the place
    triage: TriageResult
    text: str


def _locate(incident: Incident, text: str, context: PipelineContext) -> LocationResult | None:
    """The commune from the text, or from a shared location when the text names none."""
    if incident.location_set_by_operator:
        return None
    result = context.resolver.resolve(text)
    if (
        result.ward_code is None
        and incident.latitude is not None
        and incident.longitude is not None
    ):
        result = context.resolver.resolve(
            text, latitude=incident.latitude, longitude=incident.longitude
        )
    return result


REPEATS_COUNTED = 20


def repeat_count(
    *, session: Session, incident: Incident, ward_code: int | None, window: timedelta
) -> int:
    """Other recent incidents about the same commune or from the same tipster."""
    conditions = []
    if ward_code is not None:
        conditions.append(Incident.ward_code == ward_code)
    if incident.tipster_id is not None and incident.channel not in {"web_form", "api"}:
        conditions.append(Incident.tipster_id == incident.tipster_id)
    if not conditions:
        return 0
    # Counted up to REPEATS_COUNTED: the rule needs "any", the reason shows how many, and a
    # commune with thousands of tips must not make every new one count them all.
    recent = (
        select(Incident.id)
        .where(
            Incident.id != incident.id,
            Incident.received_at >= incident.received_at - window,
            Incident.status.not_in([Status.SPAM, Status.DUPLICATE]),
            or_(*conditions),
        )
        .limit(REPEATS_COUNTED)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(recent)) or 0


def analyse(*, session: Session, incident: Incident, context: PipelineContext) -> Analysis:
    """Locate and triage an incident as it stands (reads only)."""
    text = incident_text(incident)
    location = _locate(incident, text, context)
    ward = location.ward_code if location is not None else incident.ward_code
    repeats = repeat_count(
        session=session, incident=incident, ward_code=ward, window=context.repeat_window
    )
    result = classify(text, rules=context.rules, repeat_count=repeats, channel=incident.channel)
    return Analysis(location, result, text)


def apply(*, session: Session, incident: Incident, analysis: Analysis) -> None:
    """Write an analysis to the incident, keeping what an operator set by hand."""
    location, result = analysis.location, analysis.triage
    if location is not None and not incident.location_set_by_operator:
        incident.province_code = location.province_code
        incident.ward_code = location.ward_code
        incident.location_confidence = location.confidence
        incident.location_source = location.source
        incident.location_candidates = list(location.to_json(incident.reference)["candidates"])
        if location.matched and location.source == "text" and not incident.location_text:
            incident.location_text = location.matched
    if not incident.level_overridden:
        level = str(result.level)
        reasons = list(result.to_json(incident.reference)["reasons"])
        if incident.urgent_call:
            # The caller pressed "danger now"; nothing lowers a P1.
            level = "P1"
            reasons.insert(0, {"rule": "ivr_danger_now", "matched": "1", "effect": "level P1"})
        incident.level = level
        incident.needs_review = result.needs_review
        incident.score = result.score
        incident.reasons = reasons
        incident.categories = [str(c) for c in result.categories]
        incident.trafficking_purpose = (
            str(result.trafficking_purpose) if result.trafficking_purpose else None
        )
    if result.victim_age is not None and not incident.victim_set_by_operator:
        incident.victim_age = result.victim_age
    if result.victim_gender is not None and not incident.victim_set_by_operator:
        incident.victim_gender = str(result.victim_gender)
    incident.summary = analysis.text[:SUMMARY_CHARS]
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
