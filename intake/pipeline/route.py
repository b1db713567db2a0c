"""After triage: route the incident to its units, queue the alerts, set escalation timers."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from channels.base import Channel
from channels.registry import specs
from intake.pipeline.acknowledge import escalation_key
from intake.pipeline.alerts import alert_text
from intake.pipeline.consent import ASK as ASK_CONSENT
from intake.pipeline.context import Services
from intake.pipeline.deliver import queue_reply
from intake.pipeline.outbox import NewAlert, alert_to, queue_alerts
from intake.store import jobs
from intake.store.jobs import ClaimedJob
from intake.store.models import Alert, Assignment, Event, Incident, Status, Tipster, Unit, utcnow
from intake.store.timeline import add_event
from routing.plan import (
    COMMUNE_KINDS,
    PROVINCE_KINDS,
    Directory,
    RoutePlan,
    UnitKind,
    UnitRecord,
    plan_routes,
)

log = logging.getLogger(__name__)
ROUTABLE = {Status.TRIAGED, Status.ROUTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS}
ASSIGNMENTS = cast(Table, Assignment.__table__)
EVENTS = cast(Table, Event.__table__)
CHAT_CHANNELS = frozenset(spec.channel for spec in specs() if spec.replies)
ASK_LOCATION = (
    "Tổng đài 111 đã nhận tin của bạn (mã {reference}). Bạn cho biết việc này xảy ra ở "
    "đâu: thôn/xóm, xã/phường, tỉnh/thành phố? / Where is this happening (commune, province)?"
)


def plan_for(
    session: Session, services: Services, incident: Incident, directory: Directory | None = None
) -> RoutePlan:
    """The route plan of an incident as it stands."""
    return plan_routes(
        level=incident.level,
        categories=list(incident.categories),
        ward_code=incident.ward_code,
        province_code=incident.province_code,
        directory=directory
        or services.directory_cache.get(
            session, ward_code=incident.ward_code, province_code=incident.province_code
        ),
        recipients=services.pipeline.rules.recipients,
        policy=services.routing,
    )


def assign(
    *,
    session: Session,
    services: Services,
    incident: Incident,
    unit: UnitRecord,
    reason: str,
    step: int = 0,
    preface: str = "",
) -> int | None:
    """Route the incident to one unit: assignment, first alert, escalation timer (once).
    `preface` opens the alert (why this unit gets it, e.g. an escalation).

    Returns the new assignment's id, or None when the unit had the incident already."""
    made = assign_many(
        session=session,
        services=services,
        incident=incident,
        targets=[(unit, reason)],
        step=step,
        preface=preface,
    )
    return made[0] if made else None


def assign_many(
    *,
    session: Session,
    services: Services,
    incident: Incident,
    targets: list[tuple[UnitRecord, str]],
    step: int = 0,
    handoff: list[ClaimedJob] | None = None,
    preface: str = "",
) -> list[int]:
    """Route the incident to several units at once: for each unit it does not have yet, an
    assignment, the first alert on the unit's first contact channel and the escalation
    timer; a unit with no contact at all goes on the timeline as unreachable. Returns the
    new assignments' ids.

    A handful of plain statements for all of the units together: this runs for every
    incident routed.
    """
    if not targets:
        return []
    already = set(
        session.scalars(
            select(Assignment.unit_id).where(
                Assignment.incident_id == incident.id,
                Assignment.unit_id.in_([unit.id for unit, _ in targets]),
            )
        )
    )
    targets = [(unit, reason) for unit, reason in targets if unit.id not in already]
    if not targets:
        return []
    now = utcnow()
    connection = session.connection()
    assignment_ids = list(
        connection.execute(
            insert(ASSIGNMENTS).returning(ASSIGNMENTS.c.id, sort_by_parameter_order=True),
            [
                {
                    "incident_id": incident.id,
                    "unit_id": unit.id,
                    "reason": reason,
                    "escalation_step": step,
                    "created_at": now,
                }
                for unit, reason in targets
            ],
        ).scalars()
    )
    texts: dict[bool, str] = {}  # full, and the SMS form when a unit is reached by SMS

    def text_for(channel: Channel) -> str:
        compact = channel == Channel.SMS
        if compact not in texts:
            body = alert_text(
                incident=incident, services=services, session=session, compact=compact
            )
            texts[compact] = preface + body
        return texts[compact]

    deadline = services.routing.ack_deadline(incident.level)
    alerts: list[NewAlert] = []
    timers: list[tuple[str, str, datetime]] = []
    events: list[dict[str, object]] = []
    for (unit, reason), assignment_id in zip(targets, assignment_ids, strict=True):
        if (alert := alert_to(services, incident, unit, text_for, step=step)) is not None:
            alerts.append(alert)
        else:
            events.append({"unit_id": unit.id, "action": "unit_unreachable"})
        events.append({"unit_id": unit.id, "reason": reason, "action": "routed"})
        if deadline is not None:
            timers.append(("escalate", escalation_key(assignment_id), now + deadline))
    queue_alerts(session=session, alerts=alerts, also_schedule=timers, handoff=handoff)
    connection.execute(
        insert(EVENTS),
        [
            {
                "incident_id": incident.id,
                "at": now,
                "actor": "system",
                "action": event.pop("action"),
                "detail": event,
            }
            for event in events
        ],
    )
    return assignment_ids


def _ask_for_location(session: Session, incident: Incident) -> None:
    """Ask a chat tipster where it happens, once per incident."""
    if incident.channel not in CHAT_CHANNELS:
        return
    asked = session.scalars(
        select(Event.id).where(Event.incident_id == incident.id, Event.action == "asked_location")
    ).first()
    if asked is not None:
        return
    queue_reply(
        session=session,
        incident_id=incident.id,
        text=ASK_LOCATION.format(reference=incident.reference),
    )
    add_event(
        session=session, incident=incident, actor="system", action="asked_location", detail={}
    )


def _ask_for_consent(*, session: Session, incident: Incident) -> None:
    """Ask a chat or SMS tipster for consent, once per tipster, unless they gave it."""
    if incident.channel not in CHAT_CHANNELS or incident.tipster_id is None:
        return
    tipster = session.get(Tipster, incident.tipster_id)
    if tipster is None or tipster.consent_to_share:
        return
    asked = session.scalars(
        select(Event.id)
        .join(Incident, Incident.id == Event.incident_id)
        .where(Incident.tipster_id == tipster.id, Event.action == "asked_consent")
        .limit(1)
    ).first()
    if asked is not None:
        return
    queue_reply(
        session=session,
        incident_id=incident.id,
        text=ASK_CONSENT.format(reference=incident.reference),
    )
    add_event(session=session, incident=incident, actor="system", action="asked_consent", detail={})


def route_incident(
    *,
    session: Session,
    services: Services,
    incident: Incident,
    actor: str,
    handoff: list[ClaimedJob] | None = None,
) -> RoutePlan:
    """Route an incident by the policy; routing again only adds units, never duplicates.
    With `handoff`, the new alerts' deliver jobs are leased to the caller (see
    `queue_alerts`)."""
    with session.no_autoflush:  # the incident's changes go out with its new status, once
        directory = services.directory_cache.get(
            session, ward_code=incident.ward_code, province_code=incident.province_code
        )
    plan = plan_for(session, services, incident, directory)
    if incident.status not in ROUTABLE:
        return plan
    if plan.needs_location:
        _ask_for_location(session, incident)
    elif plan.targets and incident.status == Status.TRIAGED:
        incident.status = Status.ROUTED
    added = len(
        assign_many(
            session=session,
            services=services,
            incident=incident,
            targets=[(directory.units[t.unit_id], t.reason) for t in plan.targets],
            handoff=handoff,
        )
    )
    if added:
        log.info("incident %s routed to %d units by %s", incident.reference, added, actor)
        _ask_for_consent(session=session, incident=incident)
    return plan


def withdraw_elsewhere(*, session: Session, incident: Incident, actor: str) -> list[str]:
    """After the place changed: take the incident back from the units of another commune
    (or province) that have not acknowledged it. Their pending alerts and escalation
    timers are cancelled and they no longer see it; the timeline keeps who had it. A unit
    that already acknowledged keeps it: someone may be on the way, the operator decides."""
    rows = session.execute(
        select(Assignment, Unit)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(Assignment.incident_id == incident.id, Assignment.acknowledged_at.is_(None))
    ).all()
    withdrawn = []
    for assignment, unit in rows:
        kind = UnitKind(unit.kind)
        elsewhere = (kind in COMMUNE_KINDS and unit.ward_code != incident.ward_code) or (
            kind in PROVINCE_KINDS and unit.province_code != incident.province_code
        )
        if not elsewhere:
            continue
        session.execute(
            update(Alert)
            .where(
                Alert.incident_id == incident.id,
                Alert.unit_id == unit.id,
                Alert.state.in_(["pending", "sending"]),
            )
            .values(state="cancelled")
            .execution_options(synchronize_session=False)
        )
        jobs.cancel(session=session, kind="escalate", key=escalation_key(assignment.id))
        session.delete(assignment)
        add_event(
            session=session,
            incident=incident,
            actor=actor,
            action="unrouted",
            detail={"unit_id": unit.id, "reason": "the place changed"},
        )
        withdrawn.append(unit.id)
    if withdrawn:
        session.flush()
        log.info("incident %s withdrawn from %d units", incident.reference, len(withdrawn))
    return withdrawn
