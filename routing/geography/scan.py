"""One marker pass over one text: provinces, districts, then communes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from routing.geography.data import Geography
from routing.geography.results import NOTHING, LocationResult, agree
from routing.geography.tokens import (
    CITY_MARKERS,
    DISTRICT_MARKERS,
    EXTRA_PROVINCE_ALIASES,
    MARKER_KIND,
    PROVINCE_MARKERS,
    WARD_MARKERS,
    WEAK_MARKERS,
    Mention,
    Token,
)

MAX_MENTIONS = 12  # unit markers looked at per text (a flood of "xã xã xã" stays fast)
MAX_SPAN = 4
FUZZY_IN_PROVINCE = 0.90
MAX_CACHED_INDEXES = 256  # old-district indexes kept, one per set of provinces named


class _Matcher(Protocol):
    """What a scan asks of the resolver (resolver.py), named here so imports go one way."""

    geo: Geography
    province_keys: dict[str, set[int]]
    all_name_keys: set[str]
    any_ward_keys: dict[str, list[int]]
    current_province_keys: set[str]
    long_province_keys: list[str]
    district_indexes: dict[frozenset[int], dict[str, list[int]]]

    def new_index_for(self, provinces: set[int]) -> dict[str, list[int]]: ...

    def match(
        self,
        scan: _Scan,
        start: int,
        index: dict[str, list[int]],
        cutoff: float,
        fuzzy_end_ok: Callable[[int], bool] | None = None,
    ) -> tuple[list[int], int, float] | None: ...

    def lookup(
        self,
        scan: _Scan,
        start: int,
        old_first: bool,
        kind: str | None,
        whole_segment_fuzzy: bool = False,
    ) -> tuple[dict[int, float], tuple[int, int]] | None: ...

    def unique_nationwide(
        self, scan: _Scan, start: int
    ) -> tuple[dict[int, float], tuple[int, int]] | None: ...

    def _result(
        self,
        scored: dict[int, float],
        matched: str | None,
        provinces: set[int],
        confidence_cap: float = 0.95,
    ) -> LocationResult: ...


class _Scan:
    """One pass over one text: markers, provinces, districts, then communes."""

    def __init__(self, resolver: _Matcher, text: str, tokens: list[Token]) -> None:
        self.r = resolver
        self.geo = resolver.geo
        self.text = text
        self.tokens = tokens
        self.keys = [t.key for t in tokens]
        self.n = len(tokens)
        self.street = self._streets()
        self.no_such_district = False

    # -- helpers --

    def span_key(self, start: int, end: int) -> str:
        return " ".join(self.keys[start:end])

    def spans(self, start: int) -> list[int]:
        """Ends of spans of 1..MAX_SPAN tokens from `start`, not crossing a break or street."""
        ends = []
        for end in range(start + 1, min(start + MAX_SPAN, self.n) + 1):
            last = end - 1
            if (last > start and self.tokens[last].breaks_before) or last in self.street:
                break
            ends.append(end)
        return ends

    def segment_end(self, i: int) -> bool:
        """True when token i is the last of its comma-separated segment."""
        return i + 1 >= self.n or self.tokens[i + 1].breaks_before

    def phrase_ends(self, end: int) -> bool:
        """Nothing unexplained follows a span ending before token `end`."""
        if end >= self.n or self.tokens[end].breaks_before or self.keys[end - 1].isdigit():
            return True
        nxt = self.keys[end]
        unit_markers = WARD_MARKERS.keys() | DISTRICT_MARKERS.keys() | CITY_MARKERS
        return end in self.taken or any(m[0] == nxt for m in unit_markers | PROVINCE_MARKERS)

    def segment_start(self, i: int) -> bool:
        return i == 0 or self.tokens[i].breaks_before

    def _streets(self) -> set[int]:
        """Tokens of a street address ("số 27 Hùng Vương"), never a place name to match."""
        street: set[int] = set()
        for i, key in enumerate(self.keys):
            starts = (
                (key == "so" and i + 1 < self.n and self.keys[i + 1].isdigit())
                or (key.isdigit() and self.segment_start(i))
                or (key in {"duong", "ngo", "hem", "kiet"} and self.segment_start(i))
            )
            if starts:
                j = i
                while j < self.n and (j == i or not self.tokens[j].breaks_before):
                    street.add(j)
                    j += 1
        return street

    def marker(self, i: int, markers: Iterable[tuple[str, ...]]) -> int:
        """Length of the marker at token i, unless the words there are part of a name."""
        if i in self.street:
            return 0
        for marker in sorted(markers, key=len, reverse=True):
            m = len(marker)
            if tuple(self.keys[i : i + m]) != marker:
                continue
            last = i + m - 1
            for back in (1, 2):
                inside_name = (
                    i - back >= 0
                    and not self.tokens[i].breaks_before
                    and self.span_key(i - back, last + 1) in self.r.all_name_keys
                )
                if inside_name:
                    return 0  # "Cúc Phương", "Hoàng Xá": part of a name
            return m
        return 0

    def preceded_by_marker(self, start: int) -> bool:
        for markers in (WARD_MARKERS, DISTRICT_MARKERS):
            for marker in markers:
                m = len(marker)
                if (
                    start >= m
                    and tuple(self.keys[start - m : start]) == marker
                    and self.marker(start - m, [marker])
                ):
                    return True
        return False

    def longest_exact(self, start: int, index: dict[str, list[int]]) -> int:
        best = 0
        for end in self.spans(start) if start < self.n else []:
            if self.span_key(start, end) in index:
                best = end
        return best

    # -- the pass --

    def run(self) -> LocationResult:
        reserved = self._reserved()
        provinces = self._provinces(reserved)
        self.provinces: set[int] = set().union(*(m.codes for m in provinces))
        current = self.r.current_province_keys
        names = [self.span_key(m.start, m.end) for m in provinces]
        current_named = any(k in current or k in EXTRA_PROVINCE_ALIASES for k in names)
        old_named = any(k in self.geo.old_province_keys and k not in current for k in names)
        self.taken = {i for m in provinces for i in range(m.start, m.end)}
        districts = self._districts()
        self.taken |= {i for m in districts for i in range(m.start, m.end)}
        self.districts: set[int] = set().union(*(m.codes for m in districts))
        self.old_first = bool(self.districts) or (old_named and not current_named)

        found = self._marked()
        cap = 0.95
        if found is None:
            found = self._unmarked()
            cap = 0.85
        if self.no_such_district and not self.districts:
            found = None
        if found is None:
            island = {c for d in self.districts for c in self.geo.old_districts[d].new_codes}
            if len(island) == 1:
                return self.r._result({next(iter(island)): 1.0}, None, self.provinces, 0.85)
            if len(self.provinces) == 1:
                return LocationResult(next(iter(self.provinces)), None, 0.3, source="text")
            return NOTHING
        scored, (start, end) = found
        matched = self.text[self.tokens[start].start : self.tokens[end - 1].end]
        if not self.provinces and not self.districts:
            cap = min(cap, 0.8)
        return self.r._result(scored, matched, self.provinces, cap)

    def _reserved(self) -> set[int]:
        """Tokens right after a unit marker that spell a known name: not a province."""
        reserved: set[int] = set()
        for i in range(self.n):
            for markers, index in (
                (WARD_MARKERS, self.r.any_ward_keys),
                (DISTRICT_MARKERS, self.geo.old_districts_by_key),
            ):
                m = self.marker(i, markers)
                if m:
                    end = self.longest_exact(i + m, index)
                    reserved |= set(range(i + m, end))
        return reserved

    def _provinces(self, reserved: set[int]) -> list[Mention]:
        """Provinces named in the text (2025 names, older names, common abbreviations)."""
        mentions: list[Mention] = []
        i = 0
        while i < self.n:
            marked = self.marker(i, PROVINCE_MARKERS | CITY_MARKERS)
            start = i + marked
            best: Mention | None = None
            for end in self.spans(start) if start < self.n else []:
                if not marked and set(range(start, end)) & reserved:
                    continue
                codes = self.r.province_keys.get(self.span_key(start, end))
                if codes:
                    best = Mention("province", start, end, "city" if marked else None, set(codes))
            if best is None and marked and start < self.n:
                best = self._fuzzy_province(start)
            if best is not None and (marked or not self.preceded_by_marker(start)):
                if marked and self.keys[i] in {"tp", "thanh"}:
                    best.marker = "city"
                mentions.append(best)
                i = best.end
                continue
            i += 1
        return self._release(mentions)

    def _release(self, mentions: list[Mention]) -> list[Mention]:
        """Of two province mentions, an earlier one may really be a district or commune
        ("TP Hà Tĩnh, Hà Tĩnh"; "Bình Thuận, Lâm Đồng")."""
        if len(mentions) < 2:
            return mentions
        kept = []
        for index, mention in enumerate(mentions):
            later = set().union(*(m.codes for m in mentions[index + 1 :]))
            key = self.span_key(mention.start, mention.end)
            if later and mention.codes & later:
                district_named = any(
                    self.geo.old_districts[d].name.lower().startswith("thành phố")
                    for d in self.geo.old_districts_by_key.get(key, [])
                )
                if mention.marker == "city" and district_named:
                    continue  # the old provincial city, found again as a district
                if mention.marker is None and any(
                    self.geo.wards[c].province_code in later
                    for c in self.geo.wards_by_key.get(key, [])
                ):
                    continue  # a commune that bears an old province's name
            kept.append(mention)
        return kept

    def _fuzzy_province(self, start: int) -> Mention | None:
        """A misspelt province after "tỉnh"/"tp"."""
        best: Mention | None = None
        best_score = 0.0
        for end in self.spans(start):
            if self.span_key(start, end) in self.geo.old_districts_by_key:
                return None  # "TP Đông Hà": an old city, not a misspelt province
            hit = process.extractOne(
                self.span_key(start, end),
                self.r.long_province_keys,
                scorer=JaroWinkler.normalized_similarity,
                score_cutoff=0.93,
            )
            if hit and hit[1] > best_score:
                best_score = hit[1]
                best = Mention(
                    "province", start, end, "province", set(self.r.province_keys[hit[0]])
                )
        return best

    def _district_index(self) -> dict[str, list[int]]:
        """Old districts by key, within the provinces named (computed once per set)."""
        key = frozenset(self.provinces)
        cached = self.r.district_indexes.get(key)
        if cached is None:
            if len(self.r.district_indexes) > MAX_CACHED_INDEXES:
                self.r.district_indexes.clear()
            cached = self._district_index_within() if key else dict(self.geo.old_districts_by_key)
            self.r.district_indexes[key] = cached
        return cached

    def _district_index_within(self) -> dict[str, list[int]]:
        """The old districts of the provinces named, by key."""
        index: dict[str, list[int]] = {}
        for key, codes in self.geo.old_districts_by_key.items():
            inside = [
                c
                for c in codes
                if self.geo.old_province_to_new[self.geo.old_districts[c].old_province_code]
                & self.provinces
            ]
            if inside:
                index[key] = inside
        return index

    def _districts(self) -> list[Mention]:
        """Old districts: after a district marker, or alone in their own address part."""
        index = self._district_index()
        mentions: list[Mention] = []
        for i in range(self.n):
            if i in self.taken or len(mentions) >= MAX_MENTIONS:
                continue
            m = self.marker(i, DISTRICT_MARKERS.keys() | CITY_MARKERS)
            if m and i + m < self.n and (i + m) not in self.taken:
                cutoff = FUZZY_IN_PROVINCE if self.provinces else 1.01
                hit = self.r.match(self, i + m, index, cutoff)
                if hit:
                    codes, end, _score = hit
                    mentions.append(Mention("district", i + m, end, "district", set(codes)))
                elif self.keys[i + m].isdigit() and self.keys[i] in ("q", "quan"):
                    self.no_such_district = True  # "Q23": the numbers after it mean nothing
                continue
            if self.segment_start(i) and not self.preceded_by_marker(i):
                for end in self.spans(i):
                    key = self.span_key(i, end)
                    if (
                        self.segment_end(end - 1)
                        and key in index
                        and key not in self.r.new_index_for(self.provinces)
                    ):
                        mentions.append(Mention("district", i, end, "district", set(index[key])))
        return mentions

    def _marked(self) -> tuple[dict[int, float], tuple[int, int]] | None:
        """Communes named right after a ward marker (or before "ward"/"commune")."""
        results = []
        looked = 0
        for i in range(self.n):
            if i in self.taken:
                continue
            m = self.marker(i, WARD_MARKERS)
            if not m or i + m >= self.n or (i + m) in self.taken:
                continue
            looked += 1
            if looked > MAX_MENTIONS:
                break
            marker = tuple(self.keys[i : i + m])
            found = self.r.lookup(
                self, i + m, self.old_first or WARD_MARKERS[marker] == "old", MARKER_KIND[marker]
            )
            if found:
                results.append(found)
        for i, key in enumerate(self.keys):
            if key in {"ward", "commune", "village"} and i > 0:
                for start in range(max(0, i - 3), i):
                    if start in self.taken:
                        continue
                    index = self.r.new_index_for(self.provinces)
                    if self.span_key(start, i) in index:
                        codes = index[self.span_key(start, i)]
                        results.append(({c: 1.0 for c in codes}, (start, i)))
                        break
        return agree(results)

    def _unmarked(self) -> tuple[dict[int, float], tuple[int, int]] | None:
        """A commune name with no marker, where an address part would stand."""
        results = []
        for i in range(self.n):
            if i in self.taken or i in self.street or self.preceded_by_marker(i):
                continue
            after_weak = any(
                i >= len(w) and tuple(self.keys[i - len(w) : i]) == w for w in WEAK_MARKERS
            )
            if not (self.segment_start(i) or after_weak):
                continue
            nationwide = not (self.provinces or self.districts)
            if nationwide:
                found = self.r.unique_nationwide(self, i)
            else:
                found = self.r.lookup(self, i, self.old_first, None, whole_segment_fuzzy=True)
            if found and not (set(range(*found[1])) & self.taken):
                start, end = found[1]
                if nationwide and not self.segment_end(end - 1):
                    continue  # a bare name with no province must be an address part of its own
                if self.segment_start(start) or self.segment_end(end - 1) or after_weak:
                    results.append(({c: s * 0.97 for c, s in found[0].items()}, found[1]))
        return agree(results)
