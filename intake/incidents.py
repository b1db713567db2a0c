"""Incidents: creating them from inbound messages, their lifecycle and timeline."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from channels.base import Channel, InboundMessage, MessageKind
from intake import jobs
from intake.crypto import Cipher
from intake.db import built_once, driver_rows
from intake.models import (
    OPEN_STATUSES,
    Counter,
    Event,
    InboxItem,
    Incident,
    Message,
    Status,
    Tipster,
)
from intake.serialize import load_message

log = logging.getLogger(__name__)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CHAT_CHANNELS = {Channel.SMS, Channel.TELEGRAM, Channel.ZALO}
ANONYMOUS_CHANNELS = {Channel.API, Channel.WEB_FORM}
NOT_INCIDENTS = {MessageKind.EVENT, MessageKind.COMMAND, MessageKind.ACK}

# Which status may follow which; "duplicate" and "spam" are reachable from any open one.
TRANSITIONS: dict[Status, set[Status]] = {
    Status.NEW: {Status.TRIAGED, Status.ROUTED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.TRIAGED: {Status.ROUTED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.ROUTED: {Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.ACKNOWLEDGED: {Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.IN_PROGRESS: {Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.CLOSED, Status.IN_PROGRESS},
    Status.CLOSED: {Status.IN_PROGRESS},
    Status.DUPLICATE: {Status.IN_PROGRESS},
    Status.SPAM: {Status.IN_PROGRESS},
}
for _status in OPEN_STATUSES:
    TRANSITIONS[_status] |= {Status.DUPLICATE, Status.SPAM}


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Control characters (NUL among them, which PostgreSQL refuses) and lone surrogates
    (which JSON can carry and no database can store) become U+FFFD.

    The inbox keeps the provider's exact bytes; this is the readable copy.
    """
    return _CONTROL.sub("\ufffd", text)


class TransitionError(ValueError):
    """A status change the lifecycle does not allow."""


class StaleVersionError(ValueError):
    """Someone else changed the incident since the caller read it."""


@dataclass(frozen=True)
class IngestOptions:
    """How inbound messages are grouped into incidents."""

    conversation_window: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class IngestOutcome:
    """The incident a message went to (None for events, commands and acknowledgements)."""

    incident: Incident | None
    created: bool
    message: InboundMessage


def allocate_reference(*, session: Session, at: datetime) -> str:
    """The next short human reference, 111-YYMM-NNNN, numbered per month (Vietnam time)."""
    (reference,) = allocate_references(session.connection(), at=[at])
    return reference


def reference_period(moment: datetime) -> str:
    """The month a reference is numbered in: YYMM of the moment in Vietnam."""
    return moment.astimezone(VN_TZ).strftime("%y%m")


def allocate_references(connection: Connection, *, at: list[datetime]) -> list[str]:
    """One reference for each time in `at`, in order: one counter update per month."""
    periods = [reference_period(moment) for moment in at]
    last: dict[str, int] = {}
    for period in dict.fromkeys(periods):
        last[period] = connection.execute(
            built_once(connection, "bump counter", _bump_counter),
            {"name": f"ref:{period}", "count": periods.count(period)},
        ).scalar_one()
    return _references(periods, last)


def number_incidents(connection: Connection, *, at: list[datetime]) -> list[tuple[int, str]]:
    """An incident id and a reference for each of len(at) new incidents (opened at those
    times), in order. On SQLite all the counters move in one statement, given to the
    driver as it is: this runs for every batch of intake."""
    if not at:
        return []
    if connection.dialect.name != "sqlite":
        ids = reserve_incident_ids(connection, len(at))
        return list(zip(ids, allocate_references(connection, at=at), strict=True))
    periods = [reference_period(moment) for moment in at]
    months = list(dict.fromkeys(periods))
    parameters: list[object] = [len(at)]
    for period in months:
        parameters += [f"ref:{period}", periods.count(period)]
    values = dict(driver_rows(connection, _sqlite_bump_counters(len(months)), parameters))
    highest_id = values["incident_id"]
    new_ids = range(highest_id - len(at) + 1, highest_id + 1)
    last = {period: values[f"ref:{period}"] for period in months}
    return list(zip(new_ids, _references(periods, last), strict=True))


def _references(periods: list[str], last: dict[str, int]) -> list[str]:
    """The references of new incidents in these months, in order, each month's counter
    having just reached `last[month]`."""
    next_number = {period: last[period] - periods.count(period) + 1 for period in last}
    references = []
    for period in periods:
        references.append(f"111-{period}-{next_number[period]:04d}")
        next_number[period] += 1
    return references


@functools.cache
def _sqlite_bump_counters(months: int) -> str:
    """SQLite: the incident-id counter moves up by the first parameter (never below the
    highest id written, as in `_bump_incident_ids`), and each month's reference counter
    (name, count) by its count; returns each counter's new value."""
    highest = "(SELECT coalesce(max(id), 0) FROM incidents)"
    reference_counters = ", (?, ?)" * months
    return (
        "INSERT INTO counters (name, value)"
        f" VALUES ('incident_id', {highest} + ?){reference_counters}"
        " ON CONFLICT (name) DO UPDATE SET value = CASE counters.name"
        # excluded.value is there the highest id plus the count
        f" WHEN 'incident_id' THEN max(excluded.value, counters.value + excluded.value - {highest})"
        " ELSE counters.value + excluded.value END"
        " RETURNING name, value"
    )


COUNTERS = cast(Table, Counter.__table__)
INCIDENTS = cast(Table, Incident.__table__)
_HIGHEST_INCIDENT = select(func.coalesce(func.max(INCIDENTS.c.id), 0)).scalar_subquery()
_PG_NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, :count)"
)


def _bump_counter(insert: Any) -> Any:
    """counters[name] += count, returning the new value (the row is made on first use)."""
    return (
        insert(COUNTERS)
        .values(name=bindparam("name"), value=bindparam("count"))
        .on_conflict_do_update(
            index_elements=[COUNTERS.c.name],
            set_={"value": COUNTERS.c.value + bindparam("count")},
        )
        .returning(COUNTERS.c.value)
    )


def _bump_incident_ids(insert: Any) -> Any:
    """SQLite's stand-in for a sequence: counters['incident_id'] += count, never below
    the highest id written."""
    return (
        insert(COUNTERS)
        .values(name="incident_id", value=_HIGHEST_INCIDENT + bindparam("count"))
        .on_conflict_do_update(
            index_elements=[COUNTERS.c.name],
            set_={"value": func.max(COUNTERS.c.value, _HIGHEST_INCIDENT) + bindparam("count")},
        )
        .returning(COUNTERS.c.value)
    )


def reserve_incident_ids(connection: Connection, count: int) -> list[int]:
    """`count` new incident ids, taken now so that a tip can be answered with the id of
    the incident a worker writes a moment later. On PostgreSQL they come from the id
    sequence; SQLite has none, so the `incident_id` counter plays its part, kept above
    every id already used (every incident written takes its id from here: see
    `models.Incident.id`)."""
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        return [int(v) for v in connection.execute(_PG_NEXT_IDS, {"count": count}).scalars()]
    statement = built_once(connection, "bump incident ids", _bump_incident_ids)
    last = int(connection.execute(statement, {"count": count}).scalar_one())
    return list(range(last - count + 1, last + 1))


def add_event(
    *, session: Session, incident: Incident, actor: str, action: str, detail: dict[str, Any]
) -> None:
    """Append one entry to the incident's timeline."""
    add_event_for(
        session=session, incident_id=incident.id, actor=actor, action=action, detail=detail
    )


def add_event_for(
    *, session: Session, incident_id: int, actor: str, action: str, detail: dict[str, Any]
) -> None:
    """Append one entry to the timeline of the incident with this id (no need to load it)."""
    session.add(Event(incident_id=incident_id, actor=actor, action=action, detail=detail))


def _tipster(session: Session, cipher: Cipher, message: InboundMessage) -> Tipster | None:
    """The tipster behind a message, found by blind index or created; none for an
    anonymous partner or web-form tip (nothing to find them by, nothing to keep)."""
    anonymous = message.channel in ANONYMOUS_CHANNELS and not (
        message.sender_phone or message.sender_name
    )
    if anonymous:
        return None
    index = cipher.blind_index(f"{message.channel}:{message.sender_id}")
    tipster = session.scalars(
        select(Tipster).where(Tipster.channel == message.channel, Tipster.handle_index == index)
    ).one_or_none()
    if tipster is None:
        tipster = Tipster(
            channel=message.channel,
            handle_index=index,
            handle=cipher.encrypt(message.sender_id),
        )
        session.add(tipster)
    if message.sender_phone:
        tipster.phone = cipher.encrypt(message.sender_phone)
    if message.sender_name:
        tipster.display_name = cipher.encrypt(message.sender_name)
    if message.extra.get("consent_to_share") == "true":
        tipster.consent_to_share = True
        tipster.anonymous = False
    session.flush()
    return tipster


def _open_conversation(
    session: Session, message: InboundMessage, tipster: Tipster | None, options: IngestOptions
) -> Incident | None:
    """The open incident a follow-up message belongs to, if any."""
    query = select(Incident).where(
        Incident.channel == message.channel, Incident.status.in_(list(OPEN_STATUSES))
    )
    if message.conversation_key:
        query = query.where(Incident.conversation_key == message.conversation_key)
    elif message.channel in CHAT_CHANNELS and tipster is not None:
        since = message.received_at - options.conversation_window
        query = query.where(Incident.tipster_id == tipster.id, Incident.last_message_at >= since)
    else:
        return None
    return session.scalars(query.order_by(Incident.id.desc()).limit(1)).first()


def _age(value: str | None) -> int | None:
    """An age the intake checked; anything else is left out (the message keeps it)."""
    return int(value) if value and value.isdigit() and int(value) <= 120 else None


def new_incident_fields(message: InboundMessage) -> dict[str, Any]:
    """The columns a new incident takes from the message that opens it."""
    extra = message.extra
    return {
        "channel": str(message.channel),
        "external_id": clean_text(extra["external_id"]) if extra.get("external_id") else None,
        "conversation_key": message.conversation_key,
        "received_at": message.received_at,
        "last_message_at": message.received_at,
        "location_text": clean_text(extra["location_text"]) if extra.get("location_text") else None,
        "victim_age": _age(extra.get("victim_age")),
        "victim_gender": extra.get("victim_gender") or None,
        "reasons": [],
        "categories": [],
        "location_candidates": [],
        "support_given": [],
    }


def _new_incident(
    session: Session,
    message: InboundMessage,
    tipster: Tipster | None,
    reserved: tuple[int, str] | None = None,
) -> Incident:
    """A new incident opened by its first message (with the id and reference the tip was
    answered with, when it was answered before this)."""
    incident = Incident(
        **new_incident_fields(message),
        reference=reserved[1]
        if reserved
        else allocate_reference(session=session, at=message.received_at),
        tipster_id=tipster.id if tipster is not None else None,
    )
    if reserved:
        incident.id = reserved[0]
    session.add(incident)
    session.flush()
    add_event(
        session=session,
        incident=incident,
        actor="system",
        action="created",
        detail={"channel": str(message.channel)},
    )
    return incident


def _apply_message(incident: Incident, message: InboundMessage) -> None:
    """Update an incident with what a new message carries."""
    incident.last_message_at = max(incident.last_message_at, message.received_at)
    if message.latitude is not None and message.longitude is not None:
        incident.latitude, incident.longitude = message.latitude, message.longitude
    if message.urgent and not incident.urgent_call:
        # The caller chose "a child is in danger now": P1 before the call is connected.
        incident.urgent_call = True
        incident.level = "P1"
        incident.score = max(incident.score or 0.0, 100.0)
        incident.reasons = [
            *incident.reasons,
            {"rule": "ivr_danger_now", "matched": "1", "effect": "level P1"},
        ]


def ingest_item(
    *,
    session: Session,
    cipher: Cipher,
    inbox_id: int,
    options: IngestOptions,
    message: InboundMessage | None = None,
) -> IngestOutcome:
    """Turn one stored inbox item into (part of) an incident; idempotent.

    `message` is given when the item was stored in this very transaction (the webhook's
    inline ingest), which spares reading it back.
    """
    reserved = None
    if message is None:
        item = session.get(InboxItem, inbox_id, with_for_update=True)
        if item is None or item.message is None:
            raise LookupError(f"inbox item {inbox_id} has no message")
        message = _load(cipher, item.message)
        if item.incident_id is not None:
            return IngestOutcome(session.get(Incident, item.incident_id), False, message)
        if item.reserved_incident_id is not None and item.reference:
            reserved = (item.reserved_incident_id, item.reference)
    if message.kind in NOT_INCIDENTS:
        _mark_item(session, inbox_id, str(message.kind), None)
        if message.kind == MessageKind.ACK:
            jobs.enqueue(session=session, kind="acknowledge", key=str(inbox_id))
        return IngestOutcome(None, False, message)
    tipster = _tipster(session, cipher, message)
    incident = None if reserved else _open_conversation(session, message, tipster, options)
    created = incident is None
    if incident is None:
        incident = _new_incident(session, message, tipster, reserved)
    _apply_message(incident, message)
    session.add(
        Message(
            incident_id=incident.id,
            inbox_id=inbox_id,
            direction="in",
            channel=message.channel,
            kind=message.kind,
            text=clean_text(message.text),
            attachments=[a.__dict__ for a in message.attachments],
            latitude=message.latitude,
            longitude=message.longitude,
            created_at=message.received_at,
        )
    )
    if not created:
        add_event(
            session=session,
            incident=incident,
            actor="system",
            action="message_received",
            detail={"kind": str(message.kind)},
        )
    session.flush()
    _mark_item(session, inbox_id, "ingested", incident.id)
    jobs.enqueue(session=session, kind="process", key=str(incident.id), new=created)
    log.info(
        "inbox item %s -> incident %s (%s)",
        inbox_id,
        incident.reference,
        "new" if created else "follow-up",
    )
    return IngestOutcome(incident, created, message)


def _mark_item(session: Session, inbox_id: int, state: str, incident_id: int | None) -> None:
    """Record what became of an inbox item."""
    session.execute(
        update(InboxItem)
        .where(InboxItem.id == inbox_id)
        .values(state=state, incident_id=incident_id)
        .execution_options(synchronize_session=False)
    )


def _load(cipher: Cipher, stored: str) -> InboundMessage:
    """Decrypt and rebuild a stored inbound message."""
    return load_message(cipher.decrypt(stored) or "")


def change_status(
    *,
    session: Session,
    incident: Incident,
    status: Status,
    actor: str,
    reason: str = "",
    expected_version: int | None = None,
) -> Incident:
    """Move an incident to another status, if the lifecycle allows it."""
    if expected_version is not None and expected_version != incident.version:
        raise StaleVersionError(
            f"incident {incident.reference} changed (version {incident.version}, "
            f"you had {expected_version}); reload it"
        )
    current = Status(incident.status)
    if status == current:
        return incident
    if status not in TRANSITIONS[current]:
        raise TransitionError(f"cannot go from {current} to {status}")
    incident.status = status
    add_event(
        session=session,
        incident=incident,
        actor=actor,
        action="status",
        detail={"from": str(current), "to": str(status), "reason": reason},
    )
    return incident
