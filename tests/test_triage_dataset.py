"""The triage rules over labelled tips: the development set and our own held-out set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DATASETS, REPO
from triage.eval import evaluate, render_report

SETS = [
    DATASETS / "tips_dev.jsonl",
    REPO / "tests" / "data" / "triage_extra.jsonl",
    REPO / "tests" / "data" / "triage_extra2.jsonl",
    REPO / "tests" / "data" / "triage_extra3.jsonl",
    REPO / "tests" / "data" / "triage_extra4.jsonl",
    REPO / "tests" / "data" / "triage_extra6.jsonl",
    REPO / "tests" / "data" / "triage_extra7.jsonl",
    REPO / "tests" / "data" / "triage_extra8.jsonl",
    REPO / "tests" / "data" / "triage_extra9.jsonl",
    REPO / "tests" / "data" / "triage_extra10.jsonl",
]


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_bars(rules, path: Path) -> None:  # type: ignore[no-untyped-def]
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    report = evaluate(records, rules=rules)
    print(render_report(report))
    assert report.total == len(records)
    assert report.recall("P1") >= 0.95
    assert report.precision("P1") >= 0.80
    assert report.level_accuracy >= 0.85
    assert report.route_accuracy >= 0.85


def test_worst_misses_come_first(rules) -> None:  # type: ignore[no-untyped-def]
    records = [
        {"id": "a", "text": "xin chao", "expected": {"level": "P1", "route_to": []}},
        {"id": "b", "text": "xin chao", "expected": {"level": "P3", "route_to": []}},
    ]
    report = evaluate(records, rules=rules)
    assert [m.id for m in report.misses] == ["a", "b"]
    assert "expected P1" in render_report(report)
