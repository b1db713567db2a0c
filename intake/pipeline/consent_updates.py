"""A tipster's consent given after the alert: the units alerted before it get the contact.

An alert names the tipster only when they agreed to share their contact (`alerts.py`);
one sent before they agreed says "call the hotline". When they agree later (their answer
in the chat or on the IVR, or an operator records it), each unit alerted before that gets
an update of the same reference with the contact it may now use, once.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.pipeline.context import Services
from intake.pipeline.directory_cache import unit_record
from intake.pipeline.outbox import NewAlert, alert_to, queue_alerts
from intake.store.jobs import ClaimedJob
from intake.store.models import Assignment, Event, Incident, Status, Tipster

ALERTED = {Status.ROUTED, Status.ACKNOWLEDGED, Status.IN_PROGRESS}


def consent_text(incident: Incident, tipster: Tipster, services: Services) -> str:
    """The update: the tipster agreed, and how to reach them."""
    name = (services.cipher.decrypt(tipster.display_name) or "").strip()
    phone = (services.cipher.decrypt(tipster.phone) or "").strip()
    link = f"{services.settings.public_base_url.rstrip('/')}/console/incidents/{incident.id}"
    if phone:
        contact = f"Người báo đồng ý để đơn vị liên hệ trực tiếp: {name} {phone}".replace("  ", " ")
    else:  # a chat tipster with no number: the hotline connects the unit to them
        contact = (
            f"Người báo{f' ({name})' if name else ''} đồng ý để đơn vị liên hệ: gọi Tổng đài "
            f"{services.settings.callback_phone} để được nối với người báo."
        )
    return f"[111] {incident.reference} — CẬP NHẬT / UPDATE\n{contact}\nConsole: {link}"


def consent_alerts(
    *, session: Session, services: Services, incident: Incident, assignments: list[Assignment]
) -> list[NewAlert]:
    """The updates owed for the tipster's latest consent: one to each unit whose alert
    went out before it (an alert made after it names the tipster already)."""
    if incident.status not in ALERTED or incident.tipster_id is None or not assignments:
        return []
    tipster = session.get(Tipster, incident.tipster_id)
    if tipster is None or not tipster.consent_to_share:
        return []
    latest = session.scalars(
        select(Event)
        .where(Event.incident_id == incident.id, Event.action == "consent")
        .order_by(Event.id.desc())
        .limit(1)
    ).first()
    if latest is None or not latest.detail.get("consent"):
        return []
    text = consent_text(incident, tipster, services)
    updates = []
    for assignment in assignments:
        if assignment.created_at > latest.at:
            continue
        unit = unit_record(assignment.unit)
        # once per unit (the key): it has the contact from then on
        alert = alert_to(services, incident, unit, text, step=0, key="consent")
        if alert is not None:
            updates.append(alert)
    return updates


def send_consent_updates(
    *,
    session: Session,
    services: Services,
    incident: Incident,
    handoff: list[ClaimedJob] | None = None,
) -> int:
    """Queue the updates `consent_alerts` finds (each once); returns how many were new."""
    assignments = list(
        session.scalars(select(Assignment).where(Assignment.incident_id == incident.id))
    )
    updates = consent_alerts(
        session=session, services=services, incident=incident, assignments=assignments
    )
    return len(queue_alerts(session=session, alerts=updates, handoff=handoff))
