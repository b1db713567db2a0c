"""Read a tip clause by clause: where clauses end, what a negation covers, when things happen.

Everything works on the folded tokens of `triage.phrases` (no diacritics, teencode
expanded, punctuation as BREAK); where the folded form is ambiguous ("nhung" is both
"nhưng" but and "những" the plural, "ma" both "mà" and "má" mum) the tipster's own
diacritics decide when they wrote them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from triage.phrases import BREAK

_REPEAT = re.compile(r"([a-z])\1+")


def squeezed(word: str) -> str:
    """A word as the tokens have it: letters held down are squeezed ("tomorrow" -> "tomorow")."""
    return _REPEAT.sub(r"\1", word)


class When(StrEnum):
    """When what a clause tells happens, as far as the words say."""

    NOW = "now"  # happening now
    SOON = "soon"  # within hours: tonight, tomorrow morning, at 9 p.m.
    LATER = "later"  # planned, not within hours: next week, next month
    REPEATED = "repeated"  # keeps happening: every day, often
    PAST = "past"  # over: last week, last year, as a child
    UNKNOWN = "unknown"


# Contrast words start a new clause: "không bị nhốt, nhưng ..." keeps the negation left.
_CONTRAST = {"tuy", "but", "though", "although", "however", "whereas", "while"}
# Folded words that are a contrast only when written so or followed by a clause.
_AMBIGUOUS = {"nhung": "nhưng", "ma": "mà", "con": "còn"}
_PLURAL_NEXT = {
    "dua", "nguoi", "em", "ban", "dieu", "chau", "con", "ngay", "lan", "thu", "cai", "vu",
    "tre", "be", "co", "chi", "anh", "tin", "hinh", "nam", "thang",
}  # fmt: skip
NEGATORS = {
    "khong", "chua", "chang", "never", "not", "no", "dont", "didnt", "isnt", "wasnt",
    "nobody", "noone", "nothing", "without", "neither", "nor", "doesnt", "hasnt", "havent",
    # "isn't" is read as "isn" "t": the stem is the negator ("don" is "đón", not here).
    "isn", "wasn", "didn", "doesn", "hasn", "haven", "aren", "weren", "couldn", "wouldn",
}  # fmt: skip
NEGATORS = {squeezed(w) for w in NEGATORS}
# "không biết ai đang đánh" does not deny the beating: these verbs take the negation.
_NEGATION_TAKERS = {
    "biet", "ro", "hieu", "chac", "nho", "dam", "the", "muon", "sure", "know", "only",
    "lau", "sao", "duoc", "can",
}  # fmt: skip
_NEGATION_TAKERS = {squeezed(w) for w in _NEGATION_TAKERS}
_NEGATION_REACH = 6
# A reason or result ends what a negation covers: "không dám về vì bố đánh".
_SCOPE_ENDS = {"vi", "nen", "because", "so", "de", "thi", "con", "ma"}
_CONTRAST = {squeezed(w) for w in _CONTRAST}

_TIME_PHRASES: list[tuple[tuple[str, ...], When]] = [
    (tuple(squeezed(p).split()), when)
    for when, phrases in (
        (
            When.NOW,
            "dang|ngay bay gio|bay gio|luc nay|hien gio|hien tai|ngay luc nay|vua moi|vua xong|"
            "keu cuu|dang o|right now|now|currently|is being|are being|at the moment|"
            "still|van dang|van con|tu sang den gio|tu hom qua den gio|chua ve|"
            "hien dang|dang bi|ngay luc nay|vao luc nay|ngoai cua|is happening|phut nay|phut truoc|"
            "tu hom qua|tu sang|tu toi qua|tu dem qua|tu chieu|may hom nay|may ngay nay|vua|"
            "tieng nay|"
            + "|".join(f"{n} hom nay|{n} ngay nay|{n} dem nay" for n in range(1, 11))
            + "|"
            "since yesterday|since this morning|minutes ago",
        ),
        (
            When.SOON,
            "toi nay|dem nay|trua nay|chieu nay|sang mai|toi mai|chieu mai|ngay mai|"
            "sap|chuan bi|sap sua|lat nua|ti nua|chut nua|tonight|tomorrow|this evening|"
            "about to|in an hour|sang som mai|mai se|se don|se dua|se giao|se ban|mai sang|"
            "in a moment|any minute|"
            "mai toi|this afternoon|this morning|eta|later today|in a few hours|"
            "khoi hanh|xuat phat|nua dem",
        ),
        (
            When.LATER,
            "tuan sau|thang sau|nam sau|tuan toi|thang toi|next week|next month|next year|"
            "sau tet|vai tuan nua|vai thang nua|cuoi thang|thang sau nua|vai ngay nua|may ngay nua|"
            "het mua|next weekend|end of the month|in a few days|in a week|in two weeks",
        ),
        (
            When.REPEATED,
            "thuong xuyen|lien tuc|hang ngay|ngay nao cung|moi ngay|hang dem|dem nao cung|"
            "nhieu lan|suot|often|every day|every night|again and again|many times|"
            "tuan nao cung|thang nao cung|lan nao cung|toi nao cung|sang nao cung|chieu nao cung|"
            "every evening|each night|every week|hoai|cu say la|moi lan|regularly|den gio|"
            "several times|times a month|times a week|for months|over several months|"
            "for weeks|over months|mot thang may lan|tuan may lan|nhieu thang",
        ),
        (
            # The time of the telling, not of what is told: "vừa kể đã bị xâm hại từ lớp 2".
            When.UNKNOWN,
            "vua ke|vua noi|vua bao|vua khai|vua tam su|vua thu nhan|moi ke|moi noi|"
            "dang ke|just told|just said|just disclosed|has just told|is telling",
        ),
        (
            When.PAST,
            "tuan truoc|thang truoc|nam ngoai|nam truoc|nam roi|hoi nho|hoi truoc|truoc day|"
            "ngay xua|da tung|tung bi|hom truoc|hom qua|dem qua|toi qua|last week|last month|"
            "last year|years ago|when i was|as a child|used to|yesterday|hoi do|luc do|"
            "khi xua|may nam truoc|nam nao|da xong|da qua|hoi hoc|hoi con|luc nho|khi con nho|"
            "hoi lop|nam lop|when he was|when she was|da lien|vet cu|seo cu|tu nam|hoi dau nam|"
            "dau nam|hoi thang|hoi tuan|hoi tet|hoi he|in march|in may|last spring|"
            "co mot lan|tung co lan|once before|one time|last summer|last winter|last autumn|"
            "last fall|months ago|weeks ago|a year ago",
        ),
    )
    for p in phrases.split("|")
]
# One-word times whose folded form is also another word: "đang" (now) but "đáng" (worth),
# "Đặng" (a name); "sắp" but "sạp" (a stall). Written with diacritics, only the first counts.
_TIME_SENSE = {"dang": "đang", "sap": "sắp", "vua": "vừa", "suot": "suốt", "hoai": "hoài"}
_CLOCK = re.compile(r"^\d{1,2}(h|g|pm)?$")
_TIME_FIRST: dict[str, list[tuple[tuple[str, ...], When]]] = {}
for _phrase, _when in sorted(_TIME_PHRASES, key=lambda pw: -len(pw[0])):
    _TIME_FIRST.setdefault(_phrase[0], []).append((_phrase, _when))


@dataclass(frozen=True)
class Clause:
    """Tokens start..end of one clause, and when it happens."""

    start: int
    end: int
    when: When
    stated: bool = True  # the clause says its time itself (else it takes the tip's)


def _written(original: str, spans: list[tuple[int, int]], index: int) -> str:
    if index >= len(spans):
        return ""
    start, end = spans[index]
    return original[start:end].lower()


def _is_contrast(tokens: list[str], i: int, original: str, spans: list[tuple[int, int]]) -> bool:
    token = tokens[i]
    if token in _CONTRAST:
        return not (token == "tuy" and i > 0 and tokens[i - 1] == "ma")  # "ma túy": drugs
    accented = _AMBIGUOUS.get(token)
    if accented is None or (token == "con" and i > 0 and tokens[i - 1] in NEGATORS):
        return False  # "không còn": no longer, not a contrast
    written = _written(original, spans, i)
    if written and not written.isascii():
        return written == accented
    following = tokens[i + 1] if i + 1 < len(tokens) else BREAK
    if token == "nhung":
        return following not in _PLURAL_NEXT
    if token == "ma":  # "mà" after a word; "má" (mum) opens a clause; "ma túy" is drugs
        return i > 0 and tokens[i - 1] != BREAK and following not in {"tuy", "BREAK", BREAK}
    return False  # "con" without diacritics is the child far more often than "còn"


def split(
    tokens: list[str], original: str = "", spans: list[tuple[int, int]] | None = None
) -> list[tuple[int, int]]:
    """Clauses as token ranges: punctuation, line breaks and contrast words end a clause."""
    spans = spans or []
    bounds: list[tuple[int, int]] = []
    start = 0
    for i, token in enumerate(tokens):
        if token == BREAK:
            if i > start:
                bounds.append((start, i))
            start = i + 1
        elif i > start and _is_contrast(tokens, i, original, spans):
            bounds.append((start, i))
            start = i
    if len(tokens) > start:
        bounds.append((start, len(tokens)))
    return bounds


def negated(tokens: list[str], start: int, clause_start: int) -> bool:
    """True when a negator earlier in the same clause covers the word at `start`."""
    lo = max(clause_start, start - _NEGATION_REACH)
    for i in range(start - 1, lo - 1, -1):
        token = tokens[i]
        no_longer = token == "con" and i > 0 and tokens[i - 1] in NEGATORS  # "không còn"
        if token in _SCOPE_ENDS and i < start - 1 and not no_longer:
            return False
        if token in NEGATORS:
            following = tokens[i + 1] if i + 1 < len(tokens) else ""
            return not (following in _NEGATION_TAKERS and i + 1 < start)
    return False


def when(
    tokens: list[str],
    start: int,
    end: int,
    original: str = "",
    spans: list[tuple[int, int]] | None = None,
) -> When:
    """The most urgent time expression inside tokens start..end."""
    found: set[When] = set()
    i = start
    while i < end:
        token = tokens[i]
        matched = False
        candidates = _TIME_FIRST.get(token, ())
        if token in _TIME_SENSE and not _in_sense(token, _written(original, spans or [], i)):
            candidates = ()
        for phrase, kind in candidates:
            if tuple(tokens[i : i + len(phrase)]) == phrase and i + len(phrase) <= end:
                negated_now = (
                    kind == When.NOW and token == "dang" and _after_negator(tokens, i, start)
                )
                if kind != When.UNKNOWN and not negated_now:
                    found.add(kind)
                i += len(phrase) - 1
                matched = True
                break
        if not matched and _CLOCK.match(token) and _clock_soon(tokens, i, end):
            found.add(When.SOON)
        elif not matched and _every(tokens, i, end):
            found.add(When.REPEATED)
        i += 1
    for kind in (When.NOW, When.SOON, When.REPEATED, When.LATER, When.PAST):
        if kind in found:
            return kind
    return When.UNKNOWN


_PERIODS = {"toi", "dem", "hom", "ngay", "sang", "chieu", "tuan", "thang", "lan", "bua"}


def _every(tokens: list[str], i: int, end: int) -> bool:
    """ "tối nào (say về) cũng ...": every evening, with words between."""
    return (
        tokens[i] in _PERIODS
        and i + 1 < end
        and tokens[i + 1] == "nao"
        and "cung" in tokens[i + 2 : min(end, i + 7)]
    )


def _in_sense(token: str, written: str) -> bool:
    """A one-word time counts unless the tipster's diacritics make it another word."""
    return not written or written.isascii() or written == _TIME_SENSE[token]


def _clock_soon(tokens: list[str], i: int, end: int) -> bool:
    """ "9h tối", "21 giờ đêm", "10pm": a clock time of the coming night is within hours."""
    token = tokens[i]
    rest = tokens[i + 1 : min(end, i + 4)]
    if token[-1].isdigit():
        if not rest or rest[0] not in {"h", "gio", "pm"}:
            return False
        rest = rest[1:]
    return bool(rest) and rest[0] in {"toi", "dem", "chieu", "tonight", "pm"}


def _after_negator(tokens: list[str], i: int, start: int) -> bool:
    return i > start and tokens[i - 1] in NEGATORS


def clauses(
    tokens: list[str], original: str = "", spans: list[tuple[int, int]] | None = None
) -> list[Clause]:
    """Clauses with their time; a clause that says no time takes its sentence's, else the
    tip's (the most urgent stated)."""
    bounds = split(tokens, original, spans)
    times = [when(tokens, s, e, original, spans) for s, e in bounds]
    sentence = _sentences(tokens, bounds, original, spans or [])
    by_sentence: dict[int, When] = {}
    for number, kind in zip(sentence, times, strict=True):
        if kind != When.UNKNOWN:
            by_sentence[number] = _most_urgent(by_sentence.get(number, When.UNKNOWN), kind)
    tip_time = When.UNKNOWN
    for kind in times:
        tip_time = _most_urgent(tip_time, kind)
    return [
        Clause(s, e, t, True)
        if t != When.UNKNOWN
        else Clause(s, e, by_sentence.get(number, tip_time), False)
        for (s, e), t, number in zip(bounds, times, sentence, strict=True)
    ]


_ORDER = (When.NOW, When.SOON, When.REPEATED, When.LATER, When.PAST, When.UNKNOWN)


def _most_urgent(a: When, b: When) -> When:
    return a if _ORDER.index(a) <= _ORDER.index(b) else b


def _sentences(
    tokens: list[str],
    bounds: list[tuple[int, int]],
    original: str,
    spans: list[tuple[int, int]],
) -> list[int]:
    """The sentence number of each clause: a full stop, ! ? or a line break ends one."""
    numbers = []
    number = 0
    previous_end = 0
    for start, end in bounds:
        for i in range(previous_end, start):
            if tokens[i] == BREAK and i < len(spans):
                mark = original[spans[i][0] : spans[i][1]]
                if mark in (".", "!", "?", "\n"):
                    number += 1
        numbers.append(number)
        previous_end = end
    return numbers


def clause_at(found: list[Clause], position: int) -> Clause | None:
    """The clause holding token `position`."""
    for clause in found:
        if clause.start <= position < clause.end:
            return clause
    return None
