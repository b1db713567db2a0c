"""Loading the rules with what sits beside them: concepts and the model's weights."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from routing.policy import load_recipients
from triage.concepts import parse_concepts
from triage.model import load_model
from triage.rules import DEFAULT_PATH, RuleSet, parse_rules


def load_rules(
    path: Path | None = None, recipients: Path | None = None, *, model: bool = True
) -> RuleSet:
    """Load `rules.yaml` from a config folder's triage/ (default: the repository's), the
    recipients table beside it in routing/recipients.yaml, and beside the rules the
    concepts (concepts.yaml) and the model's weights (model.json) when they are there.
    A bad weights file raises ModelError naming the problem."""
    folder = path or DEFAULT_PATH
    file = folder / "rules.yaml" if folder.is_dir() or not folder.suffix else folder
    table = load_recipients(recipients or file.parent.parent / "routing" / "recipients.yaml")
    rules = parse_rules(file.read_text(encoding="utf-8"), table, str(file))
    concepts_file = file.parent / "concepts.yaml"
    if concepts_file.exists():
        concepts = parse_concepts(
            concepts_file.read_text(encoding="utf-8"), rules.index, str(concepts_file)
        )
        rules = replace(rules, concepts=concepts)
    weights = file.parent / "model.json"
    if model and weights.exists():
        rules = replace(rules, model=load_model(weights))
    return rules
