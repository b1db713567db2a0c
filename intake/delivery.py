"""Sending: alerts from the outbox to units, replies to tipsters, escalation timers.

An alert row is (incident, unit, channel) with an idempotency key. The deliver job marks
it `sending`, sends outside any transaction, then records `sent`. A retryable error is
retried with backoff by the job queue; a permanent one fails over to the unit's next
contact channel, and when none is left the alert is dead-lettered for the console.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from channels.base import Channel, OutboundMessage, SendError
from intake import jobs
from intake.incidents import add_event
from intake.models import Alert, Incident, Message, Tipster, Unit, utcnow
from intake.services import Services

log = logging.getLogger(__name__)


class DeliveryRetry(Exception):
    """A retryable send failure; the job queue retries after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _send(services: Services, message: OutboundMessage) -> str:
    """Send through the channel's adapter from a worker thread; returns the provider id."""
    from intake.worker import run_async

    adapter = services.adapters.get(message.channel)
    if adapter is None:
        raise SendError(f"{message.channel} is not enabled", retryable=False)
    result = run_async(lambda: adapter.send(message))
    return str(getattr(result, "provider_message_id", ""))


def unit_contacts(unit: Unit, order: tuple[str, ...]) -> list[tuple[Channel, str]]:
    """The unit's contacts on the channels it has, in the policy's order."""
    handles = {
        Channel.TELEGRAM: unit.telegram_chat_id,
        Channel.ZALO: unit.zalo_user_id,
        Channel.SMS: unit.phone,
    }
    return [
        (Channel(name), handle)
        for name in order
        if (handle := handles.get(Channel(name))) is not None and handle != ""
    ]


def deliver_alert(services: Services, key: str) -> None:
    """Send one alert; fail over or dead-letter on a permanent error."""
    with services.db.writer() as session:
        alert = session.get(Alert, int(key), with_for_update=True)
        if alert is None or alert.state not in ("pending", "sending"):
            return
        alert.state = "sending"
        alert.attempts += 1
        message = OutboundMessage(
            channel=Channel(alert.channel),
            recipient=alert.recipient,
            text=alert.text,
            ack_reference=alert.idempotency_key.split("/")[0],
            idempotency_key=alert.idempotency_key,
        )
    try:
        provider_id = _send(services, message)
    except SendError as exc:
        if exc.retryable:
            with services.db.writer() as session:
                alert = session.get(Alert, int(key))
                if alert is not None:
                    alert.state = "pending"
                    alert.last_error = str(exc)[:500]
            raise DeliveryRetry(str(exc), exc.retry_after) from exc
        with services.db.writer() as session:
            _fail_over(session=session, services=services, alert_id=int(key), error=str(exc))
        return
    with services.db.writer() as session:
        alert = session.get(Alert, int(key))
        if alert is None:
            return
        alert.state = "sent"
        alert.sent_at = utcnow()
        alert.provider_message_id = provider_id or None
        incident = session.get(Incident, alert.incident_id)
        if incident is not None:
            add_event(
                session=session,
                incident=incident,
                actor="system",
                action="alert_sent",
                detail={"unit_id": alert.unit_id, "channel": alert.channel},
            )
    log.info("alert %s sent on %s", key, message.channel)


def _fail_over(*, session, services: Services, alert_id: int, error: str) -> None:  # type: ignore[no-untyped-def]
    """Dead-letter this alert and queue the unit's next contact channel, if it has one."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return
    alert.state = "dead"
    alert.last_error = error[:500]
    unit = session.get(Unit, alert.unit_id)
    tried = set(
        session.scalars(
            select(Alert.channel).where(
                Alert.incident_id == alert.incident_id,
                Alert.unit_id == alert.unit_id,
                Alert.escalation_step == alert.escalation_step,
            )
        )
    )
    order = services.routing.channel_order
    remaining = [c for c in unit_contacts(unit, order) if str(c[0]) not in tried] if unit else []
    incident = session.get(Incident, alert.incident_id)
    if not remaining:
        log.warning("alert %s dead: no channel left for unit %s", alert_id, alert.unit_id)
        if incident is not None:
            add_event(
                session=session,
                incident=incident,
                actor="system",
                action="alert_dead",
                detail={"unit_id": alert.unit_id, "error": error[:200]},
            )
        return
    channel, recipient = remaining[0]
    queue_alert(
        session=session,
        incident_reference=alert.idempotency_key.split("/")[0],
        incident_id=alert.incident_id,
        unit_id=alert.unit_id,
        channel=channel,
        recipient=recipient,
        text=alert.text,
        step=alert.escalation_step,
    )


def queue_alert(
    *,
    session,  # type: ignore[no-untyped-def]
    incident_reference: str,
    incident_id: int,
    unit_id: str,
    channel: Channel,
    recipient: str,
    text: str,
    step: int,
) -> Alert | None:
    """Put one alert in the outbox (once per incident, unit, channel and step)."""
    key = f"{incident_reference}/{unit_id}/{channel}/{step}"
    if session.scalars(select(Alert.id).where(Alert.idempotency_key == key)).first():
        return None
    alert = Alert(
        idempotency_key=key,
        incident_id=incident_id,
        unit_id=unit_id,
        channel=str(channel),
        recipient=recipient,
        text=text,
        escalation_step=step,
    )
    session.add(alert)
    session.flush()
    jobs.enqueue(session=session, kind="deliver", key=str(alert.id))
    return alert


def queue_reply(*, session, incident_id: int, text: str) -> Message:  # type: ignore[no-untyped-def]
    """An outbound message to the incident's tipster, sent by the `reply` job."""
    incident = session.get(Incident, incident_id)
    message = Message(
        incident_id=incident_id,
        direction="out",
        channel=incident.channel if incident else "",
        kind="text",
        text=text,
        delivery_state="pending",
    )
    session.add(message)
    session.flush()
    jobs.enqueue(session=session, kind="reply", key=str(message.id))
    return message


def send_reply(services: Services, key: str) -> None:
    """Send an outbound message to the tipster on the channel they wrote from."""
    with services.db.reader() as session:
        message = session.get(Message, int(key))
        if message is None or message.delivery_state != "pending":
            return
        incident = session.get(Incident, message.incident_id)
        tipster = session.get(Tipster, incident.tipster_id) if incident else None
        handle = services.cipher.decrypt(tipster.handle) if tipster else None
        channel = Channel(message.channel)
        text = message.text
    if not handle or channel not in (Channel.TELEGRAM, Channel.ZALO, Channel.SMS):
        with services.db.writer() as session:
            stored = session.get(Message, int(key))
            if stored is not None:
                stored.delivery_state = "undeliverable"
        return
    try:
        _send(services, OutboundMessage(channel=channel, recipient=handle, text=text))
    except SendError as exc:
        if exc.retryable:
            raise DeliveryRetry(str(exc), exc.retry_after) from exc
        state = "failed"
    else:
        state = "sent"
    with services.db.writer() as session:
        stored = session.get(Message, int(key))
        if stored is not None:
            stored.delivery_state = state
