"""Rebuild the model's weights from labelled tips (needs the `train` extra: scikit-learn).

Only `hotline111 triage train` and the parity test import this module; the service reads
the weights through triage/model.py and never loads scikit-learn.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from triage.model import FORMAT, VERSION, encode_weights, features
from triage.phrases import words

MAX_CHARS = 10_000
C = 4.0  # inverse regularisation; chosen by cross-validation on the tuned part
MIN_DF = 5


def tokens_of(text: str, teencode: dict[str, str]) -> list[str]:
    """The folded tokens of a tip, as the engine reads them."""
    return words(unicodedata.normalize("NFC", text[:MAX_CHARS]), teencode)


def category_label(categories: Sequence[str]) -> str:
    """One label for the category head: the categories, sorted, joined by '+'."""
    return "+".join(sorted(categories))


def _pipeline(teencode: dict[str, str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    def analyzer(text: str) -> list[str]:
        return features(tokens_of(text, teencode))

    return TfidfVectorizer(analyzer=analyzer, binary=True, norm="l2", min_df=MIN_DF)


def _classifier() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=3000, class_weight="balanced")


def fit(records: Sequence[dict[str, Any]], teencode: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    """Fit the vectorizer and both heads; returns the vectorizer and the heads."""
    texts = [str(r["text"]) for r in records]
    vectorizer = _pipeline(teencode)
    matrix = vectorizer.fit_transform(texts)
    heads = {}
    for name, labels in (
        ("level", [r["expected"]["level"] for r in records]),
        ("category", [category_label(r["expected"]["categories"]) for r in records]),
    ):
        classifier = _classifier()
        classifier.fit(matrix, labels)
        heads[name] = classifier
    return vectorizer, heads


def cross_validate(
    records: Sequence[dict[str, Any]], teencode: dict[str, str], folds: int = 5
) -> dict[str, float]:
    """Level accuracy, P1 recall and precision, category accuracy over stratified folds."""
    from sklearn.model_selection import StratifiedKFold

    levels = [r["expected"]["level"] for r in records]
    right = p1_hit = p1_expected = p1_predicted = category_right = 0
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=111)
    for train_index, test_index in splitter.split(records, levels):
        vectorizer, heads = fit([records[i] for i in train_index], teencode)
        test = [records[i] for i in test_index]
        matrix = vectorizer.transform([str(r["text"]) for r in test])
        predicted = heads["level"].predict(matrix)
        categories = heads["category"].predict(matrix)
        for record, level, category in zip(test, predicted, categories, strict=True):
            expected = record["expected"]["level"]
            right += level == expected
            p1_expected += expected == "P1"
            p1_predicted += level == "P1"
            p1_hit += level == "P1" and expected == "P1"
            category_right += category == category_label(record["expected"]["categories"])
    total = len(records)
    return {
        "folds": folds,
        "tips": total,
        "level_accuracy": round(right / total, 3),
        "p1_recall": round(p1_hit / max(1, p1_expected), 3),
        "p1_precision": round(p1_hit / max(1, p1_predicted), 3),
        "category_accuracy": round(category_right / total, 3),
    }


def export(
    vectorizer: Any, heads: dict[str, Any], trained_on: int, cv: dict[str, Any]
) -> dict[str, Any]:
    """The weights document that triage/model.py reads."""
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "trained_on": trained_on,
        "cross_validated": cv,
        "vocabulary": vocabulary,
        "idf": [float(v) for v in vectorizer.idf_],
        "heads": {},
    }
    for name, classifier in heads.items():
        document["heads"][name] = {
            "classes": [str(c) for c in classifier.classes_],
            "intercept": [float(b) for b in classifier.intercept_],
            "weights": encode_weights(classifier.coef_.T.tolist()),
        }
    return document
