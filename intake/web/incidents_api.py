"""The operator's desk over the API: a case from a call, and corrections to a case."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy.orm import Session

from intake.pipeline.corrections import correct
from intake.pipeline.desk import Caller, CallRecord, DeskError, Victim, file_call
from intake.pipeline.incidents import TransitionError
from intake.store import audit
from intake.store.models import Incident
from intake.web.api import IncidentId, UserDep, _change, _routed, services_of
from intake.web.permissions import Action, require
from intake.web.schemas import CallCreate, IncidentPatch, IncidentRead

router = APIRouter(prefix="/api/v1", tags=["api"])


def record_of(body: CallCreate) -> CallRecord:
    """The desk's record of a call from the API's body."""
    return CallRecord(
        text=body.text,
        ward_code=body.ward_code,
        province_code=body.province_code,
        level=body.level,
        categories=body.categories,
        trafficking_purpose=body.trafficking_purpose,
        victim=Victim(**body.victim.model_dump()),
        caller=Caller(**body.caller.model_dump()),
        key=body.idempotency_key,
    )


@router.post("/incidents", response_model=IncidentRead, status_code=201)
def post_incident(request: Request, user: UserDep, body: CallCreate) -> IncidentRead:
    """File a case from a phone call (operators and supervisors). It is stored, located,
    triaged and routed like any tip; the level, categories, purpose, place and victim the
    operator gives are final, and a level or categories are kept as training feedback."""
    require(user, Action.CALL_RECORD)
    services = services_of(request)
    try:
        with services.db.writer() as session:
            incident = file_call(
                session=session,
                services=services,
                record=record_of(body),
                actor=f"user:{user.username}",
                user_id=user.id,
            )
            audit.record(
                session=session, user=user, action="call_recorded", incident_id=incident.id
            )
            session.flush()
            read = IncidentRead.from_incident(incident, _routed(session, incident.id))
    except DeskError as exc:
        raise HTTPException(422, str(exc)) from exc
    services.wakeup.set()
    return read


@router.patch("/incidents/{incident_id}", response_model=IncidentRead)
def patch_incident(
    request: Request, user: UserDep, incident_id: IncidentId, body: IncidentPatch
) -> IncidentRead:
    """Correct a case: victim, caller (relation, consent), categories, purpose, level,
    place. A stale `version` is refused with 409; each change goes on the timeline. A level
    clears the "needs review" mark; a consent given after the alerts sends the units
    alerted the tipster's contact."""
    require(user, Action.CORRECT)
    services = services_of(request)
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    if "victim" in changes:
        changes["victim"] = body.victim.model_dump(exclude_unset=True) if body.victim else {}
    if "caller" in changes:
        changes["caller"] = body.caller.model_dump(exclude_unset=True) if body.caller else {}

    def apply(session: Session, incident: Incident) -> None:
        try:
            changed = correct(
                session=session,
                services=services,
                incident=incident,
                changes=changes,
                actor=f"user:{user.username}",
            )
        except (DeskError, TransitionError) as exc:
            raise HTTPException(422, str(exc)) from exc
        if "caller.consent" in changed:  # who decided that a contact may be shared
            audit.record(
                session=session,
                user=user,
                action="consent",
                incident_id=incident.id,
                detail={"consent": bool(changes["caller"]["consent"])},
            )

    return _change(request, user, incident_id, body.version, "corrected", apply)
