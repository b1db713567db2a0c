"""What triage concludes about a tip: the level with its reasons, as the API shows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from triage.rules import Category, Level, Purpose


@dataclass(frozen=True)
class Reason:
    """A rule that fired, the words that made it fire, and the sentence a supervisor reads."""

    rule: str
    matched: str
    effect: str
    text: str = ""
    text_en: str = ""

    def to_json(self, lang: str = "vi") -> dict[str, str]:
        """`text` is in the language asked for (vi or en); `text_en` is always English."""
        text = self.text_en if lang == "en" else self.text
        return {
            "rule": self.rule,
            "matched": self.matched,
            "effect": self.effect,
            "text": text or self.effect,
            "text_en": self.text_en or self.effect,
        }


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
    needs_review: bool = False  # a provisional level: a person should read the tip

    def to_json(self, record_id: object, lang: str = "vi") -> dict[str, Any]:
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
            "reasons": [r.to_json(lang) for r in self.reasons],
            "victim_age": self.victim_age,
            "victim_gender": self.victim_gender,
            "needs_review": self.needs_review,
        }
