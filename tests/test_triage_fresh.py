"""Fresh hard cases written for the third round: P1s that must stay P1, lookalikes that must not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage import Level, classify
from triage.loading import load_rules

FRESH = Path(__file__).parent / "data" / "triage" / "fresh" / "third_round.jsonl"
CASES = [json.loads(line) for line in FRESH.read_text(encoding="utf-8").splitlines() if line]
RULES = load_rules()
# Written for a level the engine does not give yet (none of them filed P1 or missed as P1).
KNOWN_MISSES = {"fresh3-017"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_fresh_case_p1_exactly_when_written_p1(case: dict) -> None:
    result = classify(case["text"], rules=RULES)
    assert (result.level == Level.P1) == (case["expected"]["level"] == "P1")


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["id"] not in KNOWN_MISSES], ids=lambda c: c["id"]
)
def test_fresh_case_level(case: dict) -> None:
    assert classify(case["text"], rules=RULES).level == case["expected"]["level"]


@pytest.mark.parametrize(
    ("text", "weapon"),
    [
        ("bố cầm dao đuổi đánh con", True),
        ("bo cam dao duoi danh con", True),  # no diacritics: the knife
        ("chị Đào đánh con suốt", False),  # a name
        ("thằng bé bị chủ bắt đào hầm, chủ đánh", False),  # to dig
    ],
)
def test_a_knife_is_not_a_name_or_digging(text: str, weapon: bool) -> None:
    reasons = classify(text, rules=RULES).reasons
    assert any(r.rule == "weapon" for r in reasons) == weapon


@pytest.mark.parametrize(
    ("text", "p1"),
    [
        ("Mức độ: không gấp\nNội dung: ông kia đang cầm gậy đánh thằng bé ở chợ, nó nằm im", True),
        (
            "Not urgent, no immediate danger: a girl of 9 said a cousin abused her for months",
            False,
        ),
    ],
)
def test_not_urgent_yields_to_an_act_now(text: str, p1: bool) -> None:
    assert (classify(text, rules=RULES).level == Level.P1) == p1
