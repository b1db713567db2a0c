"""Resolve what a citizen writes (or shares) to the official 2025 commune, or abstain.

The text is cut into folded tokens. Unit markers (xã, phường, x., p., f5, huyện, h., quận,
q3, thị xã, tp, tỉnh...) say what the following words name. Provinces are found first and
narrow everything else; a district, a "thị trấn" or a province that no longer exists marks
an old (pre-July-2025) address, which is resolved among the old communes and carried to
the new one through the official map. Names are matched exactly on folded keys, then
fuzzily (Jaro-Winkler on spaceless keys, with a margin over the runner-up) inside the
narrowed candidates. Beside that marker pass, the text is read as chains of nested parts
(reading.py: commune, old district, province, in both systems); a chain that names a
commune decides, and a chain that leaves several (a split old commune, two readings of the
same length) turns the answer into candidates. One commune is returned only when nothing
else fits as well; a wrong commune sends police to the wrong place, so ties come back as
candidates.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from routing.geography.data import Geography, name_key
from routing.geography.reading import Reader, Reading
from triage.text import fold, normalize

MAX_TEXT = 8_000  # longer texts are cut: a place is named early, and time is bounded
MAX_MENTIONS = 12  # unit markers looked at per text (a flood of "xã xã xã" stays fast)
MAX_SPAN = 4
FUZZY_IN_PROVINCE = 0.90
FUZZY_NATIONWIDE = 0.94
FUZZY_MARGIN = 0.03
MIN_FUZZY_KEY = 5
COORDINATE_MAX_KM = 40.0

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
}
_BREAK = re.compile(r"[,;:()\[\]\n!?/|\"\u2013\u2014]|\.\s|\s-\s|\s-|-\s")
_TOKEN = re.compile(r"\w+")
_SPLIT_MARKER = re.compile(r"^(p|f|q|x|h|tp|tx|tt)(\d+|hcm|hn)$")


@dataclass(frozen=True)
class Candidate:
    """A commune the text may mean."""

    ward_code: int
    province_code: int
    name: str
    province_name: str
    score: float

    def to_json(self) -> dict[str, Any]:
        """The locate output form."""
        return {
            "ward_code": self.ward_code,
            "province_code": self.province_code,
            "name": self.name,
            "province_name": self.province_name,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class LocationResult:
    """Where the text (or shared location) says it happens."""

    province_code: int | None
    ward_code: int | None
    confidence: float
    candidates: tuple[Candidate, ...] = ()
    matched: str | None = None
    source: str = "none"  # text, coordinates, none
    notes: tuple[str, ...] = ()

    def to_json(self, record_id: object) -> dict[str, Any]:
        """The `hotline111 locate` line for this result."""
        return {
            "id": record_id,
            "province_code": self.province_code,
            "ward_code": self.ward_code,
            "confidence": round(self.confidence, 3),
            "candidates": [c.to_json() for c in self.candidates],
            "matched": self.matched,
        }


NOTHING = LocationResult(None, None, 0.0)


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


MAX_CACHED_INDEXES = 256  # old-district indexes kept, one per set of provinces named


class Resolver:
    """Finds the commune in a text; pure, thread-safe, loaded once."""

    def __init__(self, geography: Geography) -> None:
        self.geo = geography
        self.district_indexes: dict[frozenset[int], dict[str, list[int]]] = {}
        self.province_keys: dict[str, set[int]] = {
            k: set(v) for k, v in geography.province_aliases.items()
        }
        for alias, code in EXTRA_PROVINCE_ALIASES.items():
            self.province_keys.setdefault(alias, set()).add(code)
        self._nation_ward_keys = list(geography.wards_by_key)
        self._nation_ward_flat = [k.replace(" ", "") for k in self._nation_ward_keys]
        self._province_ward_keys: dict[int, dict[str, list[int]]] = {}
        for code, wards in geography.wards_of_province.items():
            index: dict[str, list[int]] = {}
            for ward_code in wards:
                index.setdefault(name_key(geography.wards[ward_code].name), []).append(ward_code)
            self._province_ward_keys[code] = index
        self._centroids = [
            (w.code, math.radians(w.lat), math.radians(w.lon))
            for w in geography.wards.values()
            if w.lat is not None and w.lon is not None
        ]
        self._flat_cache: dict[int, tuple[dict[str, list[int]], dict[str, str]]] = {}

        self.all_name_keys = (
            set(geography.wards_by_key)
            | set(geography.old_wards_by_key)
            | set(geography.old_districts_by_key)
        )
        self.any_ward_keys: dict[str, list[int]] = {
            **{k: list(v) for k, v in geography.old_wards_by_key.items()},
            **{k: list(v) for k, v in geography.wards_by_key.items()},
        }
        self.current_province_keys = {name_key(p.name) for p in geography.provinces.values()}
        self.long_province_keys = [k for k in self.province_keys if len(k) >= 4]
        self._old_cache: dict[tuple[frozenset[int], frozenset[int]], dict[str, list[int]]] = {}
        self.reader = Reader(geography, self.province_keys)

    def new_index_for(self, provinces: set[int]) -> dict[str, list[int]]:
        """2025 communes by key, inside the named provinces (all when none is named)."""
        if not provinces:
            return self.geo.wards_by_key
        if len(provinces) == 1:
            return self._province_ward_keys.get(next(iter(provinces)), {})
        index: dict[str, list[int]] = {}
        for code in provinces:
            for key, wards in self._province_ward_keys.get(code, {}).items():
                index.setdefault(key, []).extend(wards)
        return index

    def old_index_for(self, provinces: set[int], districts: set[int]) -> dict[str, list[int]]:
        """Old communes by key, inside the named districts, else the named provinces."""
        cache_key = (frozenset(provinces), frozenset(districts))
        cached = self._old_cache.get(cache_key)
        if cached is not None:
            return cached
        if districts:
            codes = [w for d in districts for w in self.geo.old_wards_of_district.get(d, [])]
        elif provinces:
            codes = [
                w.code
                for w in self.geo.old_wards.values()
                if any(self.geo.wards[c].province_code in provinces for c in w.new_codes)
            ]
        else:
            return self.geo.old_wards_by_key
        index: dict[str, list[int]] = {}
        for code in codes:
            index.setdefault(name_key(self.geo.old_wards[code].name), []).append(code)
        if len(self._old_cache) < 512:
            self._old_cache[cache_key] = index
        return index

    def match(
        self,
        scan: _Scan,
        start: int,
        index: dict[str, list[int]],
        cutoff: float,
        fuzzy_end_ok: Callable[[int], bool] | None = None,
    ) -> tuple[list[int], int, float] | None:
        """The best name in `index` for a span from `start`: exact (longest) or fuzzy."""
        spans = scan.spans(start) if start < scan.n else []
        exact: tuple[list[int], int, float] | None = None
        for end in spans:
            key = scan.span_key(start, end)
            codes = index.get(key) or index.get(_squeeze(key))
            if codes and (end - start > 1 or scan.phrase_ends(end)):
                exact = (codes, end, 1.0)
        if (exact and exact[1] - start > 1) or cutoff > 1.0 or not index:
            return exact
        choices = self._flat_choices(index)
        best: tuple[list[int], int, float] | None = None
        for end in spans:
            if exact and end <= exact[1]:
                continue
            if fuzzy_end_ok is not None and not fuzzy_end_ok(end):
                continue
            flat = "".join(scan.keys[start:end])
            if len(flat) < MIN_FUZZY_KEY or flat.isdigit():
                continue
            for query in dict.fromkeys((flat, _squeeze(flat))):
                hits = process.extract(
                    query,
                    list(choices),
                    scorer=JaroWinkler.normalized_similarity,
                    limit=2,
                    score_cutoff=cutoff - FUZZY_MARGIN,
                )
                if not hits or hits[0][1] < cutoff:
                    continue
                if len(hits) > 1 and hits[0][1] - hits[1][1] < FUZZY_MARGIN:
                    continue  # two names fit about as well: not a typo we can undo
                if best is None or hits[0][1] >= best[2]:  # equal: the longer span
                    best = (index[choices[hits[0][0]]], end, float(hits[0][1]))
        if best and exact and best[2] < cutoff + 0.02:
            return exact
        return best or exact

    def _flat_choices(self, index: dict[str, list[int]]) -> dict[str, str]:
        """Spaceless keys of an index (cached for the big nationwide ones)."""
        cached = self._flat_cache.get(id(index))
        if cached is not None and cached[0] is index:
            return cached[1]
        flat = {k.replace(" ", ""): k for k in index}
        if len(index) > 500:
            self._flat_cache[id(index)] = (index, flat)
        return flat

    def lookup(
        self,
        scan: _Scan,
        start: int,
        old_first: bool,
        kind: str | None,
        whole_segment_fuzzy: bool = False,
    ) -> tuple[dict[int, float], tuple[int, int]] | None:
        """The 2025 communes a name at `start` may mean, through the old lists when told."""
        provinces, districts = scan.provinces, scan.districts
        cutoff = FUZZY_IN_PROVINCE if (provinces or districts) else FUZZY_NATIONWIDE
        fuzzy_end_ok = None
        if whole_segment_fuzzy:

            def fuzzy_end_ok(end: int) -> bool:
                return scan.segment_start(start) and scan.segment_end(end - 1)

        order = ("old", "new") if old_first else ("new", "old")
        for phase_cutoff in (1.01, cutoff):
            for kind_of_list in order:
                if kind_of_list == "new":
                    if districts and old_first and phase_cutoff <= 1.0:
                        continue  # an old district names an old commune: no fuzzy 2025 guess
                    hit = self.match(
                        scan, start, self.new_index_for(provinces), phase_cutoff, fuzzy_end_ok
                    )
                    if hit:
                        codes = self._filter_new(hit[0], kind, scan, start, hit[1])
                        return {c: hit[2] for c in codes}, (start, hit[1])
                else:
                    hit = self.match(
                        scan,
                        start,
                        self.old_index_for(provinces, districts),
                        phase_cutoff,
                        fuzzy_end_ok,
                    )
                    if hit:
                        return self._carry_over(hit, kind, provinces), (start, hit[1])
        return None

    def _filter_new(
        self, codes: list[int], kind: str | None, scan: _Scan, start: int, end: int
    ) -> list[int]:
        """Narrow equal names in one province by the marker's type, then by the diacritics."""
        if len({self.geo.wards[c].province_code for c in codes}) > 1:
            return codes  # the same name in several provinces: a real tie
        if len(codes) > 1 and kind:
            typed = [c for c in codes if self.geo.wards[c].kind == kind]
            codes = typed or codes
        if len(codes) > 1:
            written = normalize(scan.text[scan.tokens[start].start : scan.tokens[end - 1].end])
            same = [
                c
                for c in codes
                if normalize(_bare_name(self.geo.wards[c].name)).startswith(written)
            ]
            codes = same if len(same) == 1 else codes
        return codes

    def _carry_over(
        self, hit: tuple[list[int], int, float], kind: str | None, provinces: set[int]
    ) -> dict[int, float]:
        """Old communes to their 2025 successors; a split one keeps every successor."""
        old_codes, _end, score = hit
        if len(old_codes) > 1 and kind:
            typed = [c for c in old_codes if self.geo.old_wards[c].kind == kind]
            old_codes = typed or old_codes
        scored: dict[int, float] = {}
        for old in old_codes:
            new_codes = self.geo.old_wards[old].new_codes
            if provinces:
                inside = tuple(c for c in new_codes if self.geo.wards[c].province_code in provinces)
                new_codes = inside or new_codes
            for rank, code in enumerate(new_codes):
                scored[code] = max(scored.get(code, 0.0), score - 0.01 * rank)
        return scored

    def unique_nationwide(
        self, scan: _Scan, start: int
    ) -> tuple[dict[int, float], tuple[int, int]] | None:
        """A bare name with no province: exact only, and long enough to mean something."""
        best = None
        for end in scan.spans(start):
            key = scan.span_key(start, end)
            codes = self.geo.wards_by_key.get(key) or self.geo.wards_by_key.get(_squeeze(key))
            if codes and (end - start > 1 or len(key) >= 5):
                best = ({c: 1.0 for c in codes}, (start, end))
        return best

    # ---- public -------------------------------------------------------------------------

    def resolve(
        self, text: str, *, latitude: float | None = None, longitude: float | None = None
    ) -> LocationResult:
        """The commune the text names; the shared point when the text names none."""
        try:
            result = self._resolve_text(text or "")
        except RecursionError:  # pragma: no cover - defensive: never raise on input
            result = NOTHING
        if result.ward_code is None and latitude is not None and longitude is not None:
            located = self.nearest(latitude, longitude)
            if located.ward_code is not None:
                return located
        return result

    def nearest(self, latitude: float, longitude: float) -> LocationResult:
        """The commune whose centroid is nearest a shared point, with a lowered confidence."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or math.isnan(latitude):
            return NOTHING
        lat, lon = math.radians(latitude), math.radians(longitude)
        best: list[tuple[float, int]] = []
        for code, wlat, wlon in self._centroids:
            a = (
                math.sin((wlat - lat) / 2) ** 2
                + math.cos(lat) * math.cos(wlat) * math.sin((wlon - lon) / 2) ** 2
            )
            best.append((12742.0 * math.asin(min(1.0, math.sqrt(a))), code))
        best.sort()
        if not best or best[0][0] > COORDINATE_MAX_KM:
            return NOTHING
        distance, code = best[0]
        province = self.geo.wards[code].province_code
        # Nearest centroids inside the province of the nearest one (centroids, not borders).
        same = [(d, c) for d, c in best[:10] if self.geo.wards[c].province_code == province]
        confidence = 0.6 if distance < 3 else 0.45 if distance < 10 else 0.3
        return LocationResult(
            province_code=province,
            ward_code=code,
            confidence=confidence,
            candidates=tuple(self._candidate(c, 1.0 - d / 50) for d, c in same[:3]),
            matched="coordinates",
            source="coordinates",
            notes=(f"nearest commune centroid {distance:.1f} km from the shared point",),
        )

    # ---- text ---------------------------------------------------------------------------

    def _resolve_text(self, text: str) -> LocationResult:
        # "THON 2_EANAM_EAHLEO": an underscore separates parts (and keeps offsets).
        text = unicodedata.normalize("NFC", text[:MAX_TEXT]).replace("_", ",")
        tokens = tokenize(text)
        if not tokens:
            return NOTHING
        scan = _Scan(self, text, tokens)
        result = scan.run()
        reading = self.reader.read(scan.keys, [t.breaks_before for t in tokens])
        return self._combine(result, reading, text, tokens)

    def _combine(
        self, result: LocationResult, reading: Reading | None, text: str, tokens: list[Token]
    ) -> LocationResult:
        """The chain reading where it names a commune; the marker pass where it agrees or
        where the chain leaves a choice it can settle."""
        if reading is None:
            return result
        if not reading.codes:
            if result.ward_code is None or reading.within is None:
                return result
            if result.ward_code in reading.within:
                return result
            # "Phường 3, TP. Cà Mau": the district named says elsewhere; not a guess.
            return LocationResult(
                result.province_code, None, 0.3, result.candidates, result.matched, "text"
            )
        if result.ward_code is not None and reading.codes == {result.ward_code}:
            return result
        start, end = reading.span
        matched = text[tokens[start].start : tokens[end - 1].end]
        cap = 0.9 if reading.parts >= 3 else 0.85
        return self._result({c: 1.0 for c in reading.codes}, matched, set(), cap)

    def _candidate(self, code: int, score: float) -> Candidate:
        ward = self.geo.wards[code]
        province = self.geo.provinces[ward.province_code]
        return Candidate(code, ward.province_code, ward.name, province.name, score)

    def _result(
        self,
        scored: dict[int, float],
        matched: str | None,
        provinces: set[int],
        confidence_cap: float = 0.95,
    ) -> LocationResult:
        ranked = sorted(scored.items(), key=lambda item: (-item[1], item[0]))
        candidates = tuple(self._candidate(code, score) for code, score in ranked[:10])
        if len(ranked) == 1:
            code, score = ranked[0]
            confidence = confidence_cap if score >= 1.0 else 0.8 * score
            return LocationResult(
                self.geo.wards[code].province_code,
                code,
                round(confidence, 3),
                candidates,
                matched,
                "text",
            )
        province_set = {self.geo.wards[c].province_code for c, _ in ranked}
        province = next(iter(province_set)) if len(province_set) == 1 else None
        if province is None and len(provinces) == 1:
            province = next(iter(provinces))
        return LocationResult(province, None, 0.3, candidates, matched, "text")


class _Scan:
    """One pass over one text: markers, provinces, districts, then communes."""

    def __init__(self, resolver: Resolver, text: str, tokens: list[Token]) -> None:
        self.r = resolver
        self.geo = resolver.geo
        self.text = text
        self.tokens = tokens
        self.keys = [t.key for t in tokens]
        self.n = len(tokens)
        self.street = self._streets()

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
        self.provinces: set[int] = (
            set().union(*(m.codes for m in provinces)) if provinces else set()
        )
        current = self.r.current_province_keys
        names = [self.span_key(m.start, m.end) for m in provinces]
        current_named = any(k in current or k in EXTRA_PROVINCE_ALIASES for k in names)
        old_named = any(k in self.geo.old_province_keys and k not in current for k in names)
        self.taken = {i for m in provinces for i in range(m.start, m.end)}
        districts = self._districts()
        self.taken |= {i for m in districts for i in range(m.start, m.end)}
        self.districts: set[int] = (
            set().union(*(m.codes for m in districts)) if districts else set()
        )
        self.old_first = bool(self.districts) or (old_named and not current_named)

        found = self._marked()
        cap = 0.95
        if found is None:
            found = self._unmarked()
            cap = 0.85
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
        return _agree(results)

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
        return _agree(results)


def _squeeze(key: str) -> str:
    """Doubled letters folded ("tthanh" -> "thanh"): a common slip of the thumb."""
    return re.sub(r"(\w)\1+", r"\1", key)


def _bare_name(name: str) -> str:
    """A unit's name without its type word."""
    for prefix in ("Thành phố ", "Thị trấn ", "Đặc khu ", "Phường ", "Xã ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _agree(
    results: list[tuple[dict[int, float], tuple[int, int]]],
) -> tuple[dict[int, float], tuple[int, int]] | None:
    """One answer from several mentions: the commune they share, else all of them."""
    if not results:
        return None
    if len(results) == 1:
        return results[0]
    common = set(results[0][0])
    for scored, _span in results[1:]:
        common &= set(scored)
    if common:
        merged = {c: max(r[0].get(c, 0.0) for r in results) for c in common}
        return merged, results[0][1]
    merged = {}
    for scored, _span in results:
        for code, score in scored.items():
            merged[code] = max(merged.get(code, 0.0), score)
    return merged, results[0][1]
