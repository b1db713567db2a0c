"""The statistics report: totals against the incidents created, suppression, formats."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from intake.cli import main as cli
from intake.reports import age_group, build_report, write_report
from intake.store.models import Incident

DAY = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)


def _incident(n: int, **fields: object) -> Incident:
    values: dict[str, object] = {
        "reference": f"111-2603-{n:04d}",
        "channel": "sms",
        "status": "routed",
        "level": "P2",
        "received_at": DAY,
        "categories": ["physical_abuse"],
        "province_code": 38,
        "ward_code": 15835,
        "victim_gender": "female",
        "victim_age": 9,
        "reasons": [],
        "location_candidates": [],
        "support_given": [],
    }
    values.update(fields)
    return Incident(**values)


def test_totals_groups_and_suppression(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with services.db.writer() as session:
        for n in range(6):
            session.add(_incident(n))
        session.add(
            _incident(
                10,
                victim_gender="male",
                victim_age=16,
                categories=["trafficking"],
                trafficking_purpose="forced_labour",
                province_code=20,
                ward_code=6172,
                support_given=["counselling"],
            )
        )
        session.add(_incident(11, status="spam", level="SPAM"))  # not counted
        session.add(_incident(12, received_at=datetime(2026, 7, 1, tzinfo=UTC)))  # outside
    with services.db.reader() as session:
        report = build_report(session, date_from=date(2026, 1, 1), date_to=date(2026, 6, 15))
        by_province = build_report(
            session, date_from=date(2026, 1, 1), date_to=date(2026, 6, 15), province_code=20
        )
    assert report.cases == 7 and report.victims == 7
    assert report.tables["sex"] == {"female": 6, "male": 1}
    assert report.tables["age_group"]["6-11"] == 6 and report.tables["age_group"]["16-17"] == 1
    assert by_province.cases == 1
    exported = report.export()
    # 7 victims, 6 of them girls: "<5" boys alone would give the 1 away, so 6 is hidden too.
    assert exported["tables"]["sex"] == {"female": "x", "male": "<5"}  # type: ignore[index]
    assert exported["tables"]["level"] == {"P2": 7}  # type: ignore[index]
    assert report.export(0)["tables"]["sex"]["male"] == 1  # type: ignore[index]
    written = write_report(report, formats=["json", "csv", "xlsx"], out=tmp_path / "r")
    assert [p.suffix for p in written] == [".json", ".csv", ".xlsx"]
    assert json.loads(written[0].read_text())["cases"] == 7
    rows = list(csv.reader(written[1].open()))
    assert ["category", "trafficking", "<5"] in rows
    assert load_workbook(written[2])["total"]["B3"].value == 7


def test_a_lone_small_count_hides_a_second_one() -> None:
    from collections import Counter

    from intake.reports import Report

    report = Report(date(2026, 1, 1), date(2026, 6, 15), None, cases=30, victims=30)
    report.tables = {
        "one_small": Counter({"a": 20, "b": 7, "c": 3}),
        "two_small": Counter({"a": 24, "b": 3, "c": 3}),
        "none_small": Counter({"a": 25, "b": 5, "c": 0}),
    }
    tables = report.export()["tables"]
    assert tables["one_small"] == {"a": 20, "b": "x", "c": "<5"}  # type: ignore[index]
    assert tables["two_small"] == {"a": 24, "b": "<5", "c": "<5"}  # type: ignore[index]
    assert tables["none_small"] == {"a": 25, "b": 5, "c": 0}  # type: ignore[index]


def test_age_groups() -> None:
    assert [age_group(a) for a in (None, 0, 5, 6, 11, 12, 15, 16, 17, 18)] == [
        "unknown",
        "under_6",
        "under_6",
        "6-11",
        "6-11",
        "12-15",
        "12-15",
        "16-17",
        "16-17",
        "adult",
    ]


def test_report_command(monkeypatch, tmp_path, capsys, database_url) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "report-secret-key-0123456789")
    out = tmp_path / "report"
    assert (
        cli(
            [
                "report",
                "--from",
                "2026-01-01",
                "--to",
                "2026-06-15",
                "--format",
                "json,csv",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.with_suffix(".json").read_text())["cases"] == 0
    assert cli(["report", "--from", "2026-13-01", "--to", "2026-06-15"]) == 2
