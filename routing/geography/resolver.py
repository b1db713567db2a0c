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
same length) turns the answer into candidates. Words typed without spaces
("phuongbenthanhquan1") are first cut into known names (segment.py); each of the cheapest
cuts is read, and the one whose parts nest best is kept. One commune is returned only when
nothing else fits as well; a wrong commune sends police to the wrong place, so ties come
back as candidates.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable

from routing.geography.data import Geography, name_key
from routing.geography.fuzzy import clear_best
from routing.geography.reading import Reader, Reading
from routing.geography.results import NOTHING, Candidate, LocationResult
from routing.geography.scan import FUZZY_IN_PROVINCE, _Scan
from routing.geography.segment import Segmenter, choose
from routing.geography.tokens import EXTRA_PROVINCE_ALIASES, Token, tokenize
from triage.text import normalize

MAX_TEXT = 8_000  # longer texts are cut: a place is named early, and time is bounded
FUZZY_NATIONWIDE = 0.94
MIN_FUZZY_KEY = 5
COORDINATE_MAX_KM = 40.0


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
        self.segmenter = Segmenter(self.reader, self.province_keys)

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
                hit = clear_best(query, list(choices), cutoff)
                if hit is None:
                    continue
                if best is None or hit[1] >= best[2]:  # equal: the longer span
                    best = (index[choices[hit[0]]], end, float(hit[1]))
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
        # "THON 2_EANAM_EAHLEO": an underscore separates parts; in "xa_son_my_huyen_ham_tan"
        # it stands for a space. Both are read where it occurs (a comma keeps offsets).
        text = unicodedata.normalize("NFC", text[:MAX_TEXT])
        bases = [text.replace("_", ",")] + ([text.replace("_", " ")] if "_" in text else [])
        texts = list(dict.fromkeys(t for base in bases for t in self.segmenter.texts(base)))
        if len(texts) == 1:
            return self._read(texts[0][0])[0]
        reads = [(*self._read(t), cost) for t, cost in texts]
        return choose(reads, lambda codes: self._result(dict.fromkeys(codes, 1.0), None, set()))

    def _read(self, text: str) -> tuple[LocationResult, Reading | None]:
        """One text read by the marker pass and the chain reading, combined."""
        tokens = tokenize(text)
        if not tokens:
            return NOTHING, None
        scan = _Scan(self, text, tokens)
        result = scan.run()
        reading = self.reader.read(scan.keys, [t.breaks_before for t in tokens])
        return self._combine(result, reading, text, tokens), reading

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
        codes = set(reading.codes)
        if result.ward_code is not None and result.confidence >= 0.9 and not reading.old:
            # "xã Long Hải, Long Điền, BRVT": a marked commune before the chain's 2025 one,
            # which may be an old district (merged, or gone from the lists): both stay.
            at = text.find(result.matched or "\0")
            if at >= 0 and at + len(result.matched or "") <= tokens[start].start:
                codes.add(result.ward_code)
        cap = 0.9 if reading.parts >= 3 else 0.85
        return self._result(dict.fromkeys(codes, 1.0), matched, set(), cap)

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


def _squeeze(key: str) -> str:
    """Doubled letters folded ("tthanh" -> "thanh"): a common slip of the thumb."""
    return re.sub(r"(\w)\1+", r"\1", key)


def _bare_name(name: str) -> str:
    """A unit's name without its type word."""
    for prefix in ("Thành phố ", "Thị trấn ", "Đặc khu ", "Phường ", "Xã ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name
