"""Every name an address's tokens may spell: a part of the 2025 or the pre-2025 system."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from routing.geography.data import Geography, name_key

MAX_PART = 5  # tokens in one name ("thi tran nong truong moc chau" is the longest kind)
MAX_TOKENS = 400
MAX_FUZZY_DISTRICTS = 40  # districts with a commune of the name, compared with a misspelling
MIN_FUZZY = 5  # letters in a name compared fuzzily
FUZZY_DISTRICT = 0.92
FUZZY_COMMUNE = 0.9
MARKER_WORDS = {
    "thanh",
    "pho",
    "thi",
    "xa",
    "tran",
    "huyen",
    "quan",
    "tinh",
    "phuong",
    "tp",
    "tx",
}  # tokens read; an address comes early and time is bounded
WARD_MARKERS = {
    ("xa",): "Xã",
    ("x",): "Xã",
    ("phuong",): "Phường",
    ("p",): "Phường",
    ("f",): "Phường",
    ("ph",): "Phường",
    ("thi", "tran"): "Thị trấn",
    ("tt",): "Thị trấn",
    ("dac", "khu"): "Đặc khu",
    ("ward",): "Phường",
    ("commune",): "Xã",
}
# The unit types a district marker can stand for ("tp" is a city: a district or a province).
DISTRICT_MARKERS = {
    ("huyen",): {"Huyện"},
    ("h",): {"Huyện"},
    ("quan",): {"Quận"},
    ("q",): {"Quận"},
    ("thi", "xa"): {"Thị xã"},
    ("tx",): {"Thị xã"},
    ("thanh", "pho"): {"Thành phố"},
    ("tp",): {"Thành phố"},
    ("district",): {"Quận", "Huyện"},
    ("dist",): {"Quận", "Huyện"},
}
PROVINCE_MARKERS = {("tinh",), ("thanh", "pho"), ("tp",)}
CITY = {("thanh", "pho"), ("tp",)}
# English unit words after a name ("Go Vap District", "Tan Phong Ward", "Quang Nam Province").
POSTFIX = {"ward": "ward", "commune": "ward", "district": "district", "dist": "district",
           "province": "province", "city": "province"}  # fmt: skip
# A number after these is a hamlet's (a commune's name may follow); after others, a house's.
HAMLET_WORDS = {
    "thon", "ap", "to", "xom", "khom", "kp", "tdp", "ban", "buon", "khu", "pho", "doi", "cum",
    "lang", "khoi", "bon", "soc", "khuvuc",
}  # fmt: skip
# A name right after these is a street, a hamlet, a school, a hospital, a market or a
# bridge (often named after the commune, not always in it): never read as the commune.
NOT_A_COMMUNE_AFTER = {
    "duong", "ngo", "ngach", "pho", "ap", "thon", "xom", "truong", "vien",
    "cho", "cau", "ty", "chua", "nha",
}  # fmt: skip
STREET_WORDS = {"so", "duong", "ngo", "hem", "kiet", "ngach", "k", "pho", "lo", "can", "nha"}
# Words that lead in to an address ("em ở Hải Châu"), not a part of it.
LEAD_INS = {"o", "tai", "ve", "thuoc", "den", "gan", "tu", "vuc", "chi", "dc", "nha", "em"}
# City shorthand that is not a province alias: the old city it names.
CITY_SHORTHAND = {
    "bmt": "Thành phố Buôn Ma Thuột",
    "vtau": "Thành phố Vũng Tàu",
    "vt": "Thành phố Vũng Tàu",
    "tpth": "Thành phố Thanh Hóa",
    "tdm": "Thành phố Thủ Dầu Một",
    "bh": "Thành phố Biên Hòa",
    "nt": "Thành phố Nha Trang",
    "qn": "Thành phố Quy Nhơn",
    "dl": "Thành phố Đà Lạt",
}


@dataclass(frozen=True)
class Part:
    """A name read at tokens [start, end) as one level of one system."""

    level: str  # old_ward, new_ward, district, province
    start: int
    end: int
    codes: frozenset[int]
    old_province: int | None = None  # for a province named by its pre-2025 name
    current: bool = False  # for a province named by a 2025 name or an alias


def flat(name: str) -> str:
    """A name's key without spaces: run-together forms ("EANAM") meet "Ea Nam"."""
    return name_key(name).replace(" ", "")


def initials(name: str) -> str:
    """ "Gò Vấp" -> "gv"."""
    return "".join(word[0] for word in name_key(name).split() if word)


class PartReader:
    """Indexes of both systems by flat key, and the parts they find in tokens."""

    def __init__(self, geo: Geography, province_keys: dict[str, set[int]]) -> None:
        self.geo = geo
        self.new_wards = _index((w.code, w.name) for w in geo.wards.values())
        self.dashed: dict[str, list[int]] = defaultdict(list)
        for ward in geo.wards.values():
            if " - " in ward.name:
                self.dashed[flat(ward.name)].append(ward.code)
        self.old_ward_flat = {w.code: flat(w.name) for w in geo.old_wards.values()}
        self.old_wards = _index((w.code, w.name) for w in geo.old_wards.values())
        self.districts = _index((d.code, d.name) for d in geo.old_districts.values())
        for number in ("2", "9"):  # merged into Thủ Đức city in 2021; still written
            self.districts.setdefault(number, []).extend(
                d.code for d in geo.old_districts.values() if d.name == "Thành phố Thủ Đức"
            )
        self.district_initials: dict[str, dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for d in geo.old_districts.values():
            kind = _district_kind(d.name)
            short = _bare(d.name)
            if not short[:1].isdigit() and len(short.split()) > 1:
                self.district_initials[kind][initials(short)].append(d.code)
        by_name = {d.name.lower(): d.code for d in geo.old_districts.values()}
        self.shorthand = {
            k: by_name[v.lower()] for k, v in CITY_SHORTHAND.items() if v.lower() in by_name
        }
        self.provinces: dict[str, set[int]] = defaultdict(set)
        for key, codes in province_keys.items():
            self.provinces[key.replace(" ", "")] |= codes
        self.current_provinces = {flat(p.name) for p in geo.provinces.values()} | {
            k.replace(" ", "") for k in province_keys if k not in geo.old_province_keys
        }
        self.old_province_by_key = {k.replace(" ", ""): c for k, c in geo.old_province_keys.items()}
        self.old_provinces_of_new: dict[int, set[int]] = defaultdict(set)
        for old in geo.old_wards.values():
            old_province = geo.old_districts[old.district_code].old_province_code
            for code in old.new_codes:
                self.old_provinces_of_new[code].add(old_province)
        # "TP Hưng Yên" is the old provincial city; "TP Huế", "TP Cần Thơ" are provinces now.
        city_provinces = {flat(p.name) for p in geo.provinces.values() if p.name.startswith("Th")}
        self.city_districts = {
            flat(d.name)
            for d in geo.old_districts.values()
            if _district_kind(d.name) == "Thành phố"
        } - city_provinces

    # -- parts --

    def parts(self, keys: list[str], breaks: list[bool]) -> dict[int, list[Part]]:
        """Every name at every position, by the index of its last token + 1."""
        by_end: dict[int, list[Part]] = defaultdict(list)
        n = min(len(keys), MAX_TOKENS)
        for start in range(n):
            joined = ""
            for end in range(start + 1, min(start + MAX_PART, n) + 1):
                if end - 1 > start and breaks[end - 1]:
                    break
                joined += keys[end - 1]
                for part in self._parts_at(keys, start, end, joined):
                    by_end[end].append(part)
            self._hyphenated(keys, start, n, by_end)
        return by_end

    def _hyphenated(
        self, keys: list[str], start: int, n: int, by_end: dict[int, list[Part]]
    ) -> None:
        """2025 names written with a dash ("Xuân Hương - Đà Lạt"), read across the dash."""
        joined = ""
        for end in range(start + 1, min(start + MAX_PART + 1, n) + 1):
            joined += keys[end - 1]
            codes = self.dashed.get(joined)
            if codes:
                by_end[end].append(Part("new_ward", start, end, frozenset(codes)))

    def _parts_at(self, keys: list[str], start: int, end: int, joined: str) -> Iterable[Part]:
        before = marker_before(keys, start)
        numeric = joined.isdigit()
        if (numeric and before is None) or (len(joined) < 2 and not numeric):
            return
        for level, index in (("new_ward", self.new_wards), ("old_ward", self.old_wards)):
            codes = index.get(joined)
            if codes and (before in WARD_MARKERS or not numeric):
                yield Part(level, start, end, frozenset(codes))
        codes = self.districts.get(joined)
        if codes and (before in DISTRICT_MARKERS or not numeric):
            yield Part("district", start, end, frozenset(codes))
        if end - start == 1:
            shorthand = self._district_shorthand(joined, before)
            if shorthand:
                yield Part("district", start, end, frozenset(shorthand))
        province = self.provinces.get(joined)
        if province and not numeric and not (before in CITY and joined in self.city_districts):
            yield Part(
                "province",
                start,
                end,
                frozenset(province),
                self.old_province_by_key.get(joined),
                joined in self.current_provinces,
            )

    def _district_shorthand(self, key: str, before: tuple[str, ...] | None) -> list[int]:
        """ "Q.GV", "TP BMT", "TPTH", "VTAU": an old district by its initials or nickname."""
        if before is not None and before in DISTRICT_MARKERS:
            codes: list[int] = []
            for kind in DISTRICT_MARKERS[before]:
                codes += self.district_initials[kind].get(key, [])
            return codes
        for prefix, kind in (("tp", "Thành phố"), ("tx", "Thị xã"), ("q", "Quận")):
            if key.startswith(prefix) and len(key) > len(prefix) + 1:
                rest = key[len(prefix) :]
                found = self.district_initials[kind].get(rest, []) + self.districts.get(rest, [])
                if found:
                    return [
                        c for c in found if _district_kind(self.geo.old_districts[c].name) == kind
                    ]
        return [self.shorthand[key]] if key in self.shorthand else []


def typed(codes: list[int], kind: str | None, kind_of: Callable[[int], str]) -> list[int]:
    """Narrow to the marker's unit type when some have it ("xã" before a name)."""
    if not kind or len(codes) < 2:
        return codes
    typed = [c for c in codes if kind_of(c) == kind]
    return typed or codes


def inside_name(marker: tuple[str, ...], start: int, by_end: dict[int, list[Part]]) -> bool:
    """The marker's words end a longer name ("Nguyên Xá" before "Vũ Thư"): not a marker."""
    return any(p.end - p.start > len(marker) for p in by_end.get(start, []))


def marker_before(keys: list[str], start: int) -> tuple[str, ...] | None:
    """The unit marker right before token `start`, if any."""
    for size in (2, 1):
        if start >= size:
            words = tuple(keys[start - size : start])
            if words in WARD_MARKERS or words in DISTRICT_MARKERS or words in PROVINCE_MARKERS:
                return words
    return None


def _index(rows: Iterable[tuple[int, str]]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = defaultdict(list)
    for code, name in rows:
        keys = {flat(name)}
        if " - " in name:
            keys.add(flat(name.split(" - ")[0]))
        for key in keys:
            index[key].append(code)
    return dict(index)


def _district_kind(name: str) -> str:
    for kind in ("Thành phố", "Thị xã", "Quận", "Huyện"):
        if name.lower().startswith(kind.lower()):
            return kind
    return "Huyện"


def _bare(name: str) -> str:
    for kind in ("Thành phố ", "Thị xã ", "Quận ", "Huyện "):
        if name.lower().startswith(kind.lower()):
            return name[len(kind) :]
    return name
