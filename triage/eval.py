"""Evaluate triage on labelled tips (the format of tests/data/triage/tips_dev.jsonl)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from triage.engine import classify
from triage.rules import URGENCY, Level, RuleSet

LEVELS = [str(level) for level in Level]


@dataclass(frozen=True)
class Miss:
    """A tip the rules got wrong, and how badly."""

    id: str
    expected: str
    predicted: str
    route_expected: tuple[str, ...]
    route_predicted: tuple[str, ...]
    reasons: tuple[str, ...]
    text: str

    @property
    def severity(self) -> int:
        """How far below the expected urgency the prediction fell (a missed P1 is worst)."""
        return URGENCY[Level(self.expected)] - URGENCY[Level(self.predicted)]


@dataclass
class EvalReport:
    """Per-level precision and recall, the confusion matrix, route_to and category scores."""

    total: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    route_correct: int = 0
    categories_correct: int = 0
    review: int = 0  # tips triage marked "needs review"
    review_wrong: int = 0  # ... of which the level was wrong (a review catches them)
    misses: list[Miss] = field(default_factory=list)

    @property
    def level_accuracy(self) -> float:
        return sum(v for (e, p), v in self.confusion.items() if e == p) / max(1, self.total)

    @property
    def route_accuracy(self) -> float:
        return self.route_correct / max(1, self.total)

    @property
    def category_accuracy(self) -> float:
        return self.categories_correct / max(1, self.total)

    def precision(self, level: str) -> float:
        predicted = sum(v for (_, p), v in self.confusion.items() if p == level)
        return self.confusion[(level, level)] / predicted if predicted else 0.0

    def recall(self, level: str) -> float:
        expected = sum(v for (e, _), v in self.confusion.items() if e == level)
        return self.confusion[(level, level)] / expected if expected else 0.0


def evaluate(records: Iterable[dict[str, Any]], *, rules: RuleSet) -> EvalReport:
    """Run the rules over labelled records and count agreement."""
    report = EvalReport()
    for record in records:
        expected = record.get("expected") or {}
        if not isinstance(expected, dict) or expected.get("level") not in LEVELS:
            continue
        result = classify(str(record.get("text", "")), rules=rules)
        predicted = str(result.level)
        report.total += 1
        report.confusion[(expected["level"], predicted)] += 1
        report.review += result.needs_review
        report.review_wrong += result.needs_review and predicted != expected["level"]
        route_expected = tuple(sorted(expected.get("route_to") or []))
        route_predicted = tuple(sorted(result.route_to))
        report.route_correct += route_expected == route_predicted
        report.categories_correct += set(expected.get("categories") or []) == {
            str(c) for c in result.categories
        }
        if predicted != expected["level"] or route_expected != route_predicted:
            report.misses.append(
                Miss(
                    id=str(record.get("id", "")),
                    expected=expected["level"],
                    predicted=predicted,
                    route_expected=route_expected,
                    route_predicted=route_predicted,
                    reasons=tuple(r.rule for r in result.reasons),
                    text=str(record.get("text", "")),
                )
            )
    report.misses.sort(key=lambda m: (-m.severity, m.id))
    return report


def render_report(report: EvalReport, worst: int = 10) -> str:
    """The evaluation as text for `hotline111 triage eval`."""
    lines = [f"tips: {report.total}", "", "level   precision  recall  support"]
    for level in LEVELS:
        support = sum(v for (e, _), v in report.confusion.items() if e == level)
        precision, recall = report.precision(level), report.recall(level)
        lines.append(f"{level:<7} {precision:>9.2f}  {recall:>6.2f}  {support:>7}")
    lines += [
        "",
        "confusion (rows expected, columns predicted)",
        "        " + " ".join(f"{p:>5}" for p in LEVELS),
    ]
    for e in LEVELS:
        lines.append(f"{e:<7} " + " ".join(f"{report.confusion[(e, p)]:>5}" for p in LEVELS))
    lines += [
        "",
        f"level accuracy:    {report.level_accuracy:.3f}",
        f"P1 recall:         {report.recall('P1'):.3f}",
        f"P1 precision:      {report.precision('P1'):.3f}",
        f"route_to accuracy: {report.route_accuracy:.3f}",
        f"category accuracy: {report.category_accuracy:.3f}",
        f"needs review:      {report.review} ({report.review_wrong} of them at a wrong level)",
    ]
    if report.misses:
        lines += ["", f"worst misses (up to {worst}):"]
        for miss in report.misses[:worst]:
            lines.append(
                f"  {miss.id}: expected {miss.expected} {list(miss.route_expected)}, got "
                f"{miss.predicted} {list(miss.route_predicted)} "
                f"(rules: {', '.join(miss.reasons) or 'none'}) {miss.text[:90]!r}"
            )
    return "\n".join(lines)
