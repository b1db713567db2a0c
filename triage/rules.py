"""The rule file: its schema, validation with errors that name the rule, and compilation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from routing.policy import RecipientTable
from triage.phrases import Group, PhraseIndex, group
from triage.text import fold

if TYPE_CHECKING:
    from triage.concepts import ConceptSet
    from triage.model import LinearModel

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "config" / "triage"


class Level(StrEnum):
    """Urgency, most urgent first."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    SPAM = "SPAM"


class Category(StrEnum):
    """The case categories the reports count."""

    TRAFFICKING = "trafficking"
    PHYSICAL_ABUSE = "physical_abuse"
    SEXUAL_ABUSE = "sexual_abuse"
    EMOTIONAL_ABUSE = "emotional_abuse"
    NEGLECT = "neglect"
    CHILD_LABOUR = "child_labour"
    BULLYING = "bullying"
    ONLINE_ABUSE = "online_abuse"
    SELF_HARM = "self_harm"
    MISSING_CHILD = "missing_child"
    VICTIM_SUPPORT = "victim_support"
    INFORMATION = "information"
    OTHER = "other"


class Purpose(StrEnum):
    """Why a person was trafficked."""

    SEXUAL_EXPLOITATION = "sexual_exploitation"
    FORCED_LABOUR = "forced_labour"
    ORGAN_REMOVAL = "organ_removal"
    COMMERCIAL_SURROGACY = "commercial_surrogacy"
    CHILD_SALE = "child_sale"
    FORCED_MARRIAGE = "forced_marriage"
    UNKNOWN = "unknown"


URGENCY = {Level.P1: 4, Level.P2: 3, Level.P3: 2, Level.P4: 1, Level.SPAM: 0}

Phrases = list[str]


class SignalSpec(BaseModel):
    """One signal as written in the rule file."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    level: Level
    categories: list[Category] = Field(min_length=1)
    purpose: Purpose | None = None
    any: Phrases = Field(min_length=1)
    near: list[Phrases] = []
    also: list[Phrases] = []
    unless: Phrases = []
    exclude: Phrases = []  # words that look like a match but are not ("đánh bài")
    supersedes: list[str] = []  # signals that no longer count when this one fires
    window: int = Field(default=15, ge=1, le=200)
    weight: float = Field(default=10, ge=0, le=100)
    negatable: bool = True
    prank: bool = False  # fires over harm signals: the tip itself says it is not real
    only: bool = False  # fires only when the text says nothing else
    review: bool = False  # its level is provisional: a person reads the tip
    says: str | None = None  # what the signal means, in Vietnamese, for the reason
    says_en: str | None = None

    @field_validator("any", "unless")
    @classmethod
    def _phrases_not_empty(cls, value: Phrases) -> Phrases:
        for phrase in value:
            if not fold(str(phrase)).strip():
                raise ValueError(f"empty phrase {phrase!r}")
        return value


class GenderSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    female: Phrases
    male: Phrases
    ignore: Phrases = []


class AgeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    years: Phrases
    newborn: Phrases


class RuleFile(BaseModel):
    """The whole rule file."""

    model_config = ConfigDict(extra="forbid")

    version: int
    teencode: dict[str, str]
    negators: Phrases
    age_words: AgeSpec
    gender: GenderSpec
    disability: Phrases
    repeat_report: Phrases
    signals: list[SignalSpec] = Field(min_length=1)


class RuleError(ValueError):
    """A rule file that cannot be used; the message names the rule and the problem."""


@dataclass(frozen=True)
class Signal:
    """A compiled signal."""

    spec: SignalSpec
    any: Group
    near: tuple[Group, ...]
    also: tuple[Group, ...]
    unless: Group | None
    exclude: Group | None


@dataclass(frozen=True)
class RuleSet:
    """Rules ready to run: every phrase indexed, plus the tables the engine needs."""

    version: int
    source: str
    index: PhraseIndex
    signals: tuple[Signal, ...]
    negators: Group
    female: Group
    male: Group
    gender_ignore: Group | None
    disability: Group
    repeat_report: Group
    newborn: Group
    recipients: RecipientTable
    by_phrase: dict[int, tuple[int, ...]]  # phrase id -> signals whose `any` has it
    concepts: ConceptSet | None = None  # concepts.yaml, when the folder has one
    model: LinearModel | None = None  # model.json, when the folder has one


def _line_of(raw: str, signal_id: str) -> str:
    for number, line in enumerate(raw.splitlines(), start=1):
        if re.search(rf"id:\s*{re.escape(signal_id)}\s*$", line):
            return f" (line {number})"
    return ""


def parse_rules(raw: str, recipients: RecipientTable, source: str = "<rules>") -> RuleSet:
    """Validate and compile a rule file's text."""
    try:
        data: Any = yaml.safe_load(raw)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RuleError(f"{source}:{where} is not valid YAML: {exc.problem}") from exc
    try:
        spec = RuleFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = error["loc"]
            where = ".".join(str(p) for p in location)
            if len(location) >= 2 and location[0] == "signals" and isinstance(location[1], int):
                signals = data.get("signals") if isinstance(data, dict) else None
                if isinstance(signals, list) and location[1] < len(signals):
                    raw_id = (
                        signals[location[1]].get("id", "?")
                        if isinstance(signals[location[1]], dict)
                        else "?"
                    )
                    where = f"rule {raw_id!r}{_line_of(raw, str(raw_id))}, field " + ".".join(
                        str(p) for p in location[2:]
                    )
            problems.append(f"{where}: {error['msg']}")
        raise RuleError(f"{source}: " + "; ".join(problems)) from exc
    seen: set[str] = set()
    for signal in spec.signals:
        if signal.id in seen:
            raise RuleError(
                f"{source}: rule {signal.id!r}{_line_of(raw, signal.id)} is defined twice"
            )
        seen.add(signal.id)
    for signal in spec.signals:
        for other in signal.supersedes:
            if other not in seen:
                raise RuleError(
                    f"{source}: rule {signal.id!r}{_line_of(raw, signal.id)} supersedes "
                    f"unknown rule {other!r}"
                )
    teencode = {fold(k): fold(v) for k, v in spec.teencode.items()}
    index = PhraseIndex(teencode)

    def compiled(phrases: Phrases) -> Group:
        return group(index, phrases)

    signals = tuple(
        Signal(
            spec=s,
            any=compiled(s.any),
            near=tuple(compiled(g) for g in s.near),
            also=tuple(compiled(g) for g in s.also),
            unless=compiled(s.unless) if s.unless else None,
            exclude=compiled(s.exclude) if s.exclude else None,
        )
        for s in spec.signals
    )
    return RuleSet(
        version=spec.version,
        source=source,
        index=index,
        signals=signals,
        negators=compiled(spec.negators),
        female=compiled(spec.gender.female),
        male=compiled(spec.gender.male),
        gender_ignore=compiled(spec.gender.ignore) if spec.gender.ignore else None,
        disability=compiled(spec.disability),
        repeat_report=compiled(spec.repeat_report),
        newborn=compiled(spec.age_words.newborn),
        recipients=recipients,
        by_phrase=_signals_by_phrase(signals),
    )


def _signals_by_phrase(signals: tuple[Signal, ...]) -> dict[int, tuple[int, ...]]:
    """Which signals a phrase can set off, so a tip only checks the signals it could fire."""
    index: dict[int, list[int]] = {}
    for position, signal in enumerate(signals):
        for phrase_id in signal.any.ids:
            index.setdefault(phrase_id, []).append(position)
    return {k: tuple(v) for k, v in index.items()}
