"""A misspelt name undone only when one known name is clearly the closest."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

FUZZY_MARGIN = 0.03  # how far the best name must be ahead of the next


def clear_best(query: str, choices: Sequence[str], cutoff: float) -> tuple[str, float, int] | None:
    """The choice (with its score and position) at least `cutoff` alike to `query` (Jaro-
    Winkler), unless another fits about as well: then no typo can be undone."""
    hits = process.extract(
        query,
        choices,
        scorer=JaroWinkler.normalized_similarity,
        limit=2,
        score_cutoff=cutoff - FUZZY_MARGIN,
    )
    if not hits or hits[0][1] < cutoff:
        return None
    if len(hits) > 1 and hits[0][1] - hits[1][1] < FUZZY_MARGIN:
        return None
    return hits[0]
