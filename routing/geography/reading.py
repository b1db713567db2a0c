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

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import JaroWinkler

from routing.geography.fuzzy import clear_best
from routing.geography.parts import (
    DISTRICT_MARKERS,
    FUZZY_COMMUNE,
    FUZZY_DISTRICT,
    HAMLET_WORDS,
    LEAD_INS,
    MARKER_WORDS,
    MAX_FUZZY_DISTRICTS,
    MAX_PART,
    MIN_FUZZY,
    NOT_A_COMMUNE_AFTER,
    POSTFIX,
    PROVINCE_MARKERS,
    STREET_WORDS,
    WARD_MARKERS,
    Part,
    PartReader,
    flat,
    inside_name,
    marker_before,
    typed,
)


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
    second: tuple[str, int, int] = ("", 0, 0)  # the level and tokens of the part after it
    fits_marker: bool = True  # the unit type the marker names ("p." a phường) is the commune's


class Reader(PartReader):
    """The chain reading over the parts of an address."""

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
        widest: dict[int, list[Reading]] = {}
        for reading in best:
            kept = widest.get(reading.span[1])
            if kept is None or reading.span[0] < kept[0].span[0]:
                widest[reading.span[1]] = [reading]
            elif reading.span[0] == kept[0].span[0] and _city_or_province(kept[0], reading):
                kept.append(reading)
        readings = [r for same in widest.values() for r in self._settle(keys, same)]
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
                if marker_before(keys, part.start) not in DISTRICT_MARKERS:
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
        if POSTFIX.get(after) in ("district", "province") and not marker_before(keys, part.start):
            return False  # "Go Vap District"
        if part.start == 0 or breaks[part.start]:
            return True
        marker = marker_before(keys, part.start)
        if marker in DISTRICT_MARKERS and not inside_name(marker, part.start, by_end):
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
        kind = WARD_MARKERS.get(marker_before(keys, commune.start) or ("",))
        following = list(self._next(keys, commune.end, by_end, ("district", "province")))
        if commune.level == "old_ward" and not any(p.level == "district" for p in following):
            following += self._misspelt_district(keys, breaks, commune)
        for nxt in following:
            if commune.level == "old_ward" and nxt.level == "district":
                olds = [
                    c for c in commune.codes if self.geo.old_wards[c].district_code in nxt.codes
                ]
                olds = typed(olds, kind, lambda c: self.geo.old_wards[c].kind)
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
                    second = ("district", nxt.start, nxt.end)
                    fits = self._old_fits(olds, kind)
                    span = (commune.start, end)
                    yield Reading(codes, 3 if province else 2, True, span, None, second, fits)
            elif nxt.level == "province":
                if commune.level == "new_ward" and kind == "Thị trấn":
                    continue  # no 2025 commune is a "thị trấn": the old one is meant
                if commune.level == "new_ward":
                    news = [c for c in commune.codes if self._new_in(c, nxt)]
                    news = typed(news, kind, lambda c: self.geo.wards[c].kind)
                    fits = kind is None or all(self.geo.wards[c].kind == kind for c in news)
                    if (
                        news
                        and kind is None
                        and self._after_a_part(keys, breaks, commune.start, commune.end)
                    ):
                        news += self._district_successors(keys, commune, nxt)
                        news += self._commune_before(breaks, commune, nxt, by_end)
                    if news:
                        second = ("province", nxt.start, nxt.end)
                        span = (commune.start, end)
                        yield Reading(frozenset(news), 2, False, span, None, second, fits)
                else:
                    olds = [
                        c
                        for c in commune.codes
                        if self._district_in(self.geo.old_wards[c].district_code, nxt)
                    ]
                    olds = typed(olds, kind, lambda c: self.geo.old_wards[c].kind)
                    if olds:
                        codes = self._successors(olds, nxt)
                        second = ("province", nxt.start, nxt.end)
                        fits = self._old_fits(olds, kind)
                        yield Reading(codes, 2, True, (commune.start, end), None, second, fits)

    def _old_fits(self, olds: list[int], kind: str | None) -> bool:
        return kind is None or all(self.geo.old_wards[c].kind == kind for c in olds)

    def _settle(self, keys: list[str], same: list[Reading]) -> list[Reading]:
        """Of the readings of the same words (_city_or_province), the ones the text allows:
        the unit type its marker names, a "tỉnh" before the province; one inside the other
        (the 2025 ward among a split old ward's successors) is the one meant."""
        if len(same) < 2:
            return same
        same = [r for r in same if r.fits_marker] or same
        if marker_before(keys, same[0].second[1]) == ("tinh",):
            same = [r for r in same if r.second[0] != "district"] or same
        smallest = min(same, key=lambda r: len(r.codes))
        if not smallest.old and all(smallest.codes <= r.codes for r in same):
            return [smallest]
        return same

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
                        start == 0 or breaks[start] or marker_before(keys, start) in WARD_MARKERS
                    )
                    if not opens or len(joined) < MIN_FUZZY or joined.isdigit():
                        continue
                    if any(keys[i] in MARKER_WORDS for i in (start, end - 1)):
                        continue  # "thành phố" before "Phan Thiết" is no commune
                    hit = clear_best(joined, names, FUZZY_COMMUNE)
                    if hit is None:
                        continue
                    found.append(Part("old_ward", start, end, frozenset({codes[hit[2]]})))
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
            or marker_before(keys, commune.start) in WARD_MARKERS
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
                known = joined in self.provinces or joined in self.districts
                if len(joined) < MIN_FUZZY or joined.isdigit() or known:
                    continue  # a name spelt right ("Long An") is no slip of "Long Thành"
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

    def _commune_before(
        self, breaks: list[bool], commune: Part, province: Part, by_end: dict[int, list[Part]]
    ) -> list[int]:
        """ "Long Hải, Long Điền, BRVT": a commune of the province named just before this
        2025 one, which may be an old district gone from the lists (merged before 2025)."""
        if commune.start >= len(breaks) or not breaks[commune.start]:
            return []
        codes: list[int] = []
        for part in by_end.get(commune.start, []):
            if part.start > 0 and not breaks[part.start]:
                continue
            if part.level == "new_ward":
                codes += [c for c in part.codes if self._new_in(c, province)]
            elif part.level == "old_ward":
                olds = [
                    c
                    for c in part.codes
                    if self._district_in(self.geo.old_wards[c].district_code, province)
                ]
                codes += self._successors(olds, province) if olds else []
        return codes

    def _next(
        self, keys: list[str], after: int, by_end: dict[int, list[Part]], levels: tuple[str, ...]
    ) -> Iterable[Part]:
        """Parts of the given levels that start right after `after`, past a unit marker."""
        for gap in (0, 1, 2, 3):
            start = after + gap
            marker = tuple(keys[after:start])
            if marker[:1] and (marker[0] in POSTFIX or marker[0] == "cu"):
                marker = marker[1:]  # "Go Vap District, Ho Chi Minh City"; "xã X cũ (huyện Y)"
            if marker and marker not in DISTRICT_MARKERS and marker not in PROVINCE_MARKERS:
                continue
            if not gap:
                before = marker_before(keys, start)
                if before in WARD_MARKERS and not inside_name(before, start, by_end):
                    continue  # "xã Lạc Thủy" is a commune, not the district
            longest: list[Part] = []  # "Điện Biên Phủ", not the province "Điện Biên" in it
            for end in range(start + 1, start + MAX_PART + 1):
                found = [p for p in by_end.get(end, []) if p.start == start and p.level in levels]
                longest = found or longest
            yield from longest

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


def _city_or_province(one: Reading, other: Reading) -> bool:
    """ "Nguyễn Trãi, Hải Dương": the same words after the commune read as the old city (an
    old ward of it) and as the province (a 2025 ward in it): both stay, as candidates."""
    a, b = one.second, other.second
    return a[1:] == b[1:] and {a[0], b[0]} == {"district", "province"}
