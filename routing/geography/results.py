"""What the resolver answers: a commune, candidates, or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


def agree(
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
