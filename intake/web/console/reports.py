"""The periodic report in the console: presets, per province, tables by name, downloads."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from intake.pipeline import desk
from intake.reports import AGE_GROUPS, CROSS, build_report, period_presets
from intake.store import audit
from intake.store.models import utcnow
from intake.store.times import VN_TZ
from intake.web.console.incident import SUPPORT_KINDS
from intake.web.console.render import int_param, render, services_of, user_of
from intake.web.permissions import Action, allowed

router = APIRouter(prefix="/console", include_in_schema=False)
SEXES = ["female", "male", "other", "unknown"]
PURPOSES = list(desk.PURPOSES)
# Which label each table's keys take (None: shown as they are, already names).
KINDS = {
    "sex": "sex",
    "age_group": "age_group",
    "category": "category",
    "trafficking_purpose": "purpose",
    "level": "level",
    "province": None,
    "commune": None,
}


def _matrix(table: dict[str, Any], rows: list[str], columns: list[str]) -> list[list[Any]]:
    """A cross-table's cells, row by row (0 where nothing was counted)."""
    return [[table.get(f"{r}{CROSS}{c}", 0) for c in columns] for r in rows]


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request, period: str = "", date_from: str = "", date_to: str = "", province: str = ""
) -> HTMLResponse:
    """Pick a period (six months to 15 June, the year to 15 December) and a province."""
    user = user_of(request, Action.REPORT)
    services = services_of(request)
    today = utcnow().astimezone(VN_TZ).date()
    presets = period_presets(today)
    if period:
        if period not in presets:
            raise HTTPException(400, "unknown period")
        start, end = presets[period]
    elif date_from and date_to:
        try:
            start, end = date.fromisoformat(date_from), date.fromisoformat(date_to)
        except ValueError as exc:
            raise HTTPException(400, "dates are YYYY-MM-DD") from exc
        if end < start or (end - start).days > 800:
            raise HTTPException(400, "the period must end after it starts, within two years")
    else:
        start, end = presets[f"six_months_{today.year}"]
    province_code = int_param(province, limit=10**6)
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
            action="report_view",
            detail={"from": str(start), "to": str(end), "province": province_code},
        )
    data = report.export(5)
    tables: dict[str, Any] = data["tables"]  # type: ignore[assignment]
    return render(
        request,
        "reports.html",
        user,
        presets=presets,
        period=period,
        start=start,
        end=end,
        province_code=province_code,
        data=data,
        tables={name: tables.get(name, {}) for name in KINDS},
        kinds=KINDS,
        support=tables.get("support_given", {}),
        support_kinds=SUPPORT_KINDS,
        sexes=SEXES,
        age_groups=AGE_GROUPS,
        purposes=PURPOSES,
        sex_by_age=_matrix(tables.get("sex_by_age_group", {}), SEXES, AGE_GROUPS),
        purpose_by_sex=_matrix(tables.get("purpose_by_sex", {}), PURPOSES, SEXES),
        may_unsuppress=allowed(user.role, Action.REPORT_UNSUPPRESSED),
    )
