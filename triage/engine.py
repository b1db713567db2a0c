"""Score a tip: level, score, categories, trafficking purpose, route_to, victim, reasons.

Pure: everything it needs comes in as arguments (the compiled rules, the recipients table,
how many recent incidents concern the same place or person).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from routing.policy import RecipientTable, recipients_for
from triage.phrases import BREAK, tokens_and_spans
from triage.rules import URGENCY, Category, Level, Purpose, RuleSet, Signal

MAX_CHARS = 10_000  # a tip longer than this is scored on its first 10,000 characters
PURPOSE_ORDER = [
    Purpose.CHILD_SALE,
    Purpose.SEXUAL_EXPLOITATION,
    Purpose.FORCED_MARRIAGE,
    Purpose.ORGAN_REMOVAL,
    Purpose.FORCED_LABOUR,
    Purpose.COMMERCIAL_SURROGACY,
    Purpose.UNKNOWN,
]
_AGE = re.compile(
    r"(?<![\w-])(\d{1,2})(?:(?:\s*(?:-|den|va|hoac|toi)\s*|\s+)(\d{1,2}))?\s*"
    r"(?:tuoi|t|year old|years old|yo)(?!\w)"
)


@dataclass(frozen=True)
class Reason:
    """A rule that fired and the words that made it fire."""

    rule: str
    matched: str
    effect: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "matched": self.matched, "effect": self.effect}


@dataclass(frozen=True)
class TriageResult:
    """What triage concluded about one tip, with the reasons."""

    level: Level
    score: float
    categories: tuple[Category, ...]
    trafficking_purpose: Purpose | None
    route_to: tuple[str, ...]
    reasons: tuple[Reason, ...]
    victim_age: int | None = None
    victim_gender: str | None = None

    def to_json(self, record_id: object) -> dict[str, Any]:
        """The `hotline111 triage` output line."""
        return {
            "id": record_id,
            "level": str(self.level),
            "score": round(self.score, 1),
            "categories": [str(c) for c in self.categories],
            "trafficking_purpose": str(self.trafficking_purpose)
            if self.trafficking_purpose
            else None,
            "route_to": list(self.route_to),
            "reasons": [r.to_json() for r in self.reasons],
            "victim_age": self.victim_age,
            "victim_gender": self.victim_gender,
        }


@dataclass
class _Text:
    """The tip as tokens, with every phrase of the rule file already found in it."""

    tokens: list[str]
    found: dict[int, list[tuple[int, int]]]
    original: str
    spans: list[tuple[int, int]]

    @classmethod
    def of(cls, text: str, rules: RuleSet) -> _Text:
        original = unicodedata.normalize("NFC", text[:MAX_CHARS])
        tokens, spans = tokens_and_spans(original, rules.index.teencode)
        return cls(tokens, rules.index.find(tokens), original, spans)

    @property
    def flat(self) -> str:
        return " ".join(self.tokens)

    def phrase(self, start: int, end: int) -> str:
        """The words the tipster wrote for tokens start..end (as written)."""
        if end <= start or end > len(self.spans):
            return " ".join(self.tokens[start:end])
        return self.original[self.spans[start][0] : self.spans[end - 1][1]]


def _fires(signal: Signal, text: _Text, rules: RuleSet) -> str | None:
    """The matched words when a signal fires, else None."""
    spec, found = signal.spec, text.found
    if signal.unless is not None and signal.unless.any_in(found):
        return None
    if not all(g.any_in(found) for g in signal.also):
        return None
    excluded = signal.exclude.spans(found) if signal.exclude is not None else []
    for start, end in signal.any.spans(found):
        if any(s < end and start < e for s, e in excluded):
            continue
        if spec.negatable and rules.negators.any_in(found, start - 3, start):
            continue
        lo, hi = start - spec.window, end + spec.window
        if all(g.any_in(found, lo, hi) for g in signal.near):
            return text.phrase(start, end)
    return None


def _only(signal: Signal, text: _Text) -> str | None:
    """For `only` signals: fires when nothing but its phrases (or fillers) is said."""
    covered: set[int] = set()
    for start, end in signal.any.spans(text.found):
        covered.update(range(start, end))
    leftover = [t for i, t in enumerate(text.tokens) if i not in covered and t not in _FILLERS]
    if covered and not leftover:
        return text.flat[:60]
    return None


_FILLERS = {
    BREAK,
    "a",
    "oi",
    "ah",
    "nhe",
    "nha",
    "ad",
    "admin",
    "ha",
    "co",
    "ai",
    "khong",
    "em",
    "anh",
}


def _victim_age(text: _Text, rules: RuleSet, purpose: Purpose | None) -> tuple[int | None, int]:
    """The victim's age from stated numbers (several different ages: unknown), and where."""
    newborn = rules.newborn.spans(text.found)
    if purpose == Purpose.CHILD_SALE and newborn:
        return 0, newborn[0][0]
    flat = text.flat
    starts = _word_starts(flat)
    ages: list[tuple[int, int]] = []
    ranged = False
    for match in _AGE.finditer(flat):
        position = bisect.bisect_right(starts, match.start()) - 1
        if position > 0 and text.tokens[position - 1] in {"lop", "nam", "ngoai", "hon", "tren"}:
            continue  # a school grade or "over 60": not the victim's stated age
        if match.group(2):
            ranged = True
            continue
        ages.append((int(match.group(1)), position))
    children = [(a, p) for a, p in ages if a < 18]
    pool = children or ages
    if ranged and not children:
        return None, -1
    if len({a for a, _ in pool}) == 1:
        return pool[0]
    if not pool and newborn:
        return 0, newborn[0][0]
    return None, -1


def _youngest_child(text: _Text) -> int | None:
    """The youngest stated age under 18 (several children: the modifier looks at the youngest)."""
    ages = [int(m.group(1)) for m in _AGE.finditer(text.flat) if int(m.group(1)) < 18]
    return min(ages) if ages else None


def _word_starts(flat: str) -> list[int]:
    return [m.start() for m in re.finditer(r"\S+", flat)]


def _victim_gender(text: _Text, rules: RuleSet, age_at: int) -> str | None:
    """The victim's sex from explicit words only; the word next to the stated age wins."""
    ignored = rules.gender_ignore.spans(text.found) if rules.gender_ignore else []
    cues: list[tuple[int, str]] = []
    for cue_group, value in ((rules.female, "female"), (rules.male, "male")):
        for start, end in cue_group.spans(text.found):
            if not any(s < end and start < e for s, e in ignored):
                cues.append((start, value))
    for i in range(1, len(text.tokens)):
        before = text.tokens[i - 2] if text.tokens[i - 1] == BREAK and i > 1 else text.tokens[i - 1]
        if text.tokens[i] in {"nam", "nu"} and before in {"tuoi", "t"}:
            cues.append((i, "female" if text.tokens[i] == "nu" else "male"))
    if age_at >= 0:
        close = [(abs(age_at - pos), value) for pos, value in cues if -2 <= age_at - pos <= 4]
        if close:
            return min(close)[1]
    values = {value for _, value in cues}
    return values.pop() if len(values) == 1 else None


def classify(
    text: str,
    *,
    rules: RuleSet,
    recipients: RecipientTable | None = None,
    repeat_count: int = 0,
    victim_age: int | None = None,
    victim_gender: str | None = None,
    channel: str | None = None,
) -> TriageResult:
    """Triage one tip by the rules; never raises on any text."""
    prepared = _Text.of(text or "", rules)
    fired: list[tuple[Signal, str]] = []
    candidates = sorted({i for p in prepared.found for i in rules.by_phrase.get(p, ())})
    for position in candidates:
        signal = rules.signals[position]
        matched = _only(signal, prepared) if signal.spec.only else _fires(signal, prepared, rules)
        if matched is not None:
            fired.append((signal, matched))
    superseded = {other for signal, _ in fired for other in signal.spec.supersedes}
    fired = [(s, m) for s, m in fired if s.spec.id not in superseded]
    reasons: list[Reason] = []
    if not prepared.tokens:
        reasons.append(Reason("empty", "", "level SPAM: nothing to act on"))
        return TriageResult(
            Level.SPAM, 0.0, (Category.OTHER,), None, (), tuple(reasons), victim_age, victim_gender
        )

    pranks = [(s, m) for s, m in fired if s.spec.prank]
    harm = [(s, m) for s, m in fired if s.spec.level in (Level.P1, Level.P2, Level.P3)]
    if pranks:
        chosen = pranks
        level = Level.SPAM
    elif harm:
        chosen = harm
        level = max((s.spec.level for s, _ in harm), key=URGENCY.__getitem__)
    else:
        rest = [(s, m) for s, m in fired if s.spec.level in (Level.P4, Level.SPAM)]
        spam = [(s, m) for s, m in rest if s.spec.level == Level.SPAM]
        chosen = spam or rest
        level = Level.SPAM if spam else Level.P4
        if not rest:
            words_said = [t for t in prepared.tokens if t != BREAK]
            level = Level.P4 if len(words_said) > 3 else Level.SPAM
    for signal, matched in chosen:
        reasons.append(Reason(signal.spec.id, matched, f"level {signal.spec.level}"))

    categories: list[Category] = []
    purposes: set[Purpose] = set()
    for signal, _ in chosen:
        for category in signal.spec.categories:
            if category not in categories:
                categories.append(category)
        if signal.spec.purpose:
            purposes.add(signal.spec.purpose)
    if not categories:
        categories = [Category.INFORMATION if level == Level.P4 else Category.OTHER]

    purpose = None
    if Category.TRAFFICKING in categories:
        purpose = next((p for p in PURPOSE_ORDER if p in purposes), Purpose.UNKNOWN)

    age, age_at = _victim_age(prepared, rules, purpose)
    youngest = _youngest_child(prepared)
    if level in (Level.P4, Level.SPAM):
        age, age_at = None, -1  # no identifiable person at risk
    if victim_age is None:
        victim_age = age
    if victim_gender is None and level not in (Level.P4, Level.SPAM):
        victim_gender = _victim_gender(prepared, rules, age_at)

    if level == Level.P3:
        raise_to_p2 = None
        young = victim_age if victim_age is not None else youngest
        if young is not None and young < 6:
            raise_to_p2 = ("young_child", str(young), "P3 -> P2: a victim younger than 6")
        elif spans := rules.disability.spans(prepared.found):
            matched = prepared.phrase(*spans[0])
            raise_to_p2 = ("disability", matched, "P3 -> P2: a person with a disability")
        elif repeat_count > 0:
            raise_to_p2 = ("repeat_report", str(repeat_count), "P3 -> P2: repeated tips")
        elif spans := rules.repeat_report.spans(prepared.found):
            matched = prepared.phrase(*spans[0])
            raise_to_p2 = ("repeat_report", matched, "P3 -> P2: repeated tips")
        if raise_to_p2:
            level = Level.P2
            reasons.append(Reason(*raise_to_p2))

    score = sum(s.spec.weight for s, _ in chosen) + 10 * URGENCY[level]
    table = recipients or rules.recipients
    route = tuple(recipients_for([str(c) for c in categories], str(level), table))
    return TriageResult(
        level,
        float(score),
        tuple(categories),
        purpose,
        route,
        tuple(reasons),
        victim_age,
        victim_gender,
    )
