"""Statistics for the hotline's staff, and the periodic report as a file."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from intake.reports import build_report, write_report
from intake.store import audit
from intake.store.models import Assignment, Incident, Unit, utcnow
from intake.store.times import VN_TZ
from intake.web.console.render import int_param, render, services_of, user_of
from intake.web.permissions import Action, allowed

router = APIRouter(prefix="/console", include_in_schema=False)
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request) -> HTMLResponse:
    """Tips by channel, level, category and province (30 days); time to acknowledge."""
    user = user_of(request, Action.STATS)
    services = services_of(request)
    since = utcnow() - timedelta(days=30)
    tables: dict[str, Counter[str]] = {
        k: Counter() for k in ("day", "channel", "level", "category", "province")
    }
    ack: dict[str, list[float]] = {}
    with services.db.reader() as session:
        for incident in session.scalars(select(Incident).where(Incident.received_at >= since)):
            tables["day"][incident.received_at.astimezone(VN_TZ).strftime("%Y-%m-%d")] += 1
            tables["channel"][incident.channel] += 1
            tables["level"][incident.level or "?"] += 1
            for category in incident.categories:
                tables["category"][category] += 1
            province = services.geography.province(incident.province_code or 0)
            tables["province"][province.name if province else "chưa rõ"] += 1
        for assignment in session.scalars(
            select(Assignment).where(
                Assignment.created_at >= since, Assignment.acknowledged_at.is_not(None)
            )
        ):
            if assignment.acknowledged_at is None:
                continue
            seconds = (assignment.acknowledged_at - assignment.created_at).total_seconds()
            ack.setdefault(assignment.unit_id, []).append(seconds)
        names: dict[str, str] = {}
        for unit in session.scalars(select(Unit).where(Unit.id.in_(list(ack)))):
            names[unit.id] = unit.name
    ack_rows = sorted(
        ((names.get(unit, unit), sum(v) / len(v) / 60, len(v)) for unit, v in ack.items()),
        key=lambda row: -row[1],
    )
    today = utcnow().astimezone(VN_TZ).date()
    return render(
        request,
        "stats.html",
        user,
        tables=tables,
        ack_rows=ack_rows[:50],
        chart=json.dumps({k: dict(v) for k, v in tables.items()}),
        report_from=(today - timedelta(days=182)).isoformat(),
        report_to=today.isoformat(),
        may_unsuppress=allowed(user.role, Action.REPORT_UNSUPPRESSED),
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise HTTPException(400, "dates are YYYY-MM-DD") from exc


@router.get("/report")
def report_download(
    request: Request,
    date_from: str,
    date_to: str,
    format: str = "xlsx",
    province: str = "",
    unsuppressed: str = "",
) -> Response:
    """The periodic report as a file; counts under 5 stay hidden unless a supervisor asks."""
    user = user_of(request, Action.REPORT)
    if format not in MEDIA_TYPES:
        raise HTTPException(400, "format is json, csv or xlsx")
    start, end = _day(date_from), _day(date_to)
    if end < start or (end - start).days > 800:
        raise HTTPException(400, "the period must end after it starts, within two years")
    if unsuppressed and not allowed(user.role, Action.REPORT_UNSUPPRESSED):
        raise HTTPException(403, "only supervisors export counts under 5")
    province_code = int_param(province, limit=10**6)
    services = services_of(request)
    with services.db.writer() as session:
        report = build_report(
            session,
            date_from=start,
            date_to=end,
            province_code=province_code,
            geography=services.geography,
        )
        audit.record(
            session=session,
            user=user,
            action="report_export",
            detail={
                "from": str(start),
                "to": str(end),
                "province": province_code,
                "unsuppressed": bool(unsuppressed),
            },
        )
    name = f"hotline111-report-{start}-{end}"
    with tempfile.TemporaryDirectory() as folder:
        (written,) = write_report(
            report,
            formats=[format],
            out=Path(folder) / name,
            suppress_below=0 if unsuppressed else 5,
        )
        body = written.read_bytes()
    return Response(
        body,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )
