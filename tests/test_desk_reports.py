"""The periodic report's presets, cross-tables and names, and its console page."""

from __future__ import annotations

from datetime import date

from intake.reports import CROSS, build_report, period_presets
from intake.store.times import VN_TZ, utcnow
from tests import test_console
from tests.test_console import sign_in
from tests.test_desk_console import _file

console = test_console.console  # the signed-out console client fixture, shared


def test_presets_end_on_15_june_and_15_december() -> None:
    presets = period_presets(date(2026, 12, 4))
    assert presets["six_months_2026"] == (date(2025, 12, 16), date(2026, 6, 15))
    assert presets["year_2026"] == (date(2025, 12, 16), date(2026, 12, 15))
    assert presets["year_2025"] == (date(2024, 12, 16), date(2025, 12, 15))


def test_cross_tables_and_names(console, services, drain, geography) -> None:  # type: ignore[no-untyped-def]
    sign_in(console, "lan")
    _file(console, drain)  # a boy of 10, Thiệu Trung
    _file(
        console,
        drain,
        text="Con gái tôi 15 tuổi bị lừa bán sang Trung Quốc ép làm vợ",
        sex="female",
        age="",
        age_group="12-15",
        categories=["trafficking"],
        trafficking_purpose="forced_marriage",
        count="2",
    )
    today = utcnow().astimezone(VN_TZ).date()  # the report's days are Vietnam's
    with services.db.reader() as session:
        report = build_report(
            session, date_from=today.replace(day=1), date_to=today, geography=geography
        )
    tables = report.tables
    assert tables["sex_by_age_group"][f"male{CROSS}6-11"] == 1
    assert tables["sex_by_age_group"][f"female{CROSS}12-15"] == 2
    assert tables["purpose_by_sex"][f"forced_marriage{CROSS}female"] == 2
    assert tables["province"]["Tỉnh Thanh Hóa"] == 2
    assert "Xã Thiệu Trung, Tỉnh Thanh Hóa" in tables["commune"]

    page = console.get(
        "/console/reports", params={"date_from": str(today.replace(day=1)), "date_to": str(today)}
    )
    assert page.status_code == 200
    assert "Cưỡng ép kết hôn" in page.text and "12–15 tuổi" in page.text
    assert "Tỉnh Thanh Hóa" in page.text and "&lt;5" in page.text  # suppressed on screen too
    download = console.get(
        "/console/report",
        params={"date_from": str(today.replace(day=1)), "date_to": str(today), "format": "csv"},
    )
    assert download.status_code == 200 and "Tỉnh Thanh Hóa" in download.text
    assert f"sex_by_age_group,female{CROSS}12-15,<5" in download.text
    assert console.get("/console/reports", params={"period": "nope"}).status_code == 400
