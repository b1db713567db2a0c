"""The outbox: alerts to units, each once by its idempotency key, with their deliver jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from channels.base import Channel
from intake.pipeline.alerts import SMS_CHARACTERS, gsm
from intake.pipeline.context import Services
from intake.store import jobs
from intake.store.db import built_once
from intake.store.jobs import ClaimedJob
from intake.store.models import Alert, Incident, utcnow
from routing.plan import UnitRecord

ALERTS = cast(Table, Alert.__table__)


@dataclass(frozen=True)
class NewAlert:
    """An alert to put in the outbox."""

    incident_reference: str
    incident_id: int
    unit_id: str
    channel: Channel
    recipient: str
    text: str
    step: int
    key: str | None = None  # what makes it one of a kind besides the step (an update's message)

    @property
    def idempotency_key(self) -> str:
        last = self.key or str(self.step)
        return f"{self.incident_reference}/{self.unit_id}/{self.channel}/{last}"


def answerable(idempotency_key: str) -> str | None:
    """The reference a unit answers about (the outcome buttons carry it), or None for a
    merge notice: its reference is the one no longer followed."""
    reference, _, rest = idempotency_key.partition("/")
    return None if "/merged/" in f"/{rest}" else reference


def alert_to(
    services: Services,
    incident: Incident,
    unit: UnitRecord,
    text: str | Callable[[Channel], str],
    *,
    step: int,
    key: str | None = None,
    nth: int = 0,
) -> NewAlert | None:
    """The alert about `incident` to a unit on its first contact (or the `nth`, round its
    list), in the form its channel carries (SMS: two GSM segments); None for a unit with
    no contact."""
    contacts = unit.contacts(services.routing.channel_order)
    if not contacts:
        return None
    name, recipient = contacts[nth % len(contacts)]
    channel = Channel(name)
    body = text(channel) if callable(text) else text
    if channel == Channel.SMS:
        body = gsm(body)[:SMS_CHARACTERS]
    return NewAlert(
        incident.reference, incident.id, unit.id, channel, recipient, body, step, key=key
    )


def queue_alert(
    *,
    session: Session,
    incident_reference: str,
    incident_id: int,
    unit_id: str,
    channel: Channel,
    recipient: str,
    text: str,
    step: int,
) -> int | None:
    """Put one alert in the outbox (once per incident, unit, channel and step) with its
    deliver job; returns its id, or None when it was there already."""
    alert = NewAlert(incident_reference, incident_id, unit_id, channel, recipient, text, step)
    return queue_alerts(session=session, alerts=[alert]).get(alert.idempotency_key)


def queue_alerts(
    *,
    session: Session,
    alerts: list[NewAlert],
    also_schedule: list[tuple[str, str, datetime]] | None = None,
    handoff: list[ClaimedJob] | None = None,
) -> dict[str, int]:
    """Put alerts in the outbox, each once (by its idempotency key), with their deliver
    jobs, and any other jobs given (escalation timers) in the same statement. With
    `handoff`, the deliver jobs are leased to the caller and added to it instead (it sends
    them next). Returns the new alerts' ids by idempotency key (one there already is left
    out)."""
    now = utcnow()
    made: dict[str, int] = {}
    if alerts:
        rows = [
            {
                "idempotency_key": alert.idempotency_key,
                "incident_id": alert.incident_id,
                "unit_id": alert.unit_id,
                "channel": str(alert.channel),
                "recipient": alert.recipient,
                "text": alert.text,
                "state": "pending",
                "attempts": 0,
                "escalation_step": alert.step,
                "created_at": now,
            }
            for alert in alerts
        ]
        made = {
            key: alert_id
            for alert_id, key in session.connection().execute(
                built_once(
                    session,
                    "insert alerts",
                    lambda insert: (
                        insert(ALERTS)
                        .on_conflict_do_nothing(index_elements=["idempotency_key"])
                        .returning(ALERTS.c.id, ALERTS.c.idempotency_key)
                    ),
                ),
                rows,
            )
        }
    delivers = [("deliver", str(alert_id)) for alert_id in made.values()]
    if handoff is not None:
        handoff.extend(jobs.lease_new(session=session, jobs=delivers))
        delivers = []
    due = [(kind, key, now) for kind, key in delivers]
    jobs.schedule_many(session=session, jobs=[*due, *(also_schedule or [])])
    return made
