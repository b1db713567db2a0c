"""The directory CSV: bad rows rejected with line and reason, the rest loads."""

from __future__ import annotations

import pytest

from intake.store.directory import DEMO_DIRECTORY, read_directory
from routing.directory import COLUMNS, normalize_phone, parse_directory

HEADER = ",".join(COLUMNS)


def _parse(geography, *rows: str):  # type: ignore[no-untyped-def]
    return parse_directory(
        "\n".join([HEADER, *rows]),
        ward_province={c: w.province_code for c, w in geography.wards.items()},
        provinces=geography.provinces,
    )


def test_bad_rows_are_rejected_with_line_and_reason(geography) -> None:  # type: ignore[no-untyped-def]
    result = _parse(
        geography,
        "cp-1,commune_police,CA xa,38,15835,-100123,,0912345678,",  # good
        "cp-2,commune_police,CA xa,38,99999,,,,",  # unknown ward
        "cp-3,commune_police,CA xa,38,6172,,,,",  # ward of another province
        "cp-1,commune_police,CA xa,38,15835,,,,",  # duplicate id
        "pp-1,provincial_police,CA tinh,38,15835,,,,",  # province unit with a ward
        "x-1,fire_brigade,?,38,,,,,",  # unknown kind
        "sw-1,commune_social_worker,CB xh,38,15835,,,12345,",  # bad phone
        "sw-2,commune_social_worker,CB xh,38,15835,,,,",  # loads, with a warning
        "sw-3,commune_social_worker,CB xh,38,15835,,,,not-an-email",
    )
    assert [u.id for u in result.units] == ["cp-1", "sw-2"]
    reasons = {r.line: r.reason for r in result.rejected}
    assert "unknown ward_code 99999" in reasons[3]
    assert "not in province 38" in reasons[4]
    assert reasons[5] == "duplicate unit_id"
    assert "province-level" in reasons[6]
    assert "unknown kind" in reasons[7]
    assert "phone" in reasons[8]
    assert "email" in reasons[10]
    assert any("sw-2 has no reachable contact" in w for w in result.warnings)
    assert result.units[0].phone == "+84912345678"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0912345678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("+84 91 234 5678", "+84912345678"),
        ("0362.345.678", "+84362345678"),
    ],
)
def test_vietnamese_numbers_to_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


def test_a_missing_column_rejects_the_file(geography) -> None:  # type: ignore[no-untyped-def]
    result = parse_directory("unit_id,kind\nx,commune_police", ward_province={}, provinces=[])
    assert not result.units and "lacks columns" in result.rejected[0].reason


def test_the_demo_directory_covers_every_commune(geography) -> None:  # type: ignore[no-untyped-def]
    result = read_directory(DEMO_DIRECTORY, geography)
    assert not result.rejected
    police = {u.ward_code for u in result.units if u.kind == "commune_police"}
    assert police == set(geography.wards)
    assert all(u.name.startswith("[DEMO]") for u in result.units)
