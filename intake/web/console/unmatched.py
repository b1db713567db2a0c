"""Messages waiting for an operator (intake/pipeline/unmatched.py): listed, attached to an
incident or dismissed; every view and decision audited."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from intake.pipeline.unmatched import NotWaiting, attach, dismiss, waiting
from intake.store import audit
from intake.store.models import Incident
from intake.web.console.render import render, services_of, take_flash, user_of
from intake.web.console.session import check_csrf
from intake.web.permissions import Action

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/inbox", response_class=HTMLResponse)
def waiting_page(request: Request) -> HTMLResponse:
    """The messages no incident took, oldest first."""
    user = user_of(request, Action.INBOX)
    services = services_of(request)
    with services.db.writer() as session:
        items = waiting(session, services.cipher)
        audit.record(
            session=session, user=user, action="inbox_view", detail={"ids": [i.id for i in items]}
        )
    return render(request, "inbox.html", user, items=items, notice=take_flash(request))


@router.post("/inbox/{item_id}")
async def decide(request: Request, item_id: int) -> Response:
    """Attach one waiting message to the incident named, or dismiss it."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, form.get("csrf", ""))
    if not 0 < item_id < 2**62:
        raise HTTPException(404, "no such message is waiting")
    services = services_of(request)

    def run() -> str:
        user = user_of(request, Action.INBOX)
        actor = f"user:{user.username}"
        with services.db.writer() as session:
            try:
                if form.get("do") == "dismiss":
                    dismiss(session=session, item_id=item_id)
                    audit.record(
                        session=session,
                        user=user,
                        action="inbox_dismiss",
                        detail={"inbox_id": item_id},
                    )
                    return "Đã bỏ qua. (Dismissed.)"
                reference = form.get("reference", "").strip()[:32]
                incident = session.scalars(
                    select(Incident).where(Incident.reference == reference)
                ).first()
                if incident is None:
                    return "Không có sự việc mang mã này. (No incident has this reference.)"
                attach(
                    session=session,
                    cipher=services.cipher,
                    item_id=item_id,
                    incident=incident,
                    actor=actor,
                )
                audit.record(
                    session=session,
                    user=user,
                    action="inbox_attach",
                    incident_id=incident.id,
                    detail={"inbox_id": item_id},
                )
                return f"Đã gắn vào {incident.reference}. (Attached.)"
            except NotWaiting as exc:
                raise HTTPException(404, "no such message is waiting") from exc
            except ValueError as exc:
                return str(exc)

    request.session["flash"] = await run_in_threadpool(run)
    return RedirectResponse("/console/inbox", status_code=303)
