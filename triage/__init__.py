"""Urgency triage by readable rules: level, categories, route_to and the reasons."""

from triage.engine import Reason, TriageResult, classify
from triage.loading import load_rules
from triage.rules import Category, Level, Purpose, RuleError, RuleSet, parse_rules

__all__ = [
    "Category",
    "Level",
    "Purpose",
    "Reason",
    "RuleError",
    "RuleSet",
    "TriageResult",
    "classify",
    "load_rules",
    "parse_rules",
]
