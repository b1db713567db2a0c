"""The place resolver: the development sets by kind, table-driven cases, properties."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.geography import Resolver
from tests.conftest import DATASETS
from triage.text import strip_diacritics

LOCATIONS = DATASETS / "locations_dev.jsonl"
TIPS = Path(__file__).parent / "data" / "triage" / "tips_dev.jsonl"


@pytest.fixture(scope="module")
def resolver(geography):  # type: ignore[no-untyped-def]
    return Resolver(geography)


def _judge(expected_ward: int | None, got: int | None) -> str:
    if expected_ward is None:
        return "correct" if got is None else "wrong"
    if got is None:
        return "abstained"
    return "correct" if got == expected_ward else "wrong"


def _load(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_location_texts_by_kind(resolver: Resolver) -> None:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for record in _load(LOCATIONS):
        expected = (record["expected"] or {}).get("ward_code")
        result = resolver.resolve(record["text"])
        verdict = _judge(expected, result.ward_code)
        if verdict == "correct" and expected is not None:
            assert result.province_code == record["expected"]["province_code"]
        by_kind[record["kind"]][verdict] += 1
    total = sum(by_kind.values(), Counter())
    n = sum(total.values())
    for kind, counts in sorted(by_kind.items()):
        print(f"{kind:<10} {dict(counts)}")
    print(f"all        {dict(total)} of {n}")
    assert total["correct"] / n >= 0.97
    assert total["wrong"] / n <= 0.01


def test_whole_tips(resolver: Resolver) -> None:
    counts: Counter[str] = Counter()
    for record in _load(TIPS):
        counts[
            _judge(record["expected"]["ward_code"], resolver.resolve(record["text"]).ward_code)
        ] += 1
    n = sum(counts.values())
    print(f"tips {dict(counts)} of {n}")
    assert counts["correct"] / n >= 0.90
    assert counts["wrong"] / n <= 0.02


@pytest.mark.parametrize(
    ("text", "ward"),
    [
        ("em o thon 3 xa thieu trung thanh hoa, bo em danh em", "Xã Thiệu Trung"),
        ("Xã Thiệu Trung, tỉnh Thanh Hoá", "Xã Thiệu Trung"),  # old tone placement
        ("XA THIEU TRUNG, THANH HOA", "Xã Thiệu Trung"),
        ("x.thieu trung, th hoa", "Xã Thiệu Trung"),
        ("xa thieu trungg, thanh hoa", "Xã Thiệu Trung"),  # a doubled letter
        ("xa thieu trnug, thanh hoa", "Xã Thiệu Trung"),  # swapped letters
        ("P.14 Q.8 TP HCM", None),  # an old numbered ward, carried to its 2025 commune
        ("phuong 14, quan 8, tp.hcm", None),
    ],
)
def test_table(resolver: Resolver, geography, text: str, ward: str | None) -> None:  # type: ignore[no-untyped-def]
    result = resolver.resolve(text)
    assert result.ward_code is not None, text
    if ward is not None:
        assert geography.ward(result.ward_code).name == ward


def test_old_address_goes_through_the_map(resolver: Resolver, geography) -> None:  # type: ignore[no-untyped-def]
    # Nhạc Kỳ (Văn Lãng, Lạng Sơn) merged into a 2025 commune of another name.
    result = resolver.resolve("xa Nhac Ky, huyen Van Lang, tinh Lang Son")
    assert result.ward_code is not None and result.province_code == 20
    assert geography.ward(result.ward_code).name != "Xã Nhạc Kỳ"


def test_a_name_in_many_provinces_is_a_tie(resolver: Resolver) -> None:
    result = resolver.resolve("xa Tan Thanh")
    assert result.ward_code is None
    assert len(result.candidates) > 1


def test_shared_location(resolver: Resolver, geography) -> None:  # type: ignore[no-untyped-def]
    ward = geography.ward(6172)
    result = resolver.resolve("", latitude=ward.lat, longitude=ward.lon)
    assert result.ward_code == 6172 and result.source == "coordinates"
    assert result.confidence < 0.9
    assert resolver.resolve("", latitude=48.85, longitude=2.35).ward_code is None  # Paris


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "🙂🙂🙂",
        "中文地址没有",
        "I live somewhere in Europe",
        "1234567890",
        "'; DROP TABLE wards; --",
        "<script>alert('x')</script>",
        "x" * 100_000,
        "xa " * 30_000,
        "phuong\x00\x07 14",
    ],
)
def test_bad_input_is_a_null_answer(resolver: Resolver, text: str) -> None:
    result = resolver.resolve(text)  # bench/locate.py measures how fast
    assert result.ward_code is None


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from([r for r in _load(LOCATIONS) if r["expected"]]), st.booleans())
def test_stripping_diacritics_or_case_never_makes_a_wrong_answer(  # type: ignore[no-untyped-def]
    resolver: Resolver, record, upper: bool
) -> None:
    expected = record["expected"]["ward_code"]
    if resolver.resolve(record["text"]).ward_code != expected:
        return
    variant = strip_diacritics(record["text"])
    variant = variant.upper() if upper else variant.lower()
    assert resolver.resolve(variant).ward_code in (expected, None)
