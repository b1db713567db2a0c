"""A tip read once: folded tokens, the rule file's phrases found in them, its clauses.

Rules, concepts and the model all work on this one reading, so a tip is folded and
tokenized once. Also here: whether a rule's signal fires on it (negation by clause).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from triage.clauses import Clause, clause_at, clauses, negated
from triage.model import Scores
from triage.phrases import BREAK, Group, tokens_and_spans
from triage.rules import RuleSet, Signal

MAX_CHARS = 10_000  # a tip longer than this is scored on its first 10,000 characters


@dataclass
class Tip:
    """The tip as tokens, with every phrase of the rule file already found in it."""

    tokens: list[str]
    found: dict[int, list[tuple[int, int]]]
    original: str
    spans: list[tuple[int, int]]
    clauses: list[Clause]
    _scores: Scores | None = None

    def scores(self, rules: RuleSet) -> Scores:
        """The model's scores of the tip, computed once."""
        assert rules.model is not None
        if self._scores is None:
            self._scores = rules.model.scores(self.tokens)
        return self._scores

    @classmethod
    def of(cls, text: str, rules: RuleSet) -> Tip:
        original = unicodedata.normalize("NFC", text[:MAX_CHARS])
        tokens, spans = tokens_and_spans(original, rules.index.teencode)
        parts = clauses(tokens, original, spans)
        return cls(tokens, rules.index.find(tokens), original, spans, parts)

    @property
    def flat(self) -> str:
        return " ".join(self.tokens)

    def phrase(self, start: int, end: int) -> str:
        """The words the tipster wrote for tokens start..end (as written)."""
        if end <= start or end > len(self.spans):
            return " ".join(self.tokens[start:end])
        return self.original[self.spans[start][0] : self.spans[end - 1][1]]


def denied(tip: Tip, rules: RuleSet, start: int) -> bool:
    """A negator covers the words at `start`, inside their own clause only."""
    clause = clause_at(tip.clauses, start)
    lo = clause.start if clause is not None else 0
    if rules.negators.any_in(tip.found, max(lo, start - 3), start):
        return True
    return negated(tip.tokens, start, lo)


def fires(signal: Signal, tip: Tip, rules: RuleSet) -> tuple[str, int] | None:
    """The matched words and where, when a signal fires, else None."""
    if signal.spec.only:
        return _only(signal, tip)
    spec, found = signal.spec, tip.found
    if signal.unless is not None and signal.unless.any_in(found):
        return None
    if not all(g.any_in(found) for g in signal.also):
        return None
    excluded = signal.exclude.spans(found) if signal.exclude is not None else []
    for start, end in signal.any.spans(found):
        if any(s < end and start < e for s, e in excluded):
            continue
        if end - start == 1 and not _in_sense(tip, start):
            continue
        if spec.negatable and denied(tip, rules, start):
            continue
        lo, hi = start - spec.window, end + spec.window
        if all(_said_near(g, tip, rules, lo, hi) for g in signal.near):
            return tip.phrase(start, end), start
    return None


# One-word signals whose folded form is also another word: "dao" (a knife) but "đào" (to
# dig, a peach, a name), "đạo" (religion). Written with diacritics, only the first counts.
_SENSE = {"dao": "dao"}


def _in_sense(tip: Tip, index: int) -> bool:
    """The word at index, when it has another sense once folded, was written in this one."""
    sense = _SENSE.get(tip.tokens[index])
    if sense is None or index >= len(tip.spans):
        return True
    start, end = tip.spans[index]
    written = tip.original[start:end].lower()
    return written.isascii() or written == sense


def _said_near(near: Group, tip: Tip, rules: RuleSet, lo: int, hi: int) -> bool:
    """A `near` word counts when it is said, not denied ("không bị nhốt, nhưng ...")."""
    return any(lo <= s and e <= hi and not denied(tip, rules, s) for s, e in near.spans(tip.found))


def _only(signal: Signal, tip: Tip) -> tuple[str, int] | None:
    """For `only` signals: fires when nothing but its phrases (or fillers) is said."""
    covered: set[int] = set()
    for start, end in signal.any.spans(tip.found):
        covered.update(range(start, end))
    leftover = [t for i, t in enumerate(tip.tokens) if i not in covered and t not in _FILLERS]
    if covered and not leftover:
        return tip.flat[:60], 0
    return None


_FILLERS = {
    BREAK, "a", "oi", "ah", "nhe", "nha", "ad", "admin", "ha", "co", "ai", "khong", "em", "anh",
}  # fmt: skip
