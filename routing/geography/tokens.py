"""Place text as folded tokens, and the unit markers that say what a name names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from triage.text import fold

WARD_MARKERS = {
    ("xa",): "new",
    ("x",): "new",
    ("phuong",): "new",
    ("p",): "new",
    ("f",): "new",
    ("ph",): "new",
    ("dac", "khu"): "new",
    ("thi", "tran"): "old",
    ("tt",): "old",
}
DISTRICT_MARKERS = {
    ("huyen",): "district",
    ("h",): "district",
    ("quan",): "district",
    ("q",): "district",
    ("thi", "xa"): "district",
    ("tx",): "district",
}
MARKER_KIND = {
    ("xa",): "Xã",
    ("x",): "Xã",
    ("phuong",): "Phường",
    ("p",): "Phường",
    ("f",): "Phường",
    ("ph",): "Phường",
    ("dac", "khu"): "Đặc khu",
    ("thi", "tran"): "Thị trấn",
    ("tt",): "Thị trấn",
}
WEAK_MARKERS = [("o",), ("tai",), ("khu", "vuc"), ("dia", "chi"), ("thuoc",), ("gan",), ("ve",)]
CITY_MARKERS = {("thanh", "pho"), ("tp",)}  # a province city or an old provincial city
PROVINCE_MARKERS = {("tinh",)}
EXTRA_PROVINCE_ALIASES = {
    "sg": 79,
    "sai gon": 79,
    "saigon": 79,
    "tphcm": 79,
    "hcm": 79,
    "hcmc": 79,
    "ho chi minh": 79,
    "hn": 1,
    "hanoi": 1,
    "ha noi": 1,
    "hue": 46,
    "dn": 48,
    "brvt": 79,  # Bà Rịa - Vũng Tàu, part of the city since 2025
    "tth": 46,  # Thừa Thiên Huế
}
_BREAK = re.compile(r"[,;:()\[\]\n!?/|\"\u2013\u2014]|\.\s|\s-\s|\s-|-\s")
_TOKEN = re.compile(r"\w+")
_SPLIT_MARKER = re.compile(r"^(p|f|q|x|h|tp|tx|tt)(\d+|hcm|hn)$")


@dataclass(frozen=True)
class Token:
    key: str
    start: int
    end: int
    breaks_before: bool


@dataclass
class Mention:
    """A name the text gives to a unit of some level."""

    level: str  # ward, district, province
    start: int  # token index of the name
    end: int  # exclusive
    marker: str | None = None  # new/old for wards, district, city, province
    codes: set[int] = field(default_factory=set)


def tokenize(text: str) -> list[Token]:
    """Folded word tokens with their offsets; markers glued to numbers are split (p5, q3)."""
    tokens: list[Token] = []
    last_end = 0
    for match in _TOKEN.finditer(text):
        gap = text[last_end : match.start()]
        breaks = bool(tokens) and bool(_BREAK.search(gap))
        key = fold(match.group())
        last_end = match.end()
        split = _SPLIT_MARKER.match(key)
        if split:
            tokens.append(Token(split.group(1), match.start(), match.end(), breaks))
            tokens.append(Token(split.group(2), match.start(), match.end(), False))
            continue
        key = re.sub(r"^0+(\d)", r"\1", key)
        tokens.append(Token(key, match.start(), match.end(), breaks))
    return tokens
