"""Cross-validate the whole engine: the model retrained on each fold's other tips.

    python -m triage.crossval [--folds 5] [--data tests/data/triage]

Needs the `train` extra (scikit-learn). Prints, for rules and concepts alone and for the
full engine, the figures of `triage eval` over the held-out folds, and which part of the
engine gave each P1 that the labels do not have (the source of over-raising).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from triage.corpus import split
from triage.engine import classify
from triage.eval import EvalReport, evaluate
from triage.loading import load_rules
from triage.model import parse_model
from triage.rules import RuleSet


def _source(rules: RuleSet, text: str) -> str:
    """What set the level of a tip filed P1: the model, a concept or a rule."""
    reasons = classify(text, rules=rules).reasons
    if any(r.rule == "model" and r.effect.endswith("-> P1") for r in reasons):
        return "model"
    first = next((r.rule for r in reasons if r.effect.startswith("level P1")), "?")
    return first.split(":")[0] if first.startswith("concept:") else f"rule {first}"


def run(records: list[dict[str, Any]], rules: RuleSet, folds: int) -> dict[str, Any]:
    """Per fold: train on the rest, evaluate with and without the model."""
    from sklearn.model_selection import StratifiedKFold

    from triage.train import export, fit

    teencode = rules.index.teencode
    levels = [r["expected"]["level"] for r in records]
    plain, full = EvalReport(), EvalReport()
    sources: Counter[str] = Counter()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=111)
    bare = replace(rules, model=None)
    for train_index, test_index in splitter.split(records, levels):
        vectorizer, heads = fit([records[i] for i in train_index], teencode)
        model = parse_model(export(vectorizer, heads, len(train_index), {}))
        fold_rules = replace(rules, model=model)
        test = [records[i] for i in test_index]
        for report, ruleset in ((plain, bare), (full, fold_rules)):
            part = evaluate(test, rules=ruleset)
            report.total += part.total
            report.confusion.update(part.confusion)
            report.route_correct += part.route_correct
            report.categories_correct += part.categories_correct
            report.review += part.review
        for record in test:
            text = record["text"]
            if (
                record["expected"]["level"] != "P1"
                and classify(text, rules=fold_rules).level == "P1"
            ):
                sources[_source(fold_rules, text)] += 1
    return {"rules and concepts": plain, "full": full, "wrong P1 from": sources}


def _figures(report: EvalReport) -> dict[str, float]:
    return {
        "level": round(report.level_accuracy, 3),
        "p1_recall": round(report.recall("P1"), 3),
        "p1_precision": round(report.precision("P1"), 3),
        "route_to": round(report.route_accuracy, 3),
        "categories": round(report.category_accuracy, 3),
        "review": report.review,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("tests/data/triage"))
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    rules = load_rules(model=False)
    records = split(sorted(args.data.glob("*.jsonl")), "tuned")
    result = run(records, rules, args.folds)
    print(f"{len(records)} tuned tips, {args.folds} folds")
    for name in ("rules and concepts", "full"):
        report = result[name]
        print(name, json.dumps(_figures(report)))
        levels = ("P1", "P2", "P3", "P4", "SPAM")
        for e in levels:
            print("   ", e, [report.confusion[(e, p)] for p in levels])
    print("wrong P1 from:", dict(result["wrong P1 from"].most_common()))


if __name__ == "__main__":
    main()
