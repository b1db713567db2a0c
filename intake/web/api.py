"""The JSON API: partner tips, incident reads and status changes (bearer tokens)."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.concurrency import run_in_threadpool

from channels.base import Channel
from intake.pipeline.acknowledge import acknowledge
from intake.pipeline.context import Services
from intake.pipeline.feedback import overrule_level
from intake.pipeline.incidents import StaleVersionError, TransitionError, change_status
from intake.pipeline.route import route_incident
from intake.store import audit
from intake.store.auth import UNIT_ROLES, may_see
from intake.store.models import Assignment, Incident, Role, Status, User
from intake.store.search import search_condition
from intake.web.permissions import Action, require
from intake.web.schemas import (
    Acknowledge,
    IncidentPage,
    IncidentRead,
    IncidentSummary,
    LevelChange,
    RoutedUnit,
    StatusChange,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["api"])


def services_of(request: Request) -> Services:
    """The process's services, set on the app by the factory."""
    services: Services = request.app.state.services
    return services


class BearerUser(HTTPBearer):
    """The user whose bearer token came with the request (401 without a valid one).

    One dependency that both declares the bearer scheme in the OpenAPI document and
    resolves the token: every partner tip passes through it, and each level of
    dependencies FastAPI solves costs about as much as reading the token itself.
    """

    async def __call__(self, request: Request) -> User:  # type: ignore[override]
        services = services_of(request)
        token = _bearer_token(request)
        user = await run_in_threadpool(services.token_cache.user_for, services.db, token)
        if user is None:
            raise refused(401, "invalid or revoked token")
        return user

    async def sender(self, request: Request) -> tuple[int, User]:
        """The token's id and user for a partner tip: a token cached goes on unchecked, as
        the intake writer checks it where the tip is stored (`inbox_batch.Batch.checked`,
        one query a group commit); one not cached is loaded off the loop first."""
        services = services_of(request)
        token = _bearer_token(request)
        found = services.token_cache.cached(token)
        if found is None:
            found = await run_in_threadpool(services.token_cache.load, services.db, token)
        if found is None:
            raise refused(401, "invalid or revoked token")
        return found


def _bearer_token(request: Request) -> str:
    """The bearer token in the header, read as HTTPBearer reads it
    (get_authorization_scheme_param), without the credentials model it builds for every
    request; 401 without one."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    if not token or scheme.lower() != "bearer":
        raise refused(401, "bearer token required")
    return token


def refused(status: int, detail: str) -> HTTPException:
    """A 401 (with the bearer challenge) or a 403 for a request's token."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status, detail, headers)


bearer_user = BearerUser(auto_error=False, scheme_name="HTTPBearer")
UserDep = Annotated[User, Depends(bearer_user)]
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="incident id")]


def require_role(user: User, roles: AbstractSet[Role]) -> None:
    """403 unless the user has one of the roles (prefer `permissions.require`)."""
    if user.role not in roles:
        raise HTTPException(403, f"role {user.role} may not do this")


def _encode_cursor(incident_id: int) -> str:
    return base64.urlsafe_b64encode(str(incident_id).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(400, "invalid cursor") from exc


@router.get("/incidents", response_model=IncidentPage)
def list_incidents(
    request: Request,
    user: UserDep,
    status: Status | None = None,
    level: str | None = Query(default=None, pattern="^(P1|P2|P3|P4|SPAM)$"),
    province_code: int | None = Query(default=None, ge=0, le=10**6),
    ward_code: int | None = Query(default=None, ge=0, le=10**7),
    channel: Channel | None = None,
    since: datetime | None = None,
    cursor: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=50, ge=1, le=200),
    needs_review: bool | None = Query(
        default=None, description="only incidents whose level triage marked for review"
    ),
    q: str | None = Query(
        default=None,
        max_length=200,
        description="a reference, a phone number, words (diacritics optional) or a place",
    ),
) -> IncidentPage:
    """Incidents newest first, filtered; unit users see only their unit's. `q` searches
    every incident, closed, spam and duplicates included."""
    require(user, Action.INCIDENT_LIST)
    services = services_of(request)
    query = select(Incident).order_by(Incident.id.desc()).limit(limit + 1)
    if q and q.strip():
        query = query.where(search_condition(services.cipher, q))
    if user.role in UNIT_ROLES:
        query = query.join(Assignment, Assignment.incident_id == Incident.id).where(
            Assignment.unit_id == user.unit_id
        )
    filters = {
        Incident.status: status,
        Incident.level: level,
        Incident.province_code: province_code,
        Incident.ward_code: ward_code,
        Incident.channel: channel,
        Incident.needs_review: needs_review,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(Incident.received_at >= _aware(since))
    if cursor:
        query = query.where(Incident.id < _decode_cursor(cursor))
    with services.db.reader() as session:
        rows = list(session.scalars(query).unique())
    page, more = rows[:limit], len(rows) > limit
    with services.db.writer() as session:
        audit.record(
            session=session,
            user=user,
            action="search" if q else "list",
            detail={"ids": [i.id for i in page]},
        )
    return IncidentPage(
        items=[
            IncidentSummary(
                id=i.id,
                reference=i.reference,
                status=i.status,
                level=i.level,
                needs_review=i.needs_review,
                categories=list(i.categories),
                channel=i.channel,
                received_at=i.received_at,
                province_code=i.province_code,
                ward_code=i.ward_code,
                summary=i.summary,
            )
            for i in page
        ],
        next_cursor=_encode_cursor(page[-1].id) if more and page else None,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _routed(session: Session, incident_id: int) -> list[RoutedUnit]:
    rows = session.scalars(select(Assignment).where(Assignment.incident_id == incident_id))
    return [
        RoutedUnit(
            unit_id=a.unit_id,
            kind=a.unit.kind,
            name=a.unit.name,
            reason=a.reason,
            acknowledged_at=a.acknowledged_at,
        )
        for a in rows
    ]


def check_access(services: Services, user: User, incident_id: int) -> None:
    """404 for a missing incident; 403 (audited) for one not routed to the user's unit."""
    with services.db.reader() as session:
        exists = session.get(Incident, incident_id) is not None
        visible = exists and may_see(session=session, user=user, incident_id=incident_id)
    if not exists:
        raise HTTPException(404, "no such incident")
    if not visible:
        with services.db.writer() as session:
            audit.record(session=session, user=user, action="denied", incident_id=incident_id)
        raise HTTPException(403, "this incident is not routed to your unit")


def _readable(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:  # deleted between the check and now
        raise HTTPException(404, "no such incident")
    return incident


@router.get("/incidents/{incident_id}", response_model=IncidentRead)
def get_incident(request: Request, user: UserDep, incident_id: IncidentId) -> IncidentRead:
    """One incident with its conversation; the read is audited."""
    require(user, Action.INCIDENT_READ)
    services = services_of(request)
    check_access(services, user, incident_id)
    with services.db.writer() as session:
        incident = _readable(session, incident_id)
        audit.record(session=session, user=user, action="view", incident_id=incident_id)
        return IncidentRead.from_incident(incident, _routed(session, incident_id))


@router.post("/incidents/{incident_id}/status", response_model=IncidentRead)
def post_status(
    request: Request, user: UserDep, incident_id: IncidentId, change: StatusChange
) -> IncidentRead:
    """Move an incident along its lifecycle (the hotline's staff); a stale `version` is
    refused with 409. Units report their own part through acknowledgement and the console."""
    require(user, Action.STATUS)
    services = services_of(request)
    check_access(services, user, incident_id)
    with services.db.writer() as session:
        incident = _readable(session, incident_id)
        try:
            change_status(
                session=session,
                incident=incident,
                status=change.status,
                actor=f"user:{user.username}",
                reason=change.reason,
                expected_version=change.version,
            )
        except StaleVersionError as exc:
            raise HTTPException(409, str(exc)) from exc
        except TransitionError as exc:
            raise HTTPException(422, str(exc)) from exc
        audit.record(
            session=session,
            user=user,
            action="status",
            incident_id=incident_id,
            detail={"to": str(change.status)},
        )
        session.flush()
        return IncidentRead.from_incident(incident, _routed(session, incident_id))


def _change(
    request: Request,
    user: UserDep,
    incident_id: int,
    version: int | None,
    action: str,
    apply: Callable[[Session, Incident], None],
) -> IncidentRead:
    """Run one audited change on an incident, refusing a stale version with 409."""
    services = services_of(request)
    check_access(services, user, incident_id)
    try:
        with services.db.writer() as session:
            incident = _readable(session, incident_id)
            if version is not None and version != incident.version:
                raise HTTPException(
                    409, f"incident {incident.reference} changed since you loaded it; reload it"
                )
            apply(session, incident)
            audit.record(session=session, user=user, action=action, incident_id=incident_id)
            session.flush()
            return IncidentRead.from_incident(incident, _routed(session, incident_id))
    except StaleDataError as exc:
        raise HTTPException(409, "the incident was changed at the same time; reload it") from exc


@router.post("/incidents/{incident_id}/level", response_model=IncidentRead)
def post_level(
    request: Request, user: UserDep, incident_id: IncidentId, change: LevelChange
) -> IncidentRead:
    """Overrule triage; the reason is kept (`hotline111 triage export-feedback`)."""
    require(user, Action.LEVEL)
    services = services_of(request)

    def apply(session: Session, incident: Incident) -> None:
        try:
            overrule_level(
                session=session,
                incident=incident,
                level=change.level,
                categories=change.categories,
                reason=change.reason,
                actor=f"user:{user.username}",
            )
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        route_incident(
            session=session, services=services, incident=incident, actor=f"user:{user.username}"
        )

    return _change(request, user, incident_id, change.version, "level", apply)


@router.post("/incidents/{incident_id}/acknowledge", response_model=IncidentRead)
def post_acknowledge(
    request: Request, user: UserDep, incident_id: IncidentId, ack: Acknowledge
) -> IncidentRead:
    """A unit acknowledges: its own user, or an operator for a unit on the phone."""
    require(user, Action.ACKNOWLEDGE)
    if user.role in UNIT_ROLES and ack.unit_id != user.unit_id:
        raise HTTPException(403, "you can acknowledge only for your own unit")

    def apply(session: Session, incident: Incident) -> None:
        assignments = list(
            session.scalars(
                select(Assignment).where(
                    Assignment.incident_id == incident.id, Assignment.unit_id == ack.unit_id
                )
            )
        )
        if not assignments:
            raise HTTPException(422, f"incident is not routed to unit {ack.unit_id}")
        via = "console" if user.role in UNIT_ROLES else "phone"
        acknowledge(
            session=session,
            incident=incident,
            assignments=assignments,
            by=f"user:{user.username}",
            via=via,
        )

    return _change(request, user, incident_id, None, "acknowledge", apply)
