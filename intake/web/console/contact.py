"""Call back: an operator reveals a tipster's contact, with a reason, audited.

Alerts tell units to call the hotline for a tipster who did not agree to share their
contact; this is where the hotline's staff read it. Only the page answering the request
shows it: nothing is kept in the session or the URL.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from intake.store import audit
from intake.store.auth import may_see
from intake.store.models import Incident, Tipster
from intake.store.timeline import add_event
from intake.web.console.incident import show_incident
from intake.web.console.render import services_of, user_of
from intake.web.console.session import check_csrf
from intake.web.permissions import Action

router = APIRouter(prefix="/console", include_in_schema=False)
NEED_REASON = "Ghi lý do xem liên lạc (give the reason for revealing the contact)"


@router.post("/incidents/{incident_id}/contact", response_class=HTMLResponse)
async def reveal_contact(request: Request, incident_id: int) -> HTMLResponse:
    """The incident page with the tipster's name, phone and handle shown once."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, form.get("csrf", ""))
    reason = form.get("reason", "").strip()[:500]
    services = services_of(request)

    def run() -> dict[str, str | bool | None] | str:
        user = user_of(request, Action.REVEAL_CONTACT)
        if len(reason) < 3:
            return NEED_REASON
        with services.db.writer() as session:
            incident = session.get(Incident, incident_id) if 0 < incident_id < 2**31 else None
            if incident is None or not may_see(session=session, user=user, incident_id=incident_id):
                raise HTTPException(404, "no such incident")
            tipster = session.get(Tipster, incident.tipster_id) if incident.tipster_id else None
            audit.record(
                session=session,
                user=user,
                action="contact_revealed",
                incident_id=incident_id,
                detail={"reason": reason},
            )
            add_event(
                session=session,
                incident=incident,
                actor=f"user:{user.username}",
                action="contact_revealed",
                detail={"text": reason},
            )
            if tipster is None:
                return {"none": True}
            cipher = services.cipher
            return {
                "channel": tipster.channel,
                "name": cipher.decrypt(tipster.display_name),
                "phone": cipher.decrypt(tipster.phone),
                "handle": cipher.decrypt(tipster.handle),
                "consent": tipster.consent_to_share,
            }

    contact = await run_in_threadpool(run)
    if isinstance(contact, str):
        return await run_in_threadpool(show_incident, request, incident_id, contact, 422)
    return await run_in_threadpool(lambda: show_incident(request, incident_id, contact=contact))
