"""Split words written without spaces ("phuongbenthanhquan1", "EANAM") into known parts.

A token that is no Vietnamese syllable is cut into pieces from a dictionary: the spaceless
names of the 2025 communes, the old communes, the old districts and the provinces, the unit
and hamlet markers ("xa", "phuong", "quan", "thon", "kp", "tdp", "p", "q") and numbers.
Fewer pieces is better (a long name beats two short ones); a syllable no list knows (a
hamlet's name) may stand in but costs more. The cheapest few segmentations are handed
back as rewritten texts ("phuong ben thanh, quan 1"), so the resolver can read each and
keep the one whose parts nest best.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import re
from collections.abc import Callable, Iterable

from routing.geography.data import name_keys
from routing.geography.parts import HAMLET_WORDS, PartReader
from routing.geography.reading import Reading
from routing.geography.results import LocationResult
from triage.text import fold

STREET_MARKERS = {"so", "duong", "hem", "ngo", "kiet", "ngach"}  # a house number follows
# Unit markers and the words before a hamlet's or a house's number, spaceless: a marker
# takes the name or number after it into its own address part.
MARKERS = {
    "xa", "phuong", "huyen", "quan", "thixa", "thitran", "thanhpho", "tinh", "tp", "tx",
    "tt", "dackhu", "khupho", "todanpho", "khuvuc", "ward", "commune", *STREET_MARKERS,
    *(w for w in HAMLET_WORDS if len(w) > 1),
}  # fmt: skip
# Words before a name no list knows (a hamlet's, a street's): only they may precede one.
NAMES_UNKNOWN_AFTER = {*(w for w in HAMLET_WORDS if len(w) > 1), "khupho", "todanpho", "duong"}
DISTRICT_WORDS = {"q", "quan", "h", "huyen", "tp", "tx", "thixa", "thanhpho"}  # "qgv", "tpbmt"
# After a name ("thoxuandistrict", "tanhungward"), or before a number ("district4").
POSTFIX = {"district", "dist", "province", "city", "street", "ward", "commune"}
SHORT_PROVINCES = {"hn", "sg", "dn"}  # only closing a word, after a name: "tanhoidanphuonghn"
COUNTRY = {"vietnam", "vn"}
SPACED = {
    "thixa": "thi xa", "thitran": "thi tran", "thanhpho": "thanh pho", "dackhu": "dac khu",
    "khupho": "khu pho", "todanpho": "to dan pho", "khuvuc": "khu vuc",
}  # fmt: skip
LETTER_MARKERS = {"p", "q", "f", "x", "h"}  # only before a number or a known name
MIN_NAME = 3  # letters in a name piece (shorter ones only as syllables after a marker)
MAX_NAME = 32
COST_NAME = 1.0
COST_MARKER = 1.0
COST_LETTER = 1.5
COST_NUMBER = 0.5
COST_UNKNOWN = 2.5  # a syllable no list knows: a hamlet's or a street's name
KEEP = 4  # segmentations kept per position
MARGIN = 1.0  # how much dearer than the cheapest a segmentation may be and still be read
MAX_TEXTS = 6  # rewritten texts read per text
MAX_CACHED = 20_000  # words whose cuts are kept (a word's cuts never change)
_SYLLABLE = re.compile(  # "f" for "ph" is common in chat ("fix", "fai")
    r"(ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdfghklmnprstvx])?"
    r"[aeiouy]{1,3}(ng|nh|ch|[cmnpt])?"
)
_WORD = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"(?<=[a-zà-ỹđ])(?=[A-ZÀ-ỸĐ])|(?<=[A-ZÀ-ỸĐ])(?=[A-ZÀ-ỸĐ][a-zà-ỹđ])")

Piece = tuple[str, str]  # kind (name, marker, number, house, unknown...), spaced text


class Segmenter:
    """The dictionary of spaceless names, and the rewriting of run-together words."""

    def __init__(self, parts: PartReader, province_keys: Iterable[str]) -> None:
        self.names: dict[str, str] = {}
        geo = parts.geo
        spaced = [
            *province_keys,
            *(k for w in geo.wards.values() for k in name_keys(w.name)),
            *(k for w in geo.old_wards.values() for k in name_keys(w.name)),
            *(k for d in geo.old_districts.values() for k in name_keys(d.name)),
            *parts.shorthand,
        ]
        self.initials = {k for by_kind in parts.district_initials.values() for k in by_kind}
        for key in spaced:
            flat = key.replace(" ", "")
            short = len(flat) == 2 and _SYLLABLE.fullmatch(flat)
            if not flat.isdigit() and (len(flat) >= MIN_NAME or short):
                self.names.setdefault(flat, key)  # "xy" of "xaxy": only after a marker
        self._cache: dict[tuple[str, bool], list[tuple[float, str]]] = {}
        # Old districts of one syllable ("Vinh", "Lắk"): may follow another name unmarked.
        self.one_syllable_districts = {
            k
            for d in geo.old_districts.values()
            for k in name_keys(d.name)
            if " " not in k and not k.isdigit()
        }

    def texts(self, text: str) -> list[tuple[str, float]]:
        """The text with its run-together words cut, cheapest first, with the extra cost;
        just the text when nothing is run together."""
        options: list[tuple[int, int, list[tuple[float, str]]]] = []
        for match in _WORD.finditer(text):
            word = match.group()
            if _is_plain(_fold_word(word)):
                continue
            dotted = text[match.end() : match.end() + 2]  # "f12q.tb", not "fix."
            cuts = self.segment(word, len(dotted) == 2 and dotted[0] == "." and dotted[1].isalnum())
            if cuts:
                options.append((match.start(), match.end(), cuts))
        if not options:
            return [(text, 0.0)]
        combos = itertools.islice(itertools.product(*(o[2] for o in options)), 64)
        rewritten = []
        for combo in combos:
            cost = sum(c for c, _ in combo)
            out, last = [], 0
            for (start, end, _), (_, spaced) in zip(options, combo, strict=True):
                out += [text[last:start], spaced]
                last = end
            out.append(text[last:])
            rewritten.append(("".join(out), cost))
        cheapest: dict[str, float] = {}
        for rewrite, cost in sorted(rewritten, key=lambda item: item[1]):
            cheapest.setdefault(rewrite, cost)  # "ward" read as marker or postfix: one text
        best = min(cheapest.values())
        return [(t, c - best) for t, c in cheapest.items() if c <= best + MARGIN][:MAX_TEXTS]

    def segment(self, word: str, open_end: bool = False) -> list[tuple[float, str]]:
        """The cheapest segmentations of one word, as spaced text; [] when none is
        worth reading (no known name in it, or only unknown syllables). `open_end`: a dot
        follows ("f12q.tb"), so the word may end in a marker."""
        cached = self._cache.get((word, open_end))
        if cached is not None:
            return cached
        if len(self._cache) > MAX_CACHED:
            self._cache.clear()
        found = self._segment(word, open_end)
        self._cache[(word, open_end)] = found
        return found

    def _segment(self, word: str, open_end: bool) -> list[tuple[float, str]]:
        folded = _fold_word(word)
        if not folded.isascii() or len(folded) > 80:
            return []
        cuts = _allowed_cuts(word, folded)
        found: list[tuple[float, str]] = []
        for cost, pieces in self._best(folded, cuts, open_end):
            names = [p for p in pieces if p[0] == "name"]
            if not names and not _marked_number(pieces):
                continue
            if pieces[-1][0] in ("letter", "marker") and not open_end:
                continue
            if len(pieces) < 2 and (
                folded == pieces[0][1] or min(map(len, pieces[0][1].split())) < 2
            ):
                continue  # "hcm"; "Blà" is no "B'La" cut in two
            found.append((cost, _join(pieces)))
        return found

    def _best(
        self, s: str, cuts: set[int] | None, open_end: bool
    ) -> list[tuple[float, tuple[Piece, ...]]]:
        """K-best segmentations of `s` by total cost (dynamic programming over positions)."""
        n = len(s)
        table: list[list[tuple[float, tuple[Piece, ...]]]] = [[] for _ in range(n + 1)]
        table[0] = [(0.0, ())]
        for i in range(n):
            if not table[i] or (cuts is not None and i not in cuts):
                continue
            for j, piece, cost in self._pieces(s, i, open_end):
                if cuts is not None and j not in cuts and j != n:
                    continue
                for base, pieces in table[i]:
                    previous = pieces[-1] if pieces else None
                    if previous is None or previous[1] in STREET_MARKERS:
                        piece = ("house", piece[1]) if piece[0] == "number" else piece
                    if _may_follow(previous, piece) or self._district_after_name(previous, piece):
                        table[j].append((base + cost, (*pieces, piece)))
            for j in range(i + 1, n + 1):
                if len(table[j]) > KEEP:
                    table[j] = heapq.nsmallest(KEEP, table[j], key=lambda e: e[0])
        return sorted(table[n], key=lambda e: e[0])[:KEEP]

    def _district_after_name(self, previous: Piece | None, piece: Piece) -> bool:
        """ "cuanamvinhnghean": a one-syllable old district right after a commune's name."""
        return (
            previous is not None
            and previous[0] == "name"
            and piece[0] == "name"
            and piece[1] in self.one_syllable_districts
        )

    def _pieces(self, s: str, i: int, open_end: bool) -> Iterable[tuple[int, Piece, float]]:
        if s[i].isdigit():
            j = i
            while j < len(s) and s[j].isdigit():
                j += 1
            yield j, ("number", s[i:j].lstrip("0") or "0"), COST_NUMBER
        for j in range(i + 1, min(len(s), i + MAX_NAME) + 1):
            chunk = s[i:j]
            spaced = self.names.get(chunk)  # "daian2", "1baoloc": numbers in names too
            if spaced is not None:
                yield j, ("name", spaced), COST_NAME
            if not chunk.isalpha():
                continue
            if chunk in MARKERS:
                yield j, ("marker", chunk), COST_MARKER
            if chunk in POSTFIX:
                yield j, ("post", chunk), COST_MARKER
            if chunk in COUNTRY:
                yield j, ("country", chunk), COST_MARKER
            if chunk in self.initials:
                yield j, ("initials", chunk), COST_NAME
            if chunk in LETTER_MARKERS and (j < len(s) or open_end):
                yield j, ("letter", chunk), COST_LETTER
            if chunk in SHORT_PROVINCES and j == len(s) and i > 0:
                yield j, ("name", chunk), COST_NAME
            if spaced is None and _SYLLABLE.fullmatch(chunk):
                yield j, ("unknown", chunk), COST_UNKNOWN


@functools.lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    """One word folded (words repeat: kept)."""
    return word.lower() if word.isascii() else fold(word)


@functools.lru_cache(maxsize=65536)
def _is_plain(folded: str) -> bool:
    """A word that needs no cutting: one syllable, or a number."""
    return folded.isdigit() or bool(_SYLLABLE.fullmatch(folded)) or len(folded) < 3


def _allowed_cuts(word: str, folded: str) -> set[int] | None:
    """Where "BenThanhQuan1" may be cut: at its capitals and its digits; None when the
    case says nothing (all lower or all upper case)."""
    if word.islower() or word.isupper() or len(word) != len(folded):
        return None
    cuts = {m.start() for m in _CAMEL.finditer(word)}
    if len(cuts) < 2:
        return None
    cuts |= {i for i in range(1, len(word)) if word[i].isdigit() != word[i - 1].isdigit()}
    return cuts | {0, len(word)}


def _marked_number(pieces: tuple[Piece, ...]) -> bool:
    """ "kp3", "phuong12": a marker and its number, worth reading without a name."""
    return any(
        a[0] in ("marker", "letter", "post") and b[0] == "number"
        for a, b in itertools.pairwise(pieces)
    ) and all(p[0] != "unknown" for p in pieces)


def _may_follow(previous: Piece | None, piece: Piece) -> bool:
    """What may stand next to what inside one word: a syllable no list knows only after a
    hamlet's or street's marker, a one-syllable name only after a marker, a number after
    "số", a name or number after a one-letter marker ("p15", "qgovap")."""
    kind, text = piece
    before = previous[0] if previous else None
    if before == "letter" and kind not in ("name", "number", "initials"):
        return False
    if piece == ("letter", "h") and before in ("number", "house"):
        return False  # "4h30" is a time
    if previous == ("marker", "so") and kind != "number":
        return False
    if kind == "initials":
        return previous is not None and previous[1] in DISTRICT_WORDS
    if kind == "unknown":
        return before in ("unknown", "house") or (
            previous is not None and before == "marker" and previous[1] in NAMES_UNKNOWN_AFTER
        )
    if kind == "name" and " " not in text and _SYLLABLE.fullmatch(text) and text != "hue":
        return before in ("marker", "letter")  # Huế is the one province of one syllable
    return True


def _join(pieces: tuple[Piece, ...]) -> str:
    """ "phuong ben thanh, quan 1": a marker opens an address part; names and numbers
    after a name each stand in their own part."""
    out: list[str] = []
    previous = None
    street = False  # after a house number: its street's name, one name or unknown syllables
    for kind, text in pieces:
        if previous is not None:
            attached = (
                previous in ("marker", "letter", "house")
                or kind == "post"
                or (previous == "unknown" and kind == "unknown")
                or (street and previous == "unknown" and kind == "name")
                or (previous == "post" and kind == "number")
            )
            out.append(" " if attached else ", ")
        street = kind == "house" or (street and kind == "unknown")
        out.append(SPACED.get(text, text) if kind == "marker" else text)
        previous = kind
    return "".join(out)


Read = tuple[LocationResult, Reading | None, float]  # a rewritten text's answer and cost


def choose(reads: list[Read], merge: Callable[[set[int]], LocationResult]) -> LocationResult:
    """Of the readings of several segmentations, the one whose parts nest best (the longest
    chain), then the cheapest; where equally good ones disagree, their candidates."""

    def rank(read: Read) -> tuple[int, float]:
        result, reading, cost = read
        return (reading.parts if reading is not None and reading.codes else 0), -cost

    top = max(rank(r) for r in reads)
    best = [r for r in reads if rank(r) == top]
    if len({r[0].ward_code for r in best}) == 1:
        return best[0][0]
    return merge({c.ward_code for r in best for c in r[0].candidates})
