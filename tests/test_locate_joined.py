"""Addresses typed without spaces or with other separators: the segmentation of run-together
words into known names, and the hand-written cases of issue 23's kinds."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.geography import Resolver
from routing.geography.segment import Segmenter
from tests.conftest import REPO
from triage.text import fold

DATA = REPO / "tests" / "data" / "locations"
FRESH = DATA / "addresses_fresh.jsonl"  # written by hand, labelled by fresh.py
JOINED = DATA / "addresses_joined.jsonl"  # composed by joined.py


@pytest.fixture(scope="module")
def resolver(geography):  # type: ignore[no-untyped-def]
    return Resolver(geography)


@pytest.fixture(scope="module")
def segmenter(resolver: Resolver) -> Segmenter:
    return resolver.segmenter


def _load(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _verdicts(resolver: Resolver, path: Path, split: str) -> dict[str, Counter[str]]:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for record in _load(path):
        if record["split"] != split:
            continue
        expected = (record["expected"] or {}).get("ward_code")
        got = resolver.resolve(record["text"]).ward_code
        verdict = "right" if got == expected else "unresolved" if got is None else "wrong"
        by_kind[record["kind"]][verdict] += 1
    return by_kind


@pytest.mark.parametrize("path", [FRESH, JOINED], ids=["fresh", "joined"])
@pytest.mark.parametrize("split", ["dev", "untouched"])
def test_run_together_and_other_forms_by_kind(resolver: Resolver, path: Path, split: str) -> None:
    by_kind = _verdicts(resolver, path, split)
    total = sum(by_kind.values(), Counter())
    for kind, counts in sorted(by_kind.items()):
        print(f"{kind:<15} {dict(counts)}")
        assert counts["right"] / sum(counts.values()) >= 0.85, kind
    n = sum(total.values())
    assert total["right"] / n >= 0.95
    assert total["wrong"] / n <= 0.02


@pytest.mark.parametrize(
    ("word", "spaced"),
    [
        ("phuongbenthanhquan1", "phuong ben thanh, quan 1"),
        ("EANAM", "ea nam"),
        ("XuanGiangQuangBinhHaGiang", "xuan giang, quang binh, ha giang"),
        ("thon3xahongduongthanhoai", "thon 3, xa hong duong, thanh oai"),
        ("todanpho4", "to dan pho 4"),
        ("phuongquangphongthixathaihoa", "phuong quang phong, thi xa thai hoa"),
        ("P15QGOVAP", "p 15, q go vap"),
        ("thoxuandistrict", "tho xuan district"),
        ("xadaian2huyentrande", "xa dai an 2, huyen tran de"),
        ("P15QGV", "p 15, q gv"),  # a district's initials only after a district marker
        ("182leduanxakongchrogialai", "182 le duan, xa kong chro, gia lai"),  # the street
        ("ward14govapdistricthcmcityvietnam", "ward 14, go vap district, hcm city, vietnam"),
        ("tanhungward", "tan hung ward"),
        ("district4", "district 4"),
        ("tanhoidanphuonghn", "tan hoi, dan phuong, hn"),
    ],
)
def test_a_run_together_word_is_cut_into_known_parts(
    segmenter: Segmenter, word: str, spaced: str
) -> None:
    assert segmenter.segment(word)[0][1] == spaced


def test_a_word_may_end_in_a_marker_before_a_dot(segmenter: Segmenter) -> None:
    assert segmenter.texts("f12q.tb")[0][0] == "f 12, q.tb"
    assert segmenter.segment("f12q") == []


@pytest.mark.parametrize(
    "word",
    ["facebook", "vietnam", "bihn", "chohoisotongdailagi", "province", "khongbiet", "hcm"],
)
def test_a_word_that_is_no_address_is_left_alone(segmenter: Segmenter, word: str) -> None:
    # A misspelt syllable, an English word, chat run together: no cut that reads as names.
    assert segmenter.segment(word) == []


@pytest.mark.parametrize(
    ("text", "ward"),
    [
        ("phuongbenthanhquan1", "Phường Bến Thành"),
        ("THON 2_EANAM_EAHLEO", "Xã Ea Khăl"),
        # Quang Bình is a district of Hà Giang; Quảng Bình an old province: the chain nests.
        ("XuanGiangQuangBinhHaGiang", "Xã Xuân Giang"),
        ("ThonTrungXaHongDuongHuyenThanhOai", "Xã Dân Hòa"),
        ("PHUONGCUALONGHEAN", "Phường Cửa Lò"),
        ("1baoloclamdong", "Phường 1 Bảo Lộc"),
        # Underscores for spaces, not between parts.
        ("XA_EA_NAM_HUYEN_EA_HLEO", "Xã Ea Khăl"),
        ("Phuong_Ben_Thanh_Quan_1", "Phường Bến Thành"),
        ("hem375dienbienphuphuongxuanlapdongnai", "Phường Xuân Lập"),
        ("XaDongAHuyenDongHungThaiBinh", "Xã Đông Quan"),  # "A" is a word of its own
        ("to9cuanamvinhnghean", "Phường Thành Vinh"),  # a one-syllable old city, unmarked
    ],
)
def test_run_together_addresses(resolver: Resolver, geography, text: str, ward: str) -> None:  # type: ignore[no-untyped-def]
    result = resolver.resolve(text)
    assert result.ward_code is not None, text
    assert geography.ward(result.ward_code).name == ward


def test_a_split_old_commune_run_together_gives_its_successors(resolver: Resolver) -> None:
    # Đại Kim (Hoàng Mai) went to four 2025 wards: candidates, not a guess.
    result = resolver.resolve("daikimhoangmai")
    assert result.ward_code is None and result.province_code == 1
    assert len(result.candidates) > 1


def test_a_thi_tran_is_never_a_2025_commune(resolver: Resolver) -> None:
    # Thị trấn Thanh Miện was split; the 2025 Xã Thanh Miện is one of its two successors.
    for text in ("TT. Thanh Miện, Hải Dương", "TT.THANHMIEN_HAIDUONG"):
        result = resolver.resolve(text)
        assert result.ward_code is None, text
        assert {c.ward_code for c in result.candidates} == {11239, 11065}


def test_a_city_named_like_its_province_gives_both_readings(resolver: Resolver) -> None:
    # The old ward of the old city Hải Dương, or the 2025 ward in the old province.
    for text in ("nguyen trai, hai duong", "nguyentraihaiduong"):
        result = resolver.resolve(text)
        assert result.ward_code is None, text
        assert {c.ward_code for c in result.candidates} == {10507, 10552}
    assert resolver.resolve("Phường Nguyễn Trãi, TP Hải Dương").ward_code == 10507


def test_a_district_gone_before_2025_that_a_2025_commune_is_named_after(
    resolver: Resolver,
) -> None:
    # Long Điền merged into Long Đất in 2020 (not in the lists); Xã Long Điền is a 2025
    # commune. The commune named before it is as likely: candidates, never Long Điền alone.
    for text in (
        "xa long hai long dien brvt",
        "Long Hải, Long Điền, BRVT",
        "Phước Tỉnh, Long Điền, Bà Rịa Vũng Tàu",
    ):
        result = resolver.resolve(text)
        assert result.ward_code is None, text
        assert {c.ward_code for c in result.candidates} == {26659, 26662}, text


def test_a_province_spelt_right_is_no_misspelt_district(resolver: Resolver) -> None:
    # "Long An" is close to "Long Thành" (a district with a Xã Long An): no slip to undo.
    assert resolver.resolve("Phường Long An, Long An").ward_code == 27694


def test_a_district_named_like_its_province_without_diacritics_is_a_tie(
    resolver: Resolver,
) -> None:
    # Na Tông (huyện Điện Biên) or Nà Tòng (Tuần Giáo), both in the province Điện Biên.
    for text in ("xa na tong, dien bien", "XANATONG_DIENBIEN"):
        result = resolver.resolve(text)
        assert result.ward_code is None, text
        assert {c.ward_code for c in result.candidates} == {3358, 3217}, text


@pytest.mark.parametrize(
    ("text", "ward"),
    [
        # "cũ" (former) between the old commune and its district.
        ("cháu ở xã Vĩnh Hanh cũ (Châu Thành, An Giang), ba nó đánh", 30619),
        ("con toi o xa Thach Yen cu (Cao Phong, Hoa Binh) bi ban bat nat", 5116),
        # "p." names a phường: the old ward of the city, not the 2025 xã of that name.
        ("không đánh. p Hoàng Văn Thụ Lạng Sơn", 6187),
        # "xã" is no phường Thạch Hạ; "tỉnh" is no city: the 2025 commune.
        ("Xã Thạch Hà, Hà Tĩnh", 18562),
        ("(xã Hưng Đạo, tỉnh Cao Bằng)", 1351),
        # The 2025 ward among the split old ward's successors.
        ("nhà ở phường Gia Sàng, Thái Nguyên", 5467),
        # The longer district, not the province its name begins with.
        ("ko doa. p Muong Thanh cu (Dien Bien Phu)", 3127),
        # A time is no "h." (huyện) and its number.
        ("truong tieu hoc o p Thu Duc luc 4h30. ai thay be", 26824),
        ("H 15 tuổi, ở xã Bắc Hà", 2839),
    ],
)
def test_what_the_text_says_settles_two_readings(resolver: Resolver, text: str, ward: int) -> None:
    assert resolver.resolve(text).ward_code == ward


def test_chat_is_not_cut_into_names(resolver: Resolver) -> None:
    text = "The chatbot kept asking me for my ward name. A bit frustrating, please fix."
    assert resolver.resolve(text).ward_code is None


def test_a_district_that_does_not_exist_voids_its_numbered_ward(resolver: Resolver) -> None:
    # No "Quận 23" anywhere: "P25" alone would be Bình Thạnh's; the text says otherwise.
    assert resolver.resolve("Q23 P25").ward_code is None
    assert resolver.resolve("P25 Q.Bình Thạnh").ward_code is not None


# Addresses alone (no sentence around them: words of chat run together are no address).
_CHAT = re.compile(r"\b(em|nha|chau|be|bi|can|co|dia chi|dc|mong|ho tro|gap|bo|danh|tai|o)\b")
_ADDRESSES = [
    r
    for r in _load(DATA / "addresses_dev.jsonl")
    if r["split"] == "dev"
    and r["kind"] not in ("typo", "none")
    and not _CHAT.search(fold(r["text"]))
]


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(_ADDRESSES), st.sampled_from(["parts", "underscores", "all"]))
def test_typing_without_spaces_never_makes_a_wrong_answer(  # type: ignore[no-untyped-def]
    resolver: Resolver, record, squash: str
) -> None:
    expected = (record["expected"] or {}).get("ward_code")
    if resolver.resolve(record["text"]).ward_code != expected:
        return
    text = fold(record["text"])
    if squash == "parts":  # "tanthanh, thuthua, longan"
        variant = re.sub(r"(?<=\w) (?=\w)", "", text)
    elif squash == "underscores":  # "TANTHANH_THUTHUA_LONGAN"
        variant = re.sub(r"\s*[,\-]\s*", "_", text).replace(" ", "").upper()
    else:  # "tanthanhthuthualongan"
        variant = re.sub(r"[\s,.\-]+", "", text)
    assert resolver.resolve(variant).ward_code in (expected, None), variant
