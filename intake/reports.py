"""The periodic statistics report (six-monthly to 15 June, yearly to 15 December).

Victims and cases by sex, age group, category, trafficking purpose, support given, and by
province and commune. In exports, counts from 1 to 4 are shown as "<5" by default, so a
small commune's child cannot be recognised from the numbers; where a table would show only
one "<5", its smallest other count is hidden too ("x"), as statistics offices do, so that
the small one cannot be worked back from the published total.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store.models import Incident, Status
from intake.store.times import VN_TZ
from routing.geography import Geography

AGE_GROUPS = ["under_6", "6-11", "12-15", "16-17", "adult", "unknown"]
COUNTED = [s for s in Status if s not in (Status.SPAM, Status.DUPLICATE)]


def age_group(age: int | None) -> str:
    """The report's age group of a victim."""
    if age is None:
        return "unknown"
    if age < 6:
        return "under_6"
    if age < 12:
        return "6-11"
    if age < 16:
        return "12-15"
    if age < 18:
        return "16-17"
    return "adult"


@dataclass
class Report:
    """Counts per table; `export` applies the small-number suppression."""

    date_from: date
    date_to: date
    province_code: int | None
    cases: int = 0
    victims: int = 0
    tables: dict[str, Counter[str]] = field(default_factory=dict)

    def export(self, suppress_below: int = 5) -> dict[str, object]:
        """The report as plain data, counts 1..suppress_below-1 shown as "<N" (and a
        second count hidden as "x" where one "<N" alone could be worked back)."""

        def shown(count: int) -> int | str:
            return f"<{suppress_below}" if 0 < count < suppress_below else count

        return {
            "period": {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()},
            "province_code": self.province_code,
            "suppressed_below": suppress_below,
            "cases": shown(self.cases),
            "victims": shown(self.victims),
            "tables": {
                name: _suppressed(table, suppress_below) for name, table in self.tables.items()
            },
        }


def _suppressed(table: Counter[str], below: int) -> dict[str, int | str]:
    """One table's counts with small ones shown as "<below"; a lone small count takes the
    smallest other count with it ("x"), or total minus the rest would give it away."""
    shown: dict[str, int | str] = {
        key: f"<{below}" if 0 < count < below else count for key, count in sorted(table.items())
    }
    small = [key for key, count in table.items() if 0 < count < below]
    others = sorted((count, key) for key, count in table.items() if count >= below)
    if len(small) == 1 and others:
        shown[others[0][1]] = "x"
    return shown


def _bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The period in Vietnam time, inclusive of both days, as UTC instants."""
    start = datetime.combine(date_from, time.min, VN_TZ).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time.min, VN_TZ).astimezone(UTC)
    return start, end


CROSS = " × "  # the key of a cross-table's cell: "female × 12-15"


def period_presets(today: date) -> dict[str, tuple[date, date]]:
    """The plans' periods around `today`: six months to 15 June and the year to 15
    December (each from the 16 December before), this year's and last year's."""
    presets = {}
    for year in (today.year, today.year - 1):
        start = date(year - 1, 12, 16)
        presets[f"six_months_{year}"] = (start, date(year, 6, 15))
        presets[f"year_{year}"] = (start, date(year, 12, 15))
    return presets


def build_report(
    session: Session,
    *,
    date_from: date,
    date_to: date,
    province_code: int | None = None,
    geography: Geography | None = None,
) -> Report:
    """Count the cases received in the period (spam and duplicates left out); with
    `geography`, provinces and communes by name instead of code."""
    start, end = _bounds(date_from, date_to)
    query = select(Incident).where(
        Incident.received_at >= start,
        Incident.received_at < end,
        Incident.status.in_([str(s) for s in COUNTED]),
        Incident.level.in_(["P1", "P2", "P3", "P4"]),
    )
    if province_code is not None:
        query = query.where(Incident.province_code == province_code)
    report = Report(date_from, date_to, province_code)
    names = [
        "sex",
        "age_group",
        "category",
        "trafficking_purpose",
        "support_given",
        "province",
        "commune",
        "level",
        "sex_by_age_group",
        "purpose_by_sex",
    ]
    report.tables = {name: Counter() for name in names}
    for incident in session.scalars(query):
        victims = incident.victim_count or 1
        report.cases += 1
        report.victims += victims
        tables = report.tables
        sex = incident.victim_gender or "unknown"
        group = (
            age_group(incident.victim_age)
            if incident.victim_age is not None
            else incident.victim_age_group or "unknown"
        )
        tables["sex"][sex] += victims
        tables["age_group"][group] += victims
        tables["sex_by_age_group"][f"{sex}{CROSS}{group}"] += victims
        if "trafficking" in (incident.categories or []):
            purpose = incident.trafficking_purpose or "unknown"
            tables["purpose_by_sex"][f"{purpose}{CROSS}{sex}"] += victims
        for category in incident.categories or ["other"]:
            tables["category"][category] += 1
        if incident.trafficking_purpose:
            tables["trafficking_purpose"][incident.trafficking_purpose] += 1
        for support in incident.support_given or []:
            tables["support_given"][str(support)] += 1
        tables["province"][_place(geography, None, incident.province_code)] += 1
        tables["commune"][_place(geography, incident.ward_code, None)] += 1
        tables["level"][incident.level or "unknown"] += 1
    return report


def _place(geography: Geography | None, ward_code: int | None, province_code: int | None) -> str:
    """A province or commune as the report shows it: its name, else its code."""
    code = ward_code if ward_code is not None else province_code
    if code is None:
        return "unknown"
    if geography is None:
        return str(code)
    if ward_code is not None:
        return geography.place_name(ward_code, None) or str(code)
    province = geography.province(code)
    return province.name if province else str(code)


def to_csv(data: dict[str, object]) -> str:
    """Long format: table, key, count."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "key", "count"])
    writer.writerow(["total", "cases", data["cases"]])
    writer.writerow(["total", "victims", data["victims"]])
    tables = data["tables"]
    assert isinstance(tables, dict)
    for name, table in tables.items():
        for key, count in table.items():
            writer.writerow([name, key, count])
    return out.getvalue()


def to_xlsx(data: dict[str, object], path: Path) -> None:
    """One sheet of totals and one per table."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "total"
    period = data["period"]
    assert isinstance(period, dict)
    sheet.append(["from", period["from"]])
    sheet.append(["to", period["to"]])
    sheet.append(["cases", data["cases"]])
    sheet.append(["victims", data["victims"]])
    tables = data["tables"]
    assert isinstance(tables, dict)
    for name, table in tables.items():
        page = book.create_sheet(name[:31])
        page.append(["key", "count"])
        for key, count in table.items():
            page.append([key, count])
    book.save(path)


def write_report(
    report: Report,
    *,
    formats: list[str],
    out: Path,
    suppress_below: int = 5,
) -> list[Path]:
    """Write the report in each format beside `out` (its suffix replaced)."""
    data = report.export(suppress_below)
    written = []
    for fmt in formats:
        target = out.with_suffix(f".{fmt}")
        if fmt == "json":
            target.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        elif fmt == "csv":
            target.write_text(to_csv(data))
        elif fmt == "xlsx":
            to_xlsx(data, target)
        else:
            raise ValueError(f"unknown format {fmt!r} (json, csv, xlsx)")
        written.append(target)
    return written
