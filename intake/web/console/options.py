"""The lists the desk's fields choose from, in the order the form shows them."""

from __future__ import annotations

from typing import Any

from intake.pipeline.desk import AGE_GROUPS, LEVELS, PURPOSES, RELATIONS, SEXES
from intake.pipeline.feedback import CATEGORIES
from intake.web.console.i18n import LABELS

CATEGORY_ORDER = [c for c in LABELS["category"] if c in CATEGORIES]


def choices() -> dict[str, Any]:
    """Categories, purposes, sexes, age groups, relations and levels for a template."""
    return {
        "categories": CATEGORY_ORDER,
        "purposes": list(PURPOSES),
        "sexes": list(SEXES),
        "age_groups": list(AGE_GROUPS),
        "relations": list(RELATIONS),
        "levels": list(LEVELS),
    }
