"""Table-driven rule tests: signals, negation, time, age, gender, teencode, modifiers, bad input."""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from triage import Level, RuleError, classify, load_rules, parse_rules
from triage.phrases import words


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("em đang bị đánh, cứu em", "P1"),
        ("em dang bi danh cuu em", "P1"),  # no diacritics
        ("EM ĐANG BỊ ĐÁNH", "P1"),
        ("bo em dang danh em bang gay, o xa Thieu Trung", "P1"),
        ("con toi 6 tuoi di lac o cho tu chieu toi gio chua tim thay", "P1"),
        ("toi nay em se uong thuoc ngu, em khong muon song nua", "P1"),
        ("co nguoi hen toi nay giao be so sinh 3 ngay tuoi, doi 40 trieu", "P1"),
        ("thang be bi bo danh thuong xuyen, tuan nao cung co vet bam", "P2"),
        ("nam ngoai chau bi ong hang xom xam hai, gio ong ta van o canh nha", "P2"),
        ("cty moi gioi giu ho chieu cua em, da nop 80 trieu, thang sau bay sang Dai Loan", "P2"),
        ("chau 9 tuoi nghi hoc di ban ve so, khong ai danh dap", "P3"),
        ("con toi bi cac ban trong lop bat nat, chua bi danh", "P3"),
        ("cho hoi thu tuc nhan con nuoi o dau", "P4"),
        ("test", "SPAM"),
        ("alo alo", "SPAM"),
        ("", "SPAM"),
        ("😂😂", "SPAM"),
    ],
)
def test_levels(rules, text: str, level: str) -> None:  # type: ignore[no-untyped-def]
    result = classify(text, rules=rules)
    assert result.level == Level(level), [r.to_json() for r in result.reasons]
    if level in ("P1", "P2", "P3"):
        assert result.reasons and result.route_to


def test_negation_keeps_a_denied_act_from_firing(rules) -> None:  # type: ignore[no-untyped-def]
    denied = classify("chau khong bi danh, chi nghi hoc di ban ve so", rules=rules)
    assert denied.level == Level.P3
    assert all(r.rule != "repeated_beating" for r in denied.reasons)


def test_every_reason_names_the_rule_and_the_words(rules) -> None:  # type: ignore[no-untyped-def]
    result = classify("cuu voi, ba ay dang danh con be", rules=rules)
    assert result.reasons
    for reason in result.reasons:
        assert reason.rule and reason.matched and reason.effect


@pytest.mark.parametrize(
    ("text", "age", "gender"),
    [
        ("con gai toi 14t bi doa tung anh nong", 14, "female"),
        ("be trai khoang 10 tuoi di ban ve so, nghi hoc", 10, "male"),
        ("hai anh em 9 va 11 tuoi thieu an, nghi hoc", None, None),
        ("chau hoc lop 3 bi ban be bat nat", None, None),  # never from a school grade
        ("co nguoi ban con so sinh 2 thang tuoi, hen toi nay giao be", 0, None),
    ],
)
def test_victim_age_and_gender(rules, text: str, age: int | None, gender: str | None) -> None:  # type: ignore[no-untyped-def]
    result = classify(text, rules=rules)
    assert result.victim_age == age
    assert result.victim_gender == gender


def test_modifiers_raise_p3(rules) -> None:  # type: ignore[no-untyped-def]
    base = "chau nghi hoc di ban ve so, khong ai danh"
    assert classify(base, rules=rules).level == Level.P3
    assert classify(base, rules=rules, repeat_count=2).level == Level.P2
    assert classify("be 4 tuoi nghi hoc di ban ve so", rules=rules).level == Level.P2
    assert classify("chau bi bai nao, nhin doi den truong", rules=rules).level == Level.P2


def test_nothing_lowers_a_p1(rules) -> None:  # type: ignore[no-untyped-def]
    assert classify("em dang bi danh, cuu em", rules=rules, repeat_count=5).level == Level.P1


def test_teencode_and_held_letters() -> None:
    assert words("ko dc dau, cuuuuu emmmm", {"ko": "khong", "dc": "duoc"}) == [
        "khong",
        "duoc",
        "dau",
        "|",  # punctuation: no phrase matches across it
        "cu",
        "em",
    ]


@pytest.mark.parametrize(
    "text", ["x" * 100_000, "a" * 50_000 + " danh", "đánh " * 20_000, "漢字 mixed 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \x00"]
)
def test_bad_input_always_gets_a_level(rules, text: str) -> None:  # type: ignore[no-untyped-def]
    result = classify(text, rules=rules)
    assert result.level in set(Level)


def test_greeting_is_never_p1(rules) -> None:  # type: ignore[no-untyped-def]
    for text in ("xin chao", "hello", "chao ad", "alo co ai khong"):
        assert classify(text, rules=rules).level in (Level.SPAM, Level.P4)


def _rules_text() -> str:
    return (REPO / "config" / "triage" / "rules.yaml").read_text(encoding="utf-8")


def test_the_shipped_rules_load() -> None:
    assert load_rules().signals


def test_a_bad_rule_is_named_with_its_line(rules) -> None:  # type: ignore[no-untyped-def]
    broken = _rules_text().replace("  - id: weapon\n    level: P1", "  - id: weapon\n    level: P9")
    with pytest.raises(RuleError) as caught:
        parse_rules(broken, rules.recipients, "rules.yaml")
    message = str(caught.value)
    assert "'weapon'" in message and "line" in message and "level" in message


def test_a_duplicate_rule_and_bad_yaml_are_refused(rules) -> None:  # type: ignore[no-untyped-def]
    text = _rules_text()
    duplicate = text + "\n" + text[text.index("  - id: weapon") : text.index("  - id: injury")]
    with pytest.raises(RuleError, match="defined twice"):
        parse_rules(duplicate, rules.recipients)
    with pytest.raises(RuleError, match="not valid YAML"):
        parse_rules("signals: [unclosed", rules.recipients)
