"""'Ghi nhận cuộc gọi': the operator records a call as a case, keyboard first.

The form posts to /console/calls; as the operator types, the page asks
/console/calls/suggest for triage's reading (level, categories, reasons in words) and
/console/places for communes by name, old names included. The operator's choice is final.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from intake.pipeline.context import Services
from intake.pipeline.desk import (
    Caller,
    CallRecord,
    DeskError,
    Victim,
    add_call,
    file_call,
    suggestion,
)
from intake.store import audit
from intake.store.auth import may_see
from intake.store.models import Incident
from intake.web.console.i18n import label
from intake.web.console.options import choices
from intake.web.console.render import int_param, render, services_of, user_of
from intake.web.console.session import check_csrf
from intake.web.permissions import Action
from routing.geography.data import name_key

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/calls/new", response_class=HTMLResponse)
def call_form(request: Request, incident: str | None = None) -> HTMLResponse:
    """The empty form; from an IVR call's page, the record is added to that incident."""
    user = user_of(request, Action.CALL_RECORD)
    incident_id = int_param(incident, limit=2**31 - 1)
    reference = None
    if incident_id is not None:
        services = services_of(request)
        with services.db.reader() as session:
            found = session.get(Incident, incident_id)
            reference = found.reference if found is not None else None
    return render(
        request,
        "call.html",
        user,
        form={},
        key=uuid.uuid4().hex,
        into=incident_id if reference else None,
        into_reference=reference,
        provinces=sorted(services_of(request).geography.provinces.values(), key=lambda p: p.name),
        **choices(),
    )


def _int(form: dict[str, Any], name: str, limit: int) -> int | None:
    value = str(form.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > limit:
        raise DeskError(f"{name}: một số (a whole number)")
    return int(value)


def _place(services: Services, form: dict[str, Any]) -> int | None:
    """The commune: the code the type-ahead chose, else the resolver's single answer."""
    code = _int(form, "ward_code", 10**7)
    if code is not None:
        return code
    text = str(form.get("place") or "").strip()
    if not text:
        return None
    result = services.pipeline.resolver.resolve(text[:300])
    if result.ward_code is None:
        raise DeskError(
            "Không tìm thấy xã/phường này, chọn trong danh sách gợi ý "
            "(commune not found: pick one from the suggestions)"
        )
    return result.ward_code


def record_from_form(services: Services, form: dict[str, Any], key: str | None) -> CallRecord:
    """The desk's record from the posted form (DeskError for a value no field takes)."""
    categories = [c for c in form.get("categories", []) if c]
    level = str(form.get("level") or "") or None
    purpose = str(form.get("trafficking_purpose") or "") or None
    return CallRecord(
        text=str(form.get("text") or ""),
        ward_code=_place(services, form),
        province_code=_int(form, "province_code", 10**6),
        level=level,
        categories=categories or None,
        trafficking_purpose=purpose,
        victim=Victim(
            sex=str(form.get("sex") or "") or None,
            age=_int(form, "age", 200),
            age_group=str(form.get("age_group") or "") or None,
            count=_int(form, "count", 100_000),
            disability=bool(form.get("disability")) or None,
        ),
        caller=Caller(
            relation=str(form.get("relation") or "") or None,
            phone=str(form.get("phone") or "").strip()[:40] or None,
            name=str(form.get("name") or "").strip()[:200] or None,
            consent=bool(form.get("consent")),
        ),
        key=key,
    )


async def _form(request: Request) -> dict[str, Any]:
    raw = await request.form()
    form: dict[str, Any] = {k: str(v) for k, v in raw.items()}
    form["categories"] = [str(v) for v in raw.getlist("categories")]
    check_csrf(request, form.get("csrf", ""))
    return form


@router.post("/calls")
async def file_call_form(request: Request) -> Response:
    """File the call (or add it to the IVR call's incident) and open the case."""
    form = await _form(request)
    services = services_of(request)

    def run() -> tuple[int | None, str | None]:
        user = user_of(request, Action.CALL_RECORD)
        actor = f"user:{user.username}"
        key = re.sub(r"[^A-Za-z0-9-]", "", str(form.get("key", "")))[:64] or None
        try:
            record = record_from_form(services, form, key)
            with services.db.writer() as session:
                into = _int(form, "into", 2**31 - 1)
                if into is not None:
                    incident = _locked(session, user, into)
                    add_call(
                        session=session,
                        services=services,
                        incident=incident,
                        record=record,
                        actor=actor,
                        user_id=user.id,
                    )
                else:
                    incident = file_call(
                        session=session,
                        services=services,
                        record=record,
                        actor=actor,
                        user_id=user.id,
                    )
                audit.record(
                    session=session, user=user, action="call_recorded", incident_id=incident.id
                )
                return incident.id, None
        except DeskError as exc:
            return None, str(exc)

    incident_id, error = await run_in_threadpool(run)
    if error or incident_id is None:
        user = await run_in_threadpool(user_of, request, Action.CALL_RECORD)
        return render(
            request,
            "call.html",
            user,
            status=422,
            error=error,
            form=form,
            key=uuid.uuid4().hex,
            into=form.get("into") or None,
            into_reference=None,
            provinces=sorted(services.geography.provinces.values(), key=lambda p: p.name),
            **choices(),
        )
    services.wakeup.set()
    request.session["flash"] = "Đã ghi nhận cuộc gọi. (Call recorded.)"
    return RedirectResponse(f"/console/incidents/{incident_id}", status_code=303)


def _locked(session: Session, user: Any, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None or not may_see(session=session, user=user, incident_id=incident_id):
        raise HTTPException(404, "no such incident")
    return incident


def _reason_words(reason: dict[str, Any], lang: str) -> str:
    """A rule that fired, in words: what was heard and what it did."""
    effect = str(reason.get("effect", ""))
    kind, _, value = effect.partition(" ")
    if kind == "level":
        effect = ("level " if lang == "en" else "mức ") + label("level", value, lang)
    elif kind == "category":
        effect = ("category: " if lang == "en" else "loại việc: ") + label("category", value, lang)
    matched = str(reason.get("matched", ""))
    return f"“{matched}” → {effect}" if matched else effect


@router.post("/calls/suggest")
async def suggest(request: Request) -> JSONResponse:
    """Triage's reading of the words so far (JSON for the form's script); nothing kept."""
    form = await _form(request)
    user = await run_in_threadpool(user_of, request, Action.CALL_RECORD, touch=False)
    del user
    services = services_of(request)
    lang = "en" if request.session.get("lang") == "en" else "vi"
    found = await run_in_threadpool(suggestion, services, str(form.get("text", ""))[:20_000])
    return JSONResponse(
        {
            "level": found["level"],
            "level_label": label("level", found["level"], lang),
            "categories": [
                {"id": c, "label": label("category", c, lang)} for c in found["categories"]
            ],
            "trafficking_purpose": found["trafficking_purpose"],
            "purpose_label": label("purpose", found["trafficking_purpose"], lang)
            if found["trafficking_purpose"]
            else None,
            "reasons": [_reason_words(r, lang) for r in found["reasons"]],
            "victim_age": found["victim_age"],
            "victim_gender": found["victim_gender"],
            "place": found["place"],
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/places")
def places(request: Request, q: str = "") -> JSONResponse:
    """Communes whose 2025 or former name starts with the words typed (type-ahead)."""
    user_of(request, Action.CALL_RECORD, touch=False)
    return JSONResponse(
        find_places(services_of(request), q[:100]), headers={"Cache-Control": "no-store"}
    )


def find_places(services: Services, text: str, limit: int = 12) -> list[dict[str, Any]]:
    """Up to `limit` communes by name: exact names first, then former names, then the
    resolver's reading of a longer text ("Thiệu Trung, Thanh Hóa")."""
    key = name_key(text)
    if len(key) < 2:
        return []
    geo = services.geography
    found: dict[int, str] = {}
    for name, codes in geo.wards_by_key.items():
        if name.startswith(key):
            for code in codes:
                found.setdefault(code, "")
        if len(found) >= limit * 4:
            break
    for name, old_codes in geo.old_wards_by_key.items():
        if len(found) >= limit * 4:
            break
        if name.startswith(key):
            for old_code in old_codes:
                old = geo.old_wards[old_code]
                for code in old.new_codes[:1]:
                    found.setdefault(code, f"{old.kind} {old.name} (cũ)")
    if "," in text or " " in text.strip():
        result = services.pipeline.resolver.resolve(text)
        for candidate in result.candidates[:5]:
            found = {candidate.ward_code: "", **found}
    rows = []
    for code, former in list(found.items())[:limit]:
        ward = geo.wards[code]
        rows.append(
            {
                "ward_code": code,
                "province_code": ward.province_code,
                "name": geo.place_name(code, None),
                "former": former,
            }
        )
    return rows
