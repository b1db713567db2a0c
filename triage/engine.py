"""Score a tip: level, score, categories, trafficking purpose, route_to, victim, reasons.

Pure: everything it needs comes in as arguments (the compiled rules, the recipients table,
how many recent incidents concern the same place or person).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

from routing.policy import RecipientTable, recipients_for
from triage.rules import URGENCY, Category, Level, Purpose, RuleSet, Signal, expand

MAX_CHARS = 20_000  # a tip longer than this is scored on its first 20,000 characters
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
_GENDER_AFTER_AGE = re.compile(r"(?:tuoi|t)\s+(nam|nu)(?!\w)")
_GENERIC_CHILD = re.compile(r"(?<!\S)(tre|be|em|chau|dua|con|nho|hoc sinh)(?!\S)")


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
    """The tip in the form rules match on, with word positions."""

    flat: str
    starts: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, text: str, rules: RuleSet) -> _Text:
        flat = expand(text[:MAX_CHARS], rules.teencode)
        starts = [m.start() for m in re.finditer(r"\S+", flat)]
        return cls(flat, starts)

    def word_at(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self.starts, offset) - 1)

    def window(self, first: int, last: int) -> str:
        """The text of words first..last (inclusive, clipped)."""
        first = max(0, first)
        if first >= len(self.starts):
            return ""
        end = self.starts[last + 1] if last + 1 < len(self.starts) else len(self.flat)
        return self.flat[self.starts[first] : end]


def _fires(signal: Signal, text: _Text, rules: RuleSet) -> str | None:
    """The matched words when a signal fires, else None."""
    spec = signal.spec
    if signal.unless is not None and signal.unless.search(text.flat):
        return None
    if not all(group.search(text.flat) for group in signal.also):
        return None
    excluded = (
        [(m.start(), m.end()) for m in signal.exclude.finditer(text.flat)] if signal.exclude else []
    )
    for match in signal.any.finditer(text.flat):
        if any(s < match.end() and match.start() < e for s, e in excluded):
            continue
        first = text.word_at(match.start())
        last = text.word_at(max(match.start(), match.end() - 1))
        if spec.negatable and rules.negators.search(text.window(first - 3, first - 1)):
            continue
        nearby = text.window(first - spec.window, last + spec.window)
        if all(group.search(nearby) for group in signal.near):
            return match.group()
    return None


def _only(signal: Signal, text: _Text) -> str | None:
    """For `only` signals: fires when nothing but its phrases (or nothing at all) is said."""
    rest = signal.any.sub(" ", text.flat)
    leftover = [w for w in rest.split() if w not in {"a", "oi", "ah", "nhe", "nha", "ad", "admin"}]
    if not leftover and text.flat.strip():
        return text.flat.strip()[:60]
    return None


def _victim_age(text: _Text, rules: RuleSet, purpose: Purpose | None) -> tuple[int | None, int]:
    """The victim's age from stated numbers (several different ages: unknown), and where."""
    if purpose == Purpose.CHILD_SALE:
        newborn = rules.newborn.search(text.flat)
        if newborn:
            return 0, text.word_at(newborn.start())
    ages: list[tuple[int, int]] = []
    ranged = False
    for match in _AGE.finditer(text.flat):
        before = text.window(text.word_at(match.start()) - 1, text.word_at(match.start()) - 1)
        if before in {"lop", "nam", "ngoai", "hon", "tren"}:
            continue  # a school grade or "over 60": not the victim's stated age
        if match.group(2):
            ranged = True
            continue
        ages.append((int(match.group(1)), text.word_at(match.start())))
    children = [(a, p) for a, p in ages if a < 18]
    pool = children or ages
    distinct = {a for a, _ in pool}
    if ranged and not children:
        return None, -1
    if len(distinct) == 1 and not (ranged and len(children) == 0):
        return pool[0][0], pool[0][1]
    if not pool and rules.newborn.search(text.flat):
        newborn = rules.newborn.search(text.flat)
        assert newborn is not None
        return 0, text.word_at(newborn.start())
    return None, -1


def _victim_gender(text: _Text, rules: RuleSet, age_at: int) -> str | None:
    """The victim's sex from explicit words only; the word next to the stated age wins."""
    flat = text.flat
    if rules.gender_ignore is not None:
        flat = rules.gender_ignore.sub(lambda m: " " * len(m.group()), flat)
    cues: list[tuple[int, str]] = []
    for pattern, value in ((rules.female, "female"), (rules.male, "male")):
        for match in pattern.finditer(flat):
            cues.append((text.word_at(match.start()), value))
    after_age = _GENDER_AFTER_AGE.search(flat)
    if after_age:
        cues.append(
            (text.word_at(after_age.start()), "female" if after_age.group(1) == "nu" else "male")
        )
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
    for signal in rules.signals:
        matched = _only(signal, prepared) if signal.spec.only else _fires(signal, prepared, rules)
        if matched is not None:
            fired.append((signal, matched))
    superseded = {other for signal, _ in fired for other in signal.spec.supersedes}
    fired = [(s, m) for s, m in fired if s.spec.id not in superseded]
    reasons: list[Reason] = []
    if not prepared.flat.strip():
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
            level = Level.P4 if len(prepared.starts) > 3 else Level.SPAM
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
    if level in (Level.P4, Level.SPAM):
        age, age_at = None, -1  # no identifiable person at risk
    if victim_age is None:
        victim_age = age
    if victim_gender is None and level not in (Level.P4, Level.SPAM):
        victim_gender = _victim_gender(prepared, rules, age_at)

    if level == Level.P3:
        raise_to_p2 = None
        if victim_age is not None and victim_age < 6:
            raise_to_p2 = ("young_child", str(victim_age), "P3 -> P2: a victim younger than 6")
        elif (m := rules.disability.search(prepared.flat)) is not None:
            raise_to_p2 = ("disability", m.group(), "P3 -> P2: a person with a disability")
        elif repeat_count > 0:
            raise_to_p2 = ("repeat_report", str(repeat_count), "P3 -> P2: repeated tips")
        elif (m := rules.repeat_report.search(prepared.flat)) is not None:
            raise_to_p2 = ("repeat_report", m.group(), "P3 -> P2: repeated tips")
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
