"""The model's weights: loading, refusing a bad file, parity with scikit-learn, its limits."""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO
from triage import Level, classify, load_rules
from triage.model import ModelError, encode_weights, load_model, parse_model
from triage.second_opinion import MODEL_RAISE, MODEL_RAISE_P1

SHIPPED = REPO / "config" / "triage" / "model.json"
TRIAGE_DATA = REPO / "tests" / "data" / "triage"


def _tiny(level_bias: dict[str, float], word: str = "w:xyz") -> dict[str, Any]:
    """A hand-made weights document: one feature, a bias per level."""
    classes = ["P1", "P2", "P3", "P4", "SPAM"]
    return {
        "format": "hotline111-triage-linear",
        "version": 1,
        "trained_on": 0,
        "vocabulary": [word],
        "idf": [1.0],
        "heads": {
            "level": {
                "classes": classes,
                "weights": encode_weights([[0.0] * len(classes)]),
                "intercept": [level_bias.get(c, 0.0) for c in classes],
            }
        },
    }


def test_the_shipped_weights_load() -> None:
    model = load_model(SHIPPED)
    assert model.trained_on > 500
    assert model.heads["level"].classes == ("P1", "P2", "P3", "P4", "SPAM")
    assert len(model.rows) > 1000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d.update(version=9), "version"),
        (lambda d: d.update(vocabulary=[], idf=[]), "vocabulary and idf"),
        (lambda d: d.update(idf=[1.0, 2.0]), "1 vocabulary entries but 2 idf values"),
        (lambda d: d.update(idf=[float("nan")]), "not a finite number"),
        (lambda d: d.update(vocabulary=["xyz"]), "not a w:/b:/c: feature"),
        (lambda d: d["heads"].pop("level"), "'level' head"),
        (lambda d: d["heads"]["level"].update(weights=encode_weights([[0.0] * 4])), "hold 4"),
        (lambda d: d["heads"]["level"].update(weights="**"), "not valid base64"),
        (lambda d: d["heads"]["level"].update(weights=[0.0] * 5), "base64 string"),
        (lambda d: d["heads"]["level"].update(intercept=[0.0]), "intercept"),
        (
            lambda d: d["heads"]["level"].update(weights=encode_weights([[float("inf")] * 5])),
            "not a finite number",
        ),
        (lambda d: d["heads"]["level"].update(classes=["P1", "P9", "P3", "P4", "SPAM"]), "P1-P4"),
    ],
)
def test_a_bad_weights_document_is_refused_by_name(change, message: str) -> None:  # type: ignore[no-untyped-def]
    document = copy.deepcopy(_tiny({}))
    change(document)
    with pytest.raises(ModelError, match=message.replace("(", r"\(")):
        parse_model(document, "model.json")


def test_a_bad_weights_file_stops_the_rules_loading(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    shutil.copytree(REPO / "config" / "triage", folder / "triage")
    shutil.copytree(REPO / "config" / "routing", folder / "routing")
    (folder / "triage" / "model.json").write_text('{"format": "hotline111-triage-linear",')
    with pytest.raises(ModelError, match=r"model.json: not a JSON weights file"):
        load_rules(folder / "triage")
    (folder / "triage" / "model.json").write_text(json.dumps({"format": "x"}))
    with pytest.raises(ModelError, match="format is 'x'"):
        load_rules(folder / "triage")
    assert load_rules(folder / "triage", model=False).model is None


def test_the_model_never_lowers_a_p1(rules) -> None:  # type: ignore[no-untyped-def]
    sure_it_is_spam = parse_model(_tiny({"SPAM": 50.0}))
    with_model = replace(rules, model=sure_it_is_spam)
    for text in ("em dang bi danh, cuu em", "con toi 6 tuoi di lac tu chieu chua tim thay"):
        assert classify(text, rules=with_model).level == Level.P1


_PIECES = [
    "em dang bi danh", "cuu em", "con toi", "di lac", "chua tim thay", "tuan truoc",
    "khong", "nhung", "toi nay", "bi nhot", "hoi", "phim", "=))", "cam on", "ban con",
    "he is hitting her now", "last year", ",", ".", "\n", "12 tuoi", "khong gap",
]  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=12), st.sampled_from(["P1", "P4", "SPAM"]))
def test_no_model_lowers_a_p1_that_the_rules_gave(rules, pieces: list[str], bias: str) -> None:  # type: ignore[no-untyped-def]
    """Whatever the model says, and however sure, a P1 of the rules and concepts stays."""
    text = " ".join(pieces)
    bare = replace(rules, model=None)
    with_model = replace(rules, model=parse_model(_tiny({bias: 50.0})))
    if classify(text, rules=bare).level == Level.P1:
        assert classify(text, rules=with_model).level == Level.P1


def test_the_model_may_raise_and_says_so_with_its_words(rules) -> None:  # type: ignore[no-untyped-def]
    document = _tiny({"P1": 2.0}, word="w:banh")
    document["heads"]["level"]["weights"] = encode_weights([[30.0, 0.0, 0.0, 0.0, 0.0]])
    with_model = replace(rules, model=parse_model(document))
    result = classify("hom nay an banh mi ngon lam", rules=with_model)
    assert result.level == Level.P1 and result.needs_review
    reason = next(r for r in result.reasons if r.rule == "model")
    assert "banh" in reason.matched and "+" in reason.matched  # the word and its weight
    assert "Mô hình" in reason.text and "model" in reason.text_en
    unsure = replace(rules, model=parse_model(_tiny({})))  # 20% each: no say
    assert classify("hom nay an banh mi ngon lam", rules=unsure).level == Level.P4


def test_the_model_needs_more_for_a_p1_than_for_a_review(rules) -> None:  # type: ignore[no-untyped-def]
    """Under MODEL_RAISE_P1 a P1 reading only asks for a review; a question about a subject
    or a tip its writer calls not urgent gets no P1 from the model however sure it is."""
    assert MODEL_RAISE_P1 >= MODEL_RAISE
    for bias, is_p1 in ((1.0, False), (1.4, True)):  # P1 at about 37% and 47%
        document = _tiny({"P1": bias, "P2": 0.5}, word="w:banh")
        with_model = replace(rules, model=parse_model(document))
        result = classify("hom nay an banh mi ngon lam", rules=with_model)
        assert (result.level == Level.P1) == is_p1 and result.needs_review
    sure = replace(rules, model=parse_model(_tiny({"P1": 4.0})))
    for text in ("cho hoi gia banh mi bao nhieu", "em bị mắng nhưng không gấp đâu ạ"):
        result = classify(text, rules=sure)
        assert result.level != Level.P1 and result.needs_review, text


def test_runtime_scores_equal_scikit_learns() -> None:
    pytest.importorskip("sklearn")
    from triage.corpus import split
    from triage.train import export, fit, tokens_of

    rules = load_rules(model=False)
    teencode = rules.index.teencode
    records = split(sorted(TRIAGE_DATA.glob("*.jsonl")), "tuned")
    vectorizer, heads = fit(records, teencode)
    model = parse_model(export(vectorizer, heads, len(records), {}))
    texts = [str(r["text"]) for r in records] + ["", "xin chào", "😂 !!!"]
    matrix = vectorizer.transform(texts)
    for name, classifier in heads.items():
        expected = classifier.decision_function(matrix)
        for text, row in zip(texts, expected, strict=True):
            ours = model.decision(tokens_of(text, teencode), name)
            # equal up to the float32 the weights file keeps
            assert ours == pytest.approx(list(row), rel=1e-5, abs=1e-5), text


def test_train_rebuilds_the_weights_from_tips_and_feedback(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sklearn")
    from intake.cli import main

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(TRIAGE_DATA / "tips_dev.jsonl", data)
    feedback = tmp_path / "feedback.jsonl"
    line = {
        "id": "INC-1",
        "text": "be trai 5 tuoi bi bo dot tay bang thuoc la",
        "expected": {"level": "P1", "categories": ["physical_abuse"], "route_to": []},
        "reason": "operator raised it",
    }
    feedback.write_text(json.dumps(line) + "\n", encoding="utf-8")
    out = tmp_path / "model.json"
    args = ["triage", "train", "--data", str(data), "--feedback", str(feedback)]
    assert main([*args, "--folds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "training on 81 tips (1 feedback files)" in printed
    assert "cross-validated level_accuracy" in printed
    assert load_model(out).trained_on == 81
