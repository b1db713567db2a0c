"""Read an address as a chain of administrative parts: commune, then district, then province.

Both systems are tried on the same tokens: the 2025 one (commune, province) and the pre-2025
one (commune, district, province). A chain counts only where its parts nest (the old commune
inside the old district named next to it, the district inside the province) and stand next
to each other with nothing but unit markers between. The longest consistent chain wins, so
"Lùng Vai, Mường Khương, Lào Cai" is the old commune of that old district, not the 2025
commune that took the district's name. Where two chains of the same length say different
things, or a split old commune has several successors, the answer is the candidates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from routing.geography.data import Geography, name_key

MAX_PART = 5  # tokens in one name ("thi tran nong truong moc chau" is the longest kind)
MAX_TOKENS = 400
MAX_FUZZY_DISTRICTS = 40  # districts with a commune of the name, compared with a misspelling
MIN_FUZZY = 5  # letters in a name compared fuzzily
FUZZY_DISTRICT = 0.92
FUZZY_COMMUNE = 0.9
FUZZY_MARGIN = 0.03
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


@dataclass(frozen=True)
class Reading:
    """The communes a chain of parts means, and how many parts agreed."""

    codes: frozenset[int]  # 2025 commune codes
    parts: int
    old: bool
    span: tuple[int, int]
    # The 2025 communes of the old districts named with a marker ("TP. Cà Mau", "Q.5"),
    # None when no district is so named: an answer outside them contradicts the text.
    within: frozenset[int] | None = None


def flat(name: str) -> str:
    """A name's key without spaces: run-together forms ("EANAM") meet "Ea Nam"."""
    return name_key(name).replace(" ", "")


def initials(name: str) -> str:
    """ "Gò Vấp" -> "gv"."""
    return "".join(word[0] for word in name_key(name).split() if word)


class Reader:
    """Indexes of both systems by flat key, and the chain reading over tokens."""

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
        before = _marker_before(keys, start)
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

    # -- chains --

    def read(self, keys: list[str], breaks: list[bool]) -> Reading | None:
        """The best chain of at least two nested parts ending in a commune's successor(s)."""
        by_end = self.parts(keys, breaks)
        if not by_end:
            return None
        communes = [
            part
            for parts in list(by_end.values())
            for part in parts
            if part.level in ("new_ward", "old_ward")
            and self._may_be_commune(keys, breaks, part, by_end)
        ]
        communes += self._misspelt_communes(keys, breaks, by_end)
        best: list[Reading] = []
        for commune in communes:
            if True:
                for reading in self._chains(keys, breaks, commune, by_end, commune.end):
                    if not best or reading.parts > best[0].parts:
                        best = [reading]
                    elif reading.parts == best[0].parts:
                        best.append(reading)
        within = self._within_marked_districts(keys, by_end)
        if not best:
            return Reading(frozenset(), 0, False, (0, 0), within) if within else None
        # The same chain read with a longer commune name ("Hòa Thuận Đông" over "Thuận Đông").
        widest: dict[int, Reading] = {}
        for reading in best:
            kept = widest.get(reading.span[1])
            if kept is None or reading.span[0] < kept.span[0]:
                widest[reading.span[1]] = reading
        readings = list(widest.values())
        codes = frozenset().union(*(r.codes for r in readings))
        return Reading(codes, best[0].parts, any(r.old for r in readings), readings[0].span, within)

    def _within_marked_districts(
        self, keys: list[str], by_end: dict[int, list[Part]]
    ) -> frozenset[int] | None:
        """Successors of every old commune of the districts named after a district marker."""
        codes: set[int] = set()
        for parts in list(by_end.values()):
            for part in parts:
                if part.level != "district":
                    continue
                if _marker_before(keys, part.start) not in DISTRICT_MARKERS:
                    continue
                for district in part.codes:
                    for old in self.geo.old_wards_of_district.get(district, []):
                        codes.update(self.geo.old_wards[old].new_codes)
        return frozenset(codes) if codes else None

    def _may_be_commune(
        self, keys: list[str], breaks: list[bool], part: Part, by_end: dict[int, list[Part]]
    ) -> bool:
        """Not the tail of a longer name ("Lát" in "Đà Lạt"), not a district after "huyện",
        not a street's name after a house number."""
        if any(other.start < part.start for other in by_end[part.end]):
            return False
        after = keys[part.end] if part.end < len(keys) and not breaks[part.end] else ""
        if POSTFIX.get(after) in ("district", "province") and not _marker_before(keys, part.start):
            return False  # "Go Vap District"
        if part.start == 0 or breaks[part.start]:
            return True
        marker = _marker_before(keys, part.start)
        if marker in DISTRICT_MARKERS and not _inside_name(marker, part.start, by_end):
            return False
        previous = keys[part.start - 1]
        if previous in NOT_A_COMMUNE_AFTER:
            return False
        if previous.isdigit() or (previous[:1].isdigit() and previous[-1:].isalpha()):
            owner = keys[part.start - 2] if part.start >= 2 else ""
            return owner in HAMLET_WORDS
        return True

    def _chains(
        self,
        keys: list[str],
        breaks: list[bool],
        commune: Part,
        by_end: dict[int, list[Part]],
        end: int,
    ) -> Iterable[Reading]:
        kind = WARD_MARKERS.get(_marker_before(keys, commune.start) or ("",))
        following = list(self._next(keys, commune.end, by_end, ("district", "province")))
        if commune.level == "old_ward" and not any(p.level == "district" for p in following):
            following += self._misspelt_district(keys, breaks, commune)
        for nxt in following:
            if commune.level == "old_ward" and nxt.level == "district":
                olds = [
                    c for c in commune.codes if self.geo.old_wards[c].district_code in nxt.codes
                ]
                olds = _typed(olds, kind, lambda c: self.geo.old_wards[c].kind)
                if not olds:
                    continue
                districts = {self.geo.old_wards[c].district_code for c in olds}
                provinces: list[Part | None] = [
                    p
                    for p in self._next(keys, nxt.end, by_end, ("province",))
                    if any(self._district_in(d, p) for d in districts)
                ]
                for province in provinces or [None]:
                    inside = olds
                    if province is not None:
                        inside = [
                            c
                            for c in olds
                            if self._district_in(self.geo.old_wards[c].district_code, province)
                        ]
                    codes = self._successors(inside, province)
                    yield Reading(codes, 3 if province else 2, True, (commune.start, end))
            elif nxt.level == "province":
                if commune.level == "new_ward":
                    news = [c for c in commune.codes if self._new_in(c, nxt)]
                    news = _typed(news, kind, lambda c: self.geo.wards[c].kind)
                    if (
                        news
                        and kind is None
                        and self._after_a_part(keys, breaks, commune.start, commune.end)
                    ):
                        news += self._district_successors(keys, commune, nxt)
                    if news:
                        yield Reading(frozenset(news), 2, False, (commune.start, end))
                else:
                    olds = [
                        c
                        for c in commune.codes
                        if self._district_in(self.geo.old_wards[c].district_code, nxt)
                    ]
                    olds = _typed(olds, kind, lambda c: self.geo.old_wards[c].kind)
                    if olds:
                        yield Reading(self._successors(olds, nxt), 2, True, (commune.start, end))

    def _misspelt_communes(
        self, keys: list[str], breaks: list[bool], by_end: dict[int, list[Part]]
    ) -> list[Part]:
        """A slip in the commune before an old district ("quyynh doi, quynh luu"): compared
        only with that district's communes, and only where no name is read there already."""
        found: list[Part] = []
        districts = [
            p
            for parts in list(by_end.values())
            for p in parts
            if p.level == "district"
            and not any(q.level == "province" and q.start == p.start for q in parts)
        ]  # a provincial city named like its province ("Thanh Hóa") is the province here
        for district in districts[:MAX_FUZZY_DISTRICTS]:
            for gap in (0, 1, 2):
                end = district.start - gap
                if end <= 0 or (gap and tuple(keys[end : district.start]) not in DISTRICT_MARKERS):
                    continue
                if any(p.level == "old_ward" for p in by_end.get(end, [])):
                    continue
                codes = [
                    c for d in district.codes for c in self.geo.old_wards_of_district.get(d, [])
                ]
                names = [self.old_ward_flat[c] for c in codes]
                joined = ""
                for start in range(end - 1, max(-1, end - MAX_PART - 1), -1):
                    if start + 1 < end and breaks[start + 1]:
                        break
                    joined = keys[start] + joined
                    opens = (
                        start == 0 or breaks[start] or _marker_before(keys, start) in WARD_MARKERS
                    )
                    if not opens or len(joined) < MIN_FUZZY or joined.isdigit():
                        continue
                    if any(keys[i] in MARKER_WORDS for i in (start, end - 1)):
                        continue  # "thành phố" before "Phan Thiết" is no commune
                    hits = process.extract(
                        joined,
                        names,
                        scorer=JaroWinkler.normalized_similarity,
                        limit=2,
                        score_cutoff=FUZZY_COMMUNE - FUZZY_MARGIN,
                    )
                    if not hits or hits[0][1] < FUZZY_COMMUNE:
                        continue
                    if len(hits) > 1 and hits[0][1] - hits[1][1] < FUZZY_MARGIN:
                        continue
                    found.append(Part("old_ward", start, end, frozenset({codes[hits[0][2]]})))
        return found

    def _misspelt_district(self, keys: list[str], breaks: list[bool], commune: Part) -> list[Part]:
        """A slip in the district after an old commune ("Lùng Vai, Mường Khươn"): compared
        only with the districts that have a commune of that name, so nothing else can fit."""
        ends_part = commune.end < len(keys) and (
            breaks[commune.end] or (keys[commune.end],) in DISTRICT_MARKERS
        )
        starts_part = (
            commune.start == 0
            or breaks[commune.start]
            or _marker_before(keys, commune.start) in WARD_MARKERS
        )
        districts = {self.geo.old_wards[c].district_code for c in commune.codes}
        if not (ends_part and starts_part) or len(districts) > MAX_FUZZY_DISTRICTS:
            return []  # an address part of its own, followed by another
        names = {d: flat(self.geo.old_districts[d].name) for d in districts}
        found: list[Part] = []
        for gap in (0, 1, 2):
            start = commune.end + gap
            if start >= len(keys) or (
                gap and tuple(keys[commune.end : start]) not in DISTRICT_MARKERS
            ):
                continue
            joined = ""
            for end in range(start + 1, min(start + MAX_PART, len(keys)) + 1):
                if end - 1 > start and breaks[end - 1]:
                    break
                joined += keys[end - 1]
                if len(joined) < MIN_FUZZY or joined.isdigit():
                    continue
                for district, name in names.items():
                    if JaroWinkler.normalized_similarity(joined, name) >= FUZZY_DISTRICT:
                        found.append(Part("district", start, end, frozenset({district})))
        return found

    def _after_a_part(self, keys: list[str], breaks: list[bool], start: int, end: int) -> bool:
        """An unknown name stands before this one ("Hòa Thuận Đông, Hải Châu"): then this
        may as well be the old district after its commune. Not after a lead-in ("ở"), a
        house number and street, or a hamlet, and not when "ward" follows."""
        if start == 0 or keys[start - 1] in LEAD_INS:
            return False
        if end < len(keys) and POSTFIX.get(keys[end]) == "ward":
            return False
        segment = start - 1
        while segment > 0 and not breaks[segment]:
            segment -= 1
        return not any(
            key[:1].isdigit() or key in HAMLET_WORDS or key in STREET_WORDS
            for key in keys[segment:start]
        )

    def _district_successors(self, keys: list[str], commune: Part, province: Part) -> list[int]:
        """The 2025 communes of an old district of the province that bears the same name."""
        joined = "".join(keys[commune.start : commune.end])
        codes: list[int] = []
        for district in self.districts.get(joined, []):
            if self._district_in(district, province):
                for old in self.geo.old_wards_of_district.get(district, []):
                    codes += self.geo.old_wards[old].new_codes
        return codes

    def _next(
        self, keys: list[str], after: int, by_end: dict[int, list[Part]], levels: tuple[str, ...]
    ) -> Iterable[Part]:
        """Parts of the given levels that start right after `after`, past a unit marker."""
        for gap in (0, 1, 2, 3):
            start = after + gap
            marker = tuple(keys[after:start])
            if marker[:1] and marker[0] in POSTFIX:
                marker = marker[1:]  # "Go Vap District, Ho Chi Minh City"
            if marker and marker not in DISTRICT_MARKERS and marker not in PROVINCE_MARKERS:
                continue
            if not gap:
                before = _marker_before(keys, start)
                if before in WARD_MARKERS and not _inside_name(before, start, by_end):
                    continue  # "xã Lạc Thủy" is a commune, not the district
            for end in range(start + 1, start + MAX_PART + 1):
                for part in by_end.get(end, []):
                    if part.start == start and part.level in levels:
                        yield part

    def _district_in(self, district: int, province: Part) -> bool:
        old_province = self.geo.old_districts[district].old_province_code
        if province.old_province is not None and old_province == province.old_province:
            return True
        return province.current and bool(
            self.geo.old_province_to_new[old_province] & province.codes
        )

    def _new_in(self, code: int, province: Part) -> bool:
        if self.geo.wards[code].province_code not in province.codes:
            return False
        if province.current or province.old_province is None:
            return True
        return province.old_province in self.old_provinces_of_new[code]

    def _successors(self, olds: list[int], province: Part | None) -> frozenset[int]:
        codes = {c for old in olds for c in self.geo.old_wards[old].new_codes}
        if province is not None:
            inside = {c for c in codes if self.geo.wards[c].province_code in province.codes}
            codes = inside or codes
        return frozenset(codes)


def _typed(codes: list[int], kind: str | None, kind_of: Callable[[int], str]) -> list[int]:
    """Narrow to the marker's unit type when some have it ("xã" before a name)."""
    if not kind or len(codes) < 2:
        return codes
    typed = [c for c in codes if kind_of(c) == kind]
    return typed or codes


def _inside_name(marker: tuple[str, ...], start: int, by_end: dict[int, list[Part]]) -> bool:
    """The marker's words end a longer name ("Nguyên Xá" before "Vũ Thư"): not a marker."""
    return any(p.end - p.start > len(marker) for p in by_end.get(start, []))


def _marker_before(keys: list[str], start: int) -> tuple[str, ...] | None:
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
