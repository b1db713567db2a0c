"""The database tables: inbox, incidents and their conversation, jobs, users, audit."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from intake.store.numbering import reserve_incident_ids
from intake.store.sealed import SealedJSON, SealedText
from intake.store.times import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Status(StrEnum):
    """An incident's place in its lifecycle."""

    NEW = "new"
    TRIAGED = "triaged"
    ROUTED = "routed"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    DUPLICATE = "duplicate"
    SPAM = "spam"


OPEN_STATUSES = (
    Status.NEW,
    Status.TRIAGED,
    Status.ROUTED,
    Status.ACKNOWLEDGED,
    Status.IN_PROGRESS,
)


class Role(StrEnum):
    """What a person or system account may do."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    POLICE = "police"
    SOCIAL_WORKER = "social_worker"
    ADMIN = "admin"
    PARTNER = "partner"


def _next_incident_id(context: Any) -> int:
    (incident_id,) = reserve_incident_ids(context.connection, 1)
    return incident_id


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class InboxItem(Base):
    """A provider request, stored (encrypted) before the provider gets its 2xx."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "provider_message_id", name="uq_inbox_provider"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    provider_message_id: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    message: Mapped[str | None] = mapped_column(Text)  # encrypted InboundMessage JSON
    raw_body: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted request body
    error: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    # An anonymous partner or web-form tip is answered with the id and reference of the
    # incident it will open; a worker then writes that incident (intake.inbox).
    reserved_incident_id: Mapped[int | None] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(32))


class Tipster(Base):
    """The person who reported: identity encrypted, found again by blind index."""

    __tablename__ = "tipsters"
    __table_args__ = (UniqueConstraint("channel", "handle_index", name="uq_tipster_handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    handle_index: Mapped[str] = mapped_column(String(64))
    handle: Mapped[str | None] = mapped_column(Text)  # encrypted
    phone: Mapped[str | None] = mapped_column(Text)  # encrypted
    display_name: Mapped[str | None] = mapped_column(Text)  # encrypted
    consent_to_share: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Incident(Base):
    """One case, whatever channel it came in on."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_queue", "status", "level", "received_at"),
        UniqueConstraint("channel", "external_id", name="uq_incident_external"),
    )

    # Taken like the ids reserved for tips answered before their incident is written, so
    # the two never meet (SQLite would otherwise hand out max(id) + 1).
    id: Mapped[int] = mapped_column(primary_key=True, default=_next_incident_id)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default=Status.NEW)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    conversation_key: Mapped[str | None] = mapped_column(String(255), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    urgent_call: Mapped[bool] = mapped_column(Boolean, default=False)

    level: Mapped[str | None] = mapped_column(String(8))
    score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column(SealedJSON, default=list)  # "matched" sealed
    categories: Mapped[list[Any]] = mapped_column(default=list)
    trafficking_purpose: Mapped[str | None] = mapped_column(String(32))
    level_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    # Triage's level is provisional: a person should read the tip (an operator's level clears it).
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str | None] = mapped_column(SealedText)

    location_text: Mapped[str | None] = mapped_column(SealedText)
    province_code: Mapped[int | None] = mapped_column(Integer, index=True)
    ward_code: Mapped[int | None] = mapped_column(Integer, index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    location_confidence: Mapped[float | None] = mapped_column(Float)
    location_candidates: Mapped[list[Any]] = mapped_column(SealedJSON, default=list)
    location_source: Mapped[str | None] = mapped_column(String(16))
    location_set_by_operator: Mapped[bool] = mapped_column(Boolean, default=False)

    victim_age: Mapped[int | None] = mapped_column(Integer)
    victim_gender: Mapped[str | None] = mapped_column(String(16))
    victim_count: Mapped[int | None] = mapped_column(Integer)
    victim_age_group: Mapped[str | None] = mapped_column(String(16))  # when the age is not known
    victim_disability: Mapped[bool | None] = mapped_column(Boolean)
    # An operator set the victim's details: triage no longer overwrites them.
    victim_set_by_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    support_given: Mapped[list[Any]] = mapped_column(default=list)
    caller_relation: Mapped[str | None] = mapped_column(String(16))  # a caller's, to the victim

    tipster_id: Mapped[int | None] = mapped_column(ForeignKey("tipsters.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))

    tipster: Mapped[Tipster | None] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="incident", order_by="Message.id", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}


class Message(Base):
    """One inbound or outbound message of an incident's conversation."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"), unique=True)
    direction: Mapped[str] = mapped_column(String(8))  # in / out
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(SealedText, default="")
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delivery_state: Mapped[str | None] = mapped_column(String(16))

    incident: Mapped[Incident] = relationship(back_populates="messages")


class Event(Base):
    """The incident's timeline: who did what, when."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # "system", "user:12", "unit:..."
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(SealedJSON, default=dict)  # notes sealed


class Job(Base):
    """A unit of background work; the queue the workers share (row locks on PostgreSQL)."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_job_key"),
        Index("ix_jobs_due", "state", "run_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending/done/dead
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    rerun: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()


class User(Base):
    """A person (or partner system) who signs in or calls the API."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship(lazy="joined")


class AuditEntry(Base):
    """Who read or changed what; append-only (triggers refuse updates and deletes)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Counter(Base):
    """Named sequences (incident references per month)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Unit(Base):
    """A responsible unit from the directory (commune police, social worker...)."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(255))
    province_code: Mapped[int] = mapped_column(Integer, index=True)
    ward_code: Mapped[int | None] = mapped_column(Integer, index=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(64), index=True)
    zalo_user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(255))
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # off: routing skips it


class Assignment(Base):
    """An incident routed to a unit, with the rule that sent it there."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("incident_id", "unit_id", name="uq_assignment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    acknowledged_via: Mapped[str | None] = mapped_column(String(16))
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)

    unit: Mapped[Unit] = relationship()


class Alert(Base):
    """The outbox: one alert per (incident, unit, channel), sent by the delivery worker."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(SealedText)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class ProviderToken(Base):
    """A rotating provider credential (Zalo's access and single-use refresh token)."""

    __tablename__ = "provider_tokens"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)  # encrypted
    refresh_token: Mapped[str] = mapped_column(Text)  # encrypted
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KeyCheck(Base):
    """A key's check value, stored at its first start: proves the configured key is the
    one this database was written with (`intake.store.keys`)."""

    __tablename__ = "key_checks"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    check_value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by `keys rotate` once no stored value needs this key: it may then be removed.
    retired_at: Mapped[datetime | None] = mapped_column()
