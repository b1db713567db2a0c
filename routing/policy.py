"""Who receives a routed incident: the category x level table of the triage policy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "config" / "routing" / "recipients.yaml"
ROLES = ("police", "social_worker")
ROUTED_LEVELS = ("P1", "P2", "P3")


class PolicyError(ValueError):
    """A recipients table that cannot be used."""


@dataclass(frozen=True)
class RecipientTable:
    """category -> level -> recipient roles."""

    table: Mapping[str, Mapping[str, tuple[str, ...]]]


def parse_recipients(data: object, source: str = "<recipients>") -> RecipientTable:
    """Validate the table: known roles, the three routed levels for every category."""
    if not isinstance(data, dict) or not isinstance(data.get("table"), dict):
        raise PolicyError(f"{source}: expected a mapping with a 'table'")
    table: dict[str, dict[str, tuple[str, ...]]] = {}
    for category, row in data["table"].items():
        if not isinstance(row, dict) or set(row) != set(ROUTED_LEVELS):
            raise PolicyError(f"{source}: category {category!r} needs exactly P1, P2 and P3")
        table[str(category)] = {}
        for level, roles in row.items():
            if not isinstance(roles, list) or not set(roles) <= set(ROLES):
                raise PolicyError(f"{source}: {category} {level}: roles must be among {ROLES}")
            table[str(category)][str(level)] = tuple(roles)
    return RecipientTable(table)


def load_recipients(path: Path | None = None) -> RecipientTable:
    """Load the table (default: the repository's config/routing/recipients.yaml)."""
    file = path or DEFAULT_PATH
    return parse_recipients(yaml.safe_load(file.read_text(encoding="utf-8")), str(file))


def recipients_for(categories: Iterable[str], level: str, table: RecipientTable) -> list[str]:
    """The union of the table's cells over the categories at this level, in role order."""
    if level not in ROUTED_LEVELS:
        return []
    roles: set[str] = set()
    for category in categories:
        roles.update(table.table.get(str(category), {}).get(level, ()))
    return [role for role in ROLES if role in roles]
