"""How triage reads a tip: clauses, negation scope, time, victim, no silent default, reasons."""

from __future__ import annotations

import io
import json
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage import Level, classify
from triage.clauses import When, clauses, negated, split, when
from triage.concepts import read, victim
from triage.loading import load_rules
from triage.phrases import tokens_and_spans, words

TEENCODE = {"ko": "khong", "k": "khong", "hok": "khong", "hong": "khong"}


def _tokens(text: str) -> list[str]:
    return words(text, TEENCODE)


def _clause_texts(text: str) -> list[str]:
    tokens = _tokens(text)
    return [" ".join(tokens[s:e]) for s, e in split(tokens, text)]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("em khong bi nhot, nhung dang bi danh", ["em khong bi nhot", "nhung dang bi danh"]),
        ("không bị nhốt nhưng bị đánh", ["khong bi nhot", "nhung bi danh"]),
        ("nhung dua tre o day bi danh", ["nhung dua tre o day bi danh"]),  # những: plural
        ("dòng một\ndòng hai", ["dong mot", "dong hai"]),
        ("chau khong bi danh ma bi bo doi", ["chau khong bi danh", "ma bi bo doi"]),
        ("ma tuy o dau", ["ma tuy o dau"]),  # ma túy, not the contrast
        ("she is not hit but locked in", ["she is not hit", "but locked in"]),
        ("tuy khong danh nhung chui", ["tuy khong danh", "nhung chui"]),
    ],
)
def test_clause_splitting(text: str, parts: list[str]) -> None:
    assert _clause_texts(text) == parts


@pytest.mark.parametrize(
    ("text", "word", "denied"),
    [
        ("chau khong bi danh", "danh", True),
        ("chau ko bi danh", "danh", True),  # teencode
        ("hok ai danh no", "danh", True),
        ("em chua bi xam hai", "xam", True),
        ("khong bi nhot nhung dang bi danh", "danh", False),  # the contrast ends the scope
        ("khong biet ai dang danh chau", "danh", False),  # "không biết" takes the negation
        ("khong dam ve nha vi bo danh", "danh", False),  # a reason ends the scope
        ("he did not hit her", "hit", True),
        ("khong, bo dang danh em", "danh", False),  # another clause
        ("thang be khong con bi danh nua", "danh", True),  # "không còn": no longer
        ("she isn't being held", "held", True),  # "isn't" is read as "isn" "t"
        ("khong phai chau bi danh", "danh", True),
    ],
)
def test_negation_scope(text: str, word: str, denied: bool) -> None:
    tokens = _tokens(text)
    position = tokens.index(word)
    clause = next(c for c in clauses(tokens, text) if c.start <= position < c.end)
    assert negated(tokens, position, clause.start) is denied


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bo dang danh em", When.NOW),
        ("luc nay no dung ngoai cong", When.NOW),
        ("he is standing outside now", When.NOW),
        ("hen 9h toi nay giao be", When.SOON),
        ("toi nay ong ta se don chau", When.SOON),
        ("sang mai tau chay", When.SOON),
        ("the boat leaves tomorrow morning", When.SOON),
        ("thang sau bay sang Dai Loan", When.LATER),
        ("thuong xuyen bi danh", When.REPEATED),
        ("tuan truoc chau bi danh", When.PAST),
        ("nam ngoai bi xam hai", When.PAST),
        ("hoi nho toi bi danh", When.PAST),
        ("last year he hit me", When.PAST),
        ("chau hoc lop 5 toi bi ban bat nat", When.UNKNOWN),  # "lớp 5 tôi": no clock
        ("co nguoi bao chau", When.UNKNOWN),
        ("em o xa Dong Son", When.UNKNOWN),  # "soon" squeezed is "son": not a time here
        ("bố em tối nào say về cũng đánh em", When.REPEATED),
        ("chau vua ke bi xam hai tu hoi lop 2", When.PAST),  # the telling is not the act
        ("she just told me he abused her last year", When.PAST),
    ],
)
def test_time_expressions(text: str, expected: When) -> None:
    tokens = _tokens(text)
    assert when(tokens, 0, len(tokens)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("chuyện này đáng sợ lắm", When.UNKNOWN),  # đáng (worth), not đang (now)
        ("nhà ông Đặng ở cuối xóm", When.UNKNOWN),
        ("bố đang đánh em", When.NOW),
        ("bo dang danh em", When.NOW),  # without diacritics "dang" keeps its usual sense
        ("cái sạp ngoài chợ", When.UNKNOWN),
        ("họ sắp đưa cháu đi", When.SOON),
    ],
)
def test_a_one_word_time_in_its_own_sense(text: str, expected: When) -> None:
    """The tipster's diacritics tell "đang" (now) from "đáng", "Đặng"; "sắp" from "sạp"."""
    tokens, spans = tokens_and_spans(text, TEENCODE)
    assert when(tokens, 0, len(tokens), text, spans) == expected


def test_laughter_marks_are_a_word() -> None:
    assert _tokens("cứu em =)) 🤣") == ["cu", "em", "haha", "haha"]


def test_a_clause_without_time_takes_the_tips() -> None:
    tokens = _tokens("toi nay ong ta den. chau bi dua di")
    found = clauses(tokens)
    assert [c.when for c in found] == [When.SOON, When.SOON]
    assert [c.stated for c in found] == [True, False]


@pytest.mark.parametrize(
    ("text", "sufferer", "doer"),
    [
        ("bo em danh em", "em", "em"),  # "bố em": the father is the actor (nearest word)
        ("em bi bo danh", "em", "bo"),
        ("chau bi ong hang xom danh", "chau", "ong"),
        ("ong ta danh con gai", "con", "ta"),
        ("thang be danh ban", "ban", "be"),  # a child as the actor, another as the victim
    ],
)
def test_victim_and_actor(rules, text: str, sufferer: str, doer: str) -> None:  # type: ignore[no-untyped-def]
    result = classify(text, rules=rules)
    assert result.level in (Level.P1, Level.P2, Level.P3)
    from triage.tip import Tip as _Text

    prepared = _Text.of(text, rules)
    assert rules.concepts is not None
    reading = read(rules.concepts, prepared.tokens, prepared.found, prepared.clauses)
    hit = reading.first("violence")
    assert hit is not None
    found_sufferer, found_doer = victim(prepared.tokens, hit)
    assert found_sufferer == sufferer
    if doer in ("bo", "ong"):
        assert found_doer == doer


def test_the_readme_example_is_not_a_silent_p4(rules) -> None:  # type: ignore[no-untyped-def]
    result = classify("em o xa thieu trung thanh hoa, bo em danh em", rules=rules)
    assert result.level in (Level.P1, Level.P2)
    assert result.reasons and result.route_to
    assert "police" in result.route_to


@pytest.mark.parametrize(
    "text",
    [
        "be nha ben canh khoc thet ca dem, toi so qua",
        "có đứa nhỏ ngoài chợ cứ khóc, ai giúp với",
        "a child is crying next door all night, please help",
    ],
)
def test_no_silent_default(rules, text: str) -> None:  # type: ignore[no-untyped-def]
    """A person at risk that no rule places gets a safe provisional P2 and a review."""
    result = classify(text, rules=rules)
    assert result.level in (Level.P1, Level.P2), [r.to_json() for r in result.reasons]
    if result.level == Level.P2:
        assert result.needs_review
        assert any("review" in r.effect or r.rule == "model" for r in result.reasons)


@pytest.mark.parametrize(
    ("text", "most"),
    [
        # a time that is over, a beating that has stopped, a question, a story or rumour
        ("Năm ngoái cháu bị bố dượng đánh gãy tay, giờ cháu ở với bà, đi học bình thường.", "P2"),
        ("Thằng bé nhà bên không còn bị đánh nữa, chỉ là mẹ nó hay chửi mắng.", "P3"),
        ("Tôi muốn hỏi trẻ em bị bạo hành thì báo cho ai, gọi 111 hay 113?", "P4"),
        ("Tôi đọc báo thấy vụ bé gái bị bạo hành ở Bình Dương, thật kinh khủng.", "P4"),
        ("Nghe đồn có xe lạ bắt cóc trẻ con ở huyện bên, không biết có thật không?", "P4"),
        ("Hi, the girl (17) has a broker for a marriage abroad. She isn't being held.", "P2"),
        ("em 14 tuổi, bố em tối nào say về cũng đánh em, em sợ lắm. em ở xã Đông Sơn", "P2"),
        ("haha tổng đài ơi cứu em với, em bị vợ nhốt ngoài cửa vì nhậu về muộn =))", "SPAM"),
        (
            "Lúc nãy tôi gọi báo có trẻ bị đánh mà chờ máy 10 phút, lúc khẩn cấp sao kịp. "
            "Đề nghị tổng đài tăng người trực.",
            "P4",
        ),  # fmt: skip
    ],
)
def test_danger_words_without_danger_now_are_not_p1(rules, text: str, most: str) -> None:  # type: ignore[no-untyped-def]
    """P1 needs the policy's conditions (danger now or within hours), not danger words."""
    result = classify(text, rules=rules)
    order = ["SPAM", "P4", "P3", "P2", "P1"]
    assert order.index(str(result.level)) <= order.index(most), [r.rule for r in result.reasons]


@pytest.mark.parametrize(
    "text",
    [
        "Cấp cứu! Bố nó đang cầm dao rượt đứa bé ngoài đường ở xóm 3, nhanh lên",
        "Chồng tôi đang say rượu đánh con trai 8 tuổi, thằng bé chảy máu đầu",
        "Có người hẹn đón cháu gái 13 tuổi lúc 9 giờ tối nay ở cổng trường, đưa lên thành phố",
        "Ngày mai người ta sẽ đến nhận đứa bé 3 tháng tuổi, nhà kia đã nhận 30 triệu tiền bán con",
        "chị ơi em đang đứng trên cầu, em không muốn sống nữa",
        "Con gái tôi 16 tuổi bỏ nhà đi từ 3 hôm nay với một người quen trên mạng, gọi không được",
        "A girl, maybe 15, is locked in a karaoke room right now, she texted asking for help",
        "Con gái tôi 15 tuổi đi theo người quen trên mạng 3 hôm, nghe nói bị đưa lên biên giới",
        "Tổng đài viên ơi, có thằng bé đang bị đánh ngoài chợ Hôm, máu chảy nhiều",
        "Nhân viên tổng đài cho tôi hỏi, có bé gái đang bị nhốt trong phòng trọ bên cạnh",
        # "nói đưa" (says they take her) is not "nói đùa" (a joke) once folded
        "Có người đang dẫn bé gái 14 tuổi về phía biên giới, nói đưa sang Trung Quốc lấy chồng",
    ],
)
def test_danger_now_stays_p1(rules, text: str) -> None:  # type: ignore[no-untyped-def]
    result = classify(text, rules=rules)
    assert result.level == Level.P1, [r.rule for r in result.reasons]


def test_the_no_rule_reason_says_so(rules) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    bare = replace(rules, model=None)
    result = classify("chau be hang xom nhin buon lam, toi lo qua", rules=bare)
    assert result.level == Level.P2 and result.needs_review
    reason = result.reasons[0].to_json()
    assert reason["rule"] == "no_rule_places_person_at_risk"
    assert "cần người duyệt" in reason["text"] and "review" in reason["text_en"]
    assert "“" in reason["text"]  # the tipster's words are quoted


def test_a_threat_to_send_images_is_not_a_chain_letter(rules) -> None:  # type: ignore[no-untyped-def]
    """ "nếu không gửi thêm" in a sextortion is a threat to a child, not "forward or else"."""
    from dataclasses import replace

    bare = replace(rules, model=None)
    text = "Con tôi 15 tuổi bị một người lạ trên mạng dọa tung ảnh nóng nếu không gửi thêm ảnh"
    assert classify(text, rules=bare).level == Level.P2


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("", Level.SPAM),  # empty: SPAM by the policy's table, never routed
        ("   ", Level.SPAM),
        ("ok", Level.SPAM),  # no content
        ("CHUYEN TIEP NGAY cho 10 nguoi neu khong se gap xui, tre bi bat coc khap noi", Level.SPAM),
        ("Soi cầu lô đề miễn phí, tỉ lệ trúng 99%, vào nhóm", Level.SPAM),
    ],
)
def test_spam_only_on_evidence_or_emptiness(rules, text: str, level: Level) -> None:  # type: ignore[no-untyped-def]
    result = classify(text, rules=rules)
    assert result.level == level
    assert result.reasons and not result.route_to


def test_a_contrast_keeps_a_denial_in_its_clause(rules) -> None:  # type: ignore[no-untyped-def]
    denied = classify("chau khong bi danh, khong bi nhot, chi nghi hoc ban ve so", rules=rules)
    assert denied.level in (Level.P3, Level.P2)
    assert not any(r.rule.startswith("concept:violence") for r in denied.reasons)
    said = classify("chau khong bi nhot nhung dang bi bo danh", rules=rules)
    assert said.level == Level.P1


def test_reasons_read_in_vietnamese_and_in_english(rules) -> None:  # type: ignore[no-untyped-def]
    result = classify("em đang bị bố đánh, cứu em", rules=rules)
    line = result.to_json(1)
    english = result.to_json(1, lang="en")
    for reason, reason_en in zip(line["reasons"], english["reasons"], strict=True):
        assert {"rule", "matched", "effect", "text", "text_en"} <= set(reason)
        assert reason["text"] != reason["text_en"] == reason_en["text"]
    assert "người báo viết" in line["reasons"][0]["text"]
    assert "needs_review" in line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_gets_a_level_and_reasons_fast(rules, text: str) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = classify(text, rules=rules)
    assert time.perf_counter() - started < 0.25
    assert result.level in set(Level)
    assert result.reasons
    assert all(r.to_json()["text"] for r in result.reasons)
    json.dumps(result.to_json(1), ensure_ascii=False)


def test_triage_reads_standard_input_for_dash(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from intake.cli import main

    lines = '{"id": 1, "text": "em dang bi danh"}\n{"id": 2, "text": "xa Nhac Ky, Lang Son"}\n'
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["triage", "--jsonl", "-"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["id"] for o in out] == [1, 2] and out[0]["level"] == "P1"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert main(["locate", "--jsonl", "-"]) == 0
    located = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["id"] for o in located] == [1, 2]


def test_the_shipped_folder_loads_concepts_and_model() -> None:
    rules = load_rules()
    assert rules.concepts is not None and rules.model is not None
    assert set(rules.model.heads) == {"level", "category"}
