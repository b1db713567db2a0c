"""The API's request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from intake.pipeline.incidents import clean_text
from intake.store.models import Incident, Status


def _clean(value: object) -> object:
    """Control characters (NUL among them) become U+FFFD: stored safely on every database."""
    return clean_text(value) if isinstance(value, str) else value


class Reporter(BaseModel):
    """Who reported, as a partner system knows them."""

    model_config = ConfigDict(extra="ignore")

    _clean_text = field_validator("name", "phone")(_clean)

    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    consent_to_share: bool = False


class TipCreate(BaseModel):
    """A tip from a partner system; `external_id` is its idempotency key."""

    model_config = ConfigDict(extra="ignore")

    text: str = Field(max_length=100_000)
    external_id: str = Field(min_length=1, max_length=200)
    location_text: str | None = Field(default=None, max_length=2_000)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    victim_age: int | None = Field(default=None, ge=0, le=120)
    victim_gender: Literal["female", "male", "other"] | None = None
    reporter: Reporter | None = None
    received_at: datetime | None = None

    _clean_text = field_validator("text", "external_id", "location_text")(_clean)


class TipAccepted(BaseModel):
    """The incident a tip became (id and reference are null while it waits to be ingested)."""

    id: int | None
    reference: str | None
    status: str


class Victim(BaseModel):
    age: int | None
    gender: str | None
    count: int | None
    age_group: str | None = None
    disability: bool | None = None


class CallerRead(BaseModel):
    """The caller's relation to the victim, and whether they agree that responders may
    contact them (never who they are)."""

    relation: str | None
    consent: bool


class MessageRead(BaseModel):
    direction: str
    channel: str
    kind: str
    text: str
    attachments: list[dict[str, Any]]
    latitude: float | None
    longitude: float | None
    created_at: datetime


class RoutedUnit(BaseModel):
    unit_id: str
    kind: str
    name: str
    reason: str
    acknowledged_at: datetime | None


class IncidentRead(BaseModel):
    """An incident as the API shows it (never the tipster's identity)."""

    id: int
    reference: str
    version: int
    status: str
    level: str | None
    needs_review: bool  # the level is triage's provisional one: a person should read the tip
    score: float | None
    categories: list[str]
    trafficking_purpose: str | None
    channel: str
    received_at: datetime
    updated_at: datetime
    province_code: int | None
    ward_code: int | None
    location_text: str | None
    location_confidence: float | None
    location_candidates: list[dict[str, Any]]
    latitude: float | None
    longitude: float | None
    victim: Victim
    caller: CallerRead
    summary: str | None
    routed_to: list[RoutedUnit]
    reasons: list[dict[str, Any]]
    messages: list[MessageRead]

    @classmethod
    def from_incident(cls, incident: Incident, routed: list[RoutedUnit]) -> IncidentRead:
        """Build the API view of an incident."""
        return cls(
            id=incident.id,
            reference=incident.reference,
            version=incident.version,
            status=incident.status,
            level=incident.level,
            needs_review=incident.needs_review,
            score=incident.score,
            categories=list(incident.categories),
            trafficking_purpose=incident.trafficking_purpose,
            channel=incident.channel,
            received_at=incident.received_at,
            updated_at=incident.updated_at,
            province_code=incident.province_code,
            ward_code=incident.ward_code,
            location_text=incident.location_text,
            location_confidence=incident.location_confidence,
            location_candidates=list(incident.location_candidates),
            latitude=incident.latitude,
            longitude=incident.longitude,
            victim=Victim(
                age=incident.victim_age,
                gender=incident.victim_gender,
                count=incident.victim_count,
                age_group=incident.victim_age_group,
                disability=incident.victim_disability,
            ),
            caller=CallerRead(
                relation=incident.caller_relation,
                consent=bool(incident.tipster and incident.tipster.consent_to_share),
            ),
            summary=incident.summary,
            routed_to=routed,
            reasons=list(incident.reasons),
            messages=[
                MessageRead(
                    direction=m.direction,
                    channel=m.channel,
                    kind=m.kind,
                    text=m.text,
                    attachments=list(m.attachments),
                    latitude=m.latitude,
                    longitude=m.longitude,
                    created_at=m.created_at,
                )
                for m in incident.messages
            ],
        )


class IncidentSummary(BaseModel):
    """One row of the incident list."""

    id: int
    reference: str
    status: str
    level: str | None
    needs_review: bool
    categories: list[str]
    channel: str
    received_at: datetime
    province_code: int | None
    ward_code: int | None
    summary: str | None


class IncidentPage(BaseModel):
    """A page of incidents, newest first; pass `next_cursor` back for the next page."""

    items: list[IncidentSummary]
    next_cursor: str | None


class StatusChange(BaseModel):
    """Move an incident to another status; `version` guards against stale pages."""

    status: Status
    reason: str = Field(default="", max_length=2_000)
    version: int | None = None


class LevelChange(BaseModel):
    """An operator overrules triage; the reason is kept as labelled feedback."""

    level: Literal["P1", "P2", "P3", "P4", "SPAM"]
    categories: list[str] | None = Field(default=None, max_length=13)
    reason: str = Field(min_length=3, max_length=2_000)
    version: int | None = None

    _clean_text = field_validator("reason")(_clean)


class Acknowledge(BaseModel):
    """A unit acknowledges an incident (by its own account, or by phone to an operator)."""

    unit_id: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=2_000)


class VictimIn(BaseModel):
    """The victim(s) as the caller describes them; an age, or an age group when unknown."""

    model_config = ConfigDict(extra="forbid")

    sex: Literal["female", "male", "other"] | None = None
    age: int | None = Field(default=None, ge=0, le=120)
    age_group: Literal["under_6", "6-11", "12-15", "16-17", "adult"] | None = None
    count: int | None = Field(default=None, ge=1, le=10_000)
    disability: bool | None = None


Relation = Literal[
    "self", "parent", "relative", "neighbour", "teacher", "friend", "official", "other"
]


class CallerIn(BaseModel):
    """Who called; `consent`: they agree that responders may contact them."""

    model_config = ConfigDict(extra="forbid")

    relation: Relation | None = None
    phone: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=200)
    consent: bool = False

    _clean_text = field_validator("name", "phone")(_clean)


class CallerPatch(BaseModel):
    """A correction of the caller: their relation to the victim, their consent."""

    model_config = ConfigDict(extra="forbid")

    relation: Relation | None = None
    consent: bool | None = None


Level = Literal["P1", "P2", "P3", "P4", "SPAM"]


class CallCreate(BaseModel):
    """A case an operator records from a call; what they choose is final."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=20_000)
    ward_code: int | None = Field(default=None, ge=1, le=10**7)
    province_code: int | None = Field(default=None, ge=1, le=10**6)
    level: Level | None = None
    categories: list[str] | None = Field(default=None, max_length=13)
    trafficking_purpose: str | None = Field(default=None, max_length=32)
    victim: VictimIn = Field(default_factory=VictimIn)
    caller: CallerIn = Field(default_factory=CallerIn)
    idempotency_key: str | None = Field(
        default=None, min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$"
    )

    _clean_text = field_validator("text")(_clean)


class IncidentPatch(BaseModel):
    """Corrections to an incident; only the fields given change. `version` guards
    against stale pages (409)."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = None
    victim: VictimIn | None = None
    caller: CallerPatch | None = None
    categories: list[str] | None = Field(default=None, max_length=13)
    trafficking_purpose: str | None = Field(default=None, max_length=32)
    level: Level | None = None
    reason: str | None = Field(default=None, max_length=2_000)
    ward_code: int | None = Field(default=None, ge=1, le=10**7)
    province_code: int | None = Field(default=None, ge=1, le=10**6)

    _clean_text = field_validator("reason")(_clean)
