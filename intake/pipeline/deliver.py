"""Sending: alerts from the outbox to units, replies to tipsters, escalation timers.

An alert row is (incident, unit, channel) with an idempotency key. The deliver job marks
it `sending`, sends outside any transaction, then records `sent`. A retryable error is
retried with backoff by the job queue; a permanent one fails over to the unit's next
contact channel, and when none is left the alert is dead-lettered for the console.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from channels.base import Channel, OutboundMessage, SendError
from channels.registry import alert_channels, spec_of
from intake.pipeline.context import Services
from intake.pipeline.outbox import answerable, queue_alert
from intake.store import jobs
from intake.store.jobs import ClaimedJob
from intake.store.models import Alert, Event, Incident, Message, Tipster, Unit, utcnow
from intake.store.private_logs import without_values
from intake.store.timeline import add_event

log = logging.getLogger(__name__)
SEND_CONCURRENCY = 8  # provider calls in flight at once
ALERTS = cast(Table, Alert.__table__)
EVENTS = cast(Table, Event.__table__)


class DeliveryRetry(Exception):
    """A retryable send failure; the job queue retries after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _send(services: Services, message: OutboundMessage) -> str:
    """Send through the channel's adapter from a worker thread; returns the provider id."""
    (outcome,) = _send_all(services, [message])
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _send_all(services: Services, messages: list[OutboundMessage]) -> list[str | BaseException]:
    """Send several messages at once (each provider call waits on the network, not on the
    others); each outcome is the provider's message id or the error it raised."""

    async def every() -> list[str | BaseException]:
        # A few at a time: the HTTP clients' pools check every connection for every
        # waiting request, so a deep queue costs more than it saves.
        in_flight = asyncio.Semaphore(SEND_CONCURRENCY)

        async def one(message: OutboundMessage) -> str:
            adapter = services.adapters.get(message.channel)
            if adapter is None:
                raise SendError(f"{message.channel} is not enabled", retryable=False)
            async with in_flight:
                result = await adapter.send(message)
            return str(getattr(result, "provider_message_id", ""))

        return await asyncio.gather(*(one(m) for m in messages), return_exceptions=True)

    return run_async(every)  # type: ignore[return-value]


def unit_contacts(unit: Unit, order: tuple[str, ...]) -> list[tuple[Channel, str]]:
    """The unit's contacts on the channels it has, in the policy's order."""
    handles = {spec.channel: getattr(unit, spec.unit_contact or "") for spec in alert_channels()}
    return [
        (Channel(name), handle)
        for name in order
        if (handle := handles.get(Channel(name))) is not None and handle != ""
    ]


@dataclass(frozen=True)
class _Sendable:
    message: OutboundMessage
    incident_id: int
    unit_id: str


def deliver_alerts(services: Services, batch: list[ClaimedJob]) -> None:
    """Send the alerts of a batch of `deliver` jobs together, then record every outcome.

    The jobs' leases keep any other worker off these alerts while they are sent. Sent:
    marked sent, on the timeline, job done. A retryable error: the job is retried with
    backoff (the provider's retry-after wins). A permanent one: this channel is dead and
    the unit's next contact channel is queued, or the alert is dead-lettered for the
    console. All of it is written in one transaction after the sends.
    """
    with services.db.reader() as session:
        alerts = session.scalars(select(Alert).where(Alert.id.in_([int(j.key) for j in batch])))
        sendable = {
            alert.id: _Sendable(
                OutboundMessage(
                    channel=Channel(alert.channel),
                    recipient=alert.recipient,
                    text=alert.text,
                    ack_reference=answerable(alert.idempotency_key),
                    idempotency_key=alert.idempotency_key,
                ),
                alert.incident_id,
                alert.unit_id,
            )
            for alert in alerts
            if alert.state in ("pending", "sending")
        }
    to_send = [job for job in batch if int(job.key) in sendable]
    outcomes = _send_all(services, [sendable[int(job.key)].message for job in to_send])
    sent = [
        (job, sendable[int(job.key)], outcome)
        for job, outcome in zip(to_send, outcomes, strict=True)
        if not isinstance(outcome, BaseException)
    ]
    with services.db.writer(durable=False) as session:
        for job in batch:
            if int(job.key) not in sendable:
                job.finish(session)  # already sent, dead or gone: nothing to do
        for job, outcome in zip(to_send, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                _record_failure(session, services, job, outcome)
        if sent:
            _record_sent(session, sent)


def _record_sent(session: Session, sent: list[tuple[ClaimedJob, _Sendable, str]]) -> None:
    """Mark alerts sent, put them on their timelines and complete their jobs, in bulk."""
    now = utcnow()
    connection = session.connection()
    connection.execute(
        update(ALERTS)
        .where(ALERTS.c.id == bindparam("alert_id"))
        .values(
            state="sent",
            attempts=ALERTS.c.attempts + 1,
            sent_at=now,
            provider_message_id=bindparam("provider_id"),
        ),
        [
            {"alert_id": int(job.key), "provider_id": provider_id or None}
            for job, _, provider_id in sent
        ],
    )
    connection.execute(
        insert(EVENTS),
        [
            {
                "incident_id": alert.incident_id,
                "at": now,
                "actor": "system",
                "action": "alert_sent",
                "detail": {"unit_id": alert.unit_id, "channel": str(alert.message.channel)},
            }
            for _, alert, _ in sent
        ],
    )
    jobs.complete_many(session=session, job_ids=[job.id for job, _, _ in sent])
    for job, alert, _ in sent:
        job.finished = True
        log.info("alert %s sent on %s", job.key, alert.message.channel)


def _record_failure(
    session: Session, services: Services, job: ClaimedJob, outcome: BaseException
) -> None:
    """A permanent error fails over to the next channel; any other is retried later."""
    alert_id = int(job.key)
    if isinstance(outcome, SendError) and not outcome.retryable:
        _fail_over(session=session, services=services, alert_id=alert_id, error=str(outcome))
        job.finish(session)
        return
    error = (
        without_values(str(outcome)) if isinstance(outcome, SendError) else type(outcome).__name__
    )
    session.execute(
        update(Alert)
        .where(Alert.id == alert_id)
        .values(state="pending", attempts=Alert.attempts + 1, last_error=error[:500])
        .execution_options(synchronize_session=False)
    )
    job.retry(session, error=error, retry_after=getattr(outcome, "retry_after", None))
    log.warning("alert %s not sent yet (%s); retrying", alert_id, error[:100])


def _fail_over(*, session, services: Services, alert_id: int, error: str) -> None:  # type: ignore[no-untyped-def]
    """Dead-letter this alert and queue the unit's next contact channel, if it has one."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return
    alert.state = "dead"
    alert.last_error = without_values(error)[:500]
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


def send_reply(services: Services, job: ClaimedJob) -> None:
    """Send an outbound message to the tipster on the channel they wrote from."""
    key = job.key
    with services.db.reader() as session:
        message = session.get(Message, int(key))
        if message is None or message.delivery_state != "pending":
            return
        incident = session.get(Incident, message.incident_id)
        tipster = session.get(Tipster, incident.tipster_id) if incident else None
        handle = services.cipher.decrypt(tipster.handle) if tipster else None
        channel = Channel(message.channel)
        text = message.text
    if not handle or not spec_of(channel).replies:
        with services.db.writer(durable=False) as session:
            stored = session.get(Message, int(key))
            if stored is not None:
                stored.delivery_state = "undeliverable"
            job.finish(session)
        return
    try:
        _send(services, OutboundMessage(channel=channel, recipient=handle, text=text))
    except SendError as exc:
        if exc.retryable:
            raise DeliveryRetry(str(exc), exc.retry_after) from exc
        state = "failed"
    else:
        state = "sent"
    with services.db.writer(durable=False) as session:
        stored = session.get(Message, int(key))
        if stored is not None:
            stored.delivery_state = state
        job.finish(session)


def run_async(coroutine_factory: Callable[[], object]) -> object:
    """Run a coroutine from a worker thread on that thread's own event loop."""
    loop = _thread_loop()
    return loop.run_until_complete(coroutine_factory())  # type: ignore[arg-type]


_loops = threading.local()


def _thread_loop() -> asyncio.AbstractEventLoop:
    loop = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _loops.loop = loop
    return loop
