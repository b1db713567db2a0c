"""Triage over labelled tips: the sets it was tuned on, and the part nothing is tuned on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from triage.corpus import read_jsonl, split
from triage.eval import evaluate, render_report

TRIAGE_DATA = REPO / "tests" / "data" / "triage"
OLD_SETS = sorted(p for p in TRIAGE_DATA.glob("*.jsonl") if not p.name.startswith("train_"))
NEW_SETS = sorted(TRIAGE_DATA.glob("train_*.jsonl"))


@pytest.mark.parametrize("path", OLD_SETS, ids=lambda p: p.name)
def test_bars_on_the_older_sets(rules, path: Path) -> None:  # type: ignore[no-untyped-def]
    records = list(read_jsonl(path))
    report = evaluate(records, rules=rules)
    print(render_report(report))
    assert report.total == len(records)
    assert report.recall("P1") >= 0.95
    assert report.precision("P1") >= 0.80
    assert report.level_accuracy >= 0.85
    assert report.route_accuracy >= 0.85


def test_bars_on_the_tuned_part_of_the_new_corpus(rules) -> None:  # type: ignore[no-untyped-def]
    report = evaluate(split(NEW_SETS, "tuned"), rules=rules)
    print(render_report(report))
    assert report.recall("P1") >= 0.95
    assert report.precision("P1") >= 0.80
    assert report.level_accuracy >= 0.80
    assert report.route_accuracy >= 0.85


def test_the_untouched_part(rules) -> None:  # type: ignore[no-untyped-def]
    """Reported, not tuned on: the floor only catches a collapse, the figures are in docs."""
    records = split(NEW_SETS, "untouched")
    report = evaluate(records, rules=rules)
    print(render_report(report))
    assert report.total == len(records) > 0
    assert report.recall("P1") >= 0.80
    assert report.level_accuracy >= 0.65


def test_the_untouched_part_is_fixed_and_a_fifth() -> None:
    every = split(NEW_SETS, "all")
    held = split(NEW_SETS, "untouched")
    assert 0.1 < len(held) / len(every) < 0.3
    assert {r["id"] for r in held} == {r["id"] for r in split(NEW_SETS, "untouched")}
    assert not {r["id"] for r in held} & {r["id"] for r in split(NEW_SETS, "tuned")}


def test_worst_misses_come_first(rules) -> None:  # type: ignore[no-untyped-def]
    records = [
        {"id": "a", "text": "xin chao", "expected": {"level": "P1", "route_to": []}},
        {"id": "b", "text": "xin chao", "expected": {"level": "P3", "route_to": []}},
    ]
    report = evaluate(records, rules=rules)
    assert [m.id for m in report.misses] == ["a", "b"]
    assert "expected P1" in render_report(report)
