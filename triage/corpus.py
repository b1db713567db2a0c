"""Labelled tips: reading them, checking them, and the split nobody tunes on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

LEVELS = ("P1", "P2", "P3", "P4", "SPAM")
CATEGORIES = {
    "trafficking", "physical_abuse", "sexual_abuse", "emotional_abuse", "neglect",
    "child_labour", "bullying", "online_abuse", "self_harm", "missing_child",
    "victim_support", "information", "other",
}  # fmt: skip
UNTOUCHED_PREFIX = "train_"  # only the new corpus files have an untouched part


def untouched(record_id: object) -> bool:
    """The fixed fifth of tips (by a SHA-256 of the id) that nothing is tuned on."""
    digest = hashlib.sha256(str(record_id).encode("utf-8")).digest()
    return digest[0] % 5 == 0


def problem(record: object) -> str | None:
    """Why a labelled line cannot be used, or None when it can."""
    if not isinstance(record, dict):
        return "not an object"
    if not isinstance(record.get("text"), str) or "id" not in record:
        return "no id or text"
    expected = record.get("expected")
    if not isinstance(expected, dict):
        return "no expected labels"
    if expected.get("level") not in LEVELS:
        return f"level {expected.get('level')!r}"
    categories = expected.get("categories")
    if not isinstance(categories, list) or not categories:
        return "no categories"
    if set(categories) - CATEGORIES:
        return f"unknown categories {sorted(set(categories) - CATEGORIES)}"
    if not isinstance(expected.get("route_to", []), list):
        return "route_to is not a list"
    return None


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The usable labelled records of one file (bad lines skipped)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if problem(record) is None:
            yield record


def split(paths: Iterable[Path], part: str = "all") -> list[dict[str, Any]]:
    """Records of the files; part is "all", "tuned" or "untouched"."""
    records: list[dict[str, Any]] = []
    for path in paths:
        held = path.name.startswith(UNTOUCHED_PREFIX)
        for record in read_jsonl(path):
            is_untouched = held and untouched(record["id"])
            if part == "all" or (part == "untouched") == is_untouched:
                records.append(record)
    return records
