"""Concepts found in a tip, combined with time and victim into a level, as the policy reads.

A concept (violence, held, missing ...) is a list of words in `config/triage/concepts.yaml`;
what it means for urgency depends on when it happens and to whom, which is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triage.clauses import Clause, When, clause_at, negated, squeezed
from triage.phrases import Group, PhraseIndex, group
from triage.rules import Category, Level, Purpose, RuleError

CONCEPTS = (
    "violence", "sexual", "sextortion", "border", "taken", "held", "papers_money",
    "recruitment", "forced_work", "baby_sale", "missing", "found", "self_harm", "injury",
    "weapon", "threat", "neglect", "child_labour", "bullying", "online", "emotional",
    "returned", "support_need", "person_at_risk", "distress", "question", "feedback",
    "story", "spam", "organ", "chain_letter", "alone", "not_urgent", "prank", "hypothetical",
    "no_harm",
)  # fmt: skip
# Words that name the person doing harm: before an act, they are its actor.
ACTORS = {
    "bo", "ba", "cha", "me", "ma", "chu", "di", "ong", "duong", "ke", "hang", "xom", "thay",
    "co", "chong", "vo", "nguoi", "ban", "he", "she", "father", "mother", "dad", "mum",
    "mom", "stepfather", "uncle", "man", "woman", "they", "ho", "no", "han", "gia", "dinh",
}  # fmt: skip
CHILDREN = {
    "em", "con", "chau", "be", "tre", "nho", "hoc", "sinh", "child", "kid", "girl", "boy",
    "daughter", "son", "baby", "toi", "minh", "me", "i",
}  # fmt: skip
ACTORS = {squeezed(w) for w in ACTORS}
CHILDREN = {squeezed(w) for w in CHILDREN}


class ConceptSpec(BaseModel):
    """One concept as written in the file."""

    model_config = ConfigDict(extra="forbid")

    says: str = Field(min_length=1)
    says_en: str = Field(min_length=1)
    words: list[str] = Field(min_length=1)
    not_: list[str] = Field(default=[], alias="not")


class ConceptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    concepts: dict[str, ConceptSpec]


@dataclass(frozen=True)
class Concept:
    """A compiled concept."""

    name: str
    says: str
    says_en: str
    words: Group
    exclude: Group | None


@dataclass(frozen=True)
class ConceptSet:
    """Every concept, its words already in the rules' phrase index."""

    concepts: tuple[Concept, ...]
    by_phrase: dict[int, tuple[int, ...]] = field(default_factory=dict)  # phrase -> concepts

    @classmethod
    def of(cls, concepts: tuple[Concept, ...]) -> ConceptSet:
        index: dict[int, list[int]] = {}
        for position, concept in enumerate(concepts):
            for phrase_id in concept.words.ids:
                index.setdefault(phrase_id, []).append(position)
        return cls(concepts, {k: tuple(v) for k, v in index.items()})


def parse_concepts(raw: str, index: PhraseIndex, source: str = "<concepts>") -> ConceptSet:
    """Validate the concept file and register its words in the phrase index."""
    try:
        data: Any = yaml.safe_load(raw)
        spec = ConceptFile.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise RuleError(f"{source}: {exc}") from exc
    missing = [name for name in CONCEPTS if name not in spec.concepts]
    unknown = [name for name in spec.concepts if name not in CONCEPTS]
    if missing or unknown:
        raise RuleError(f"{source}: concepts missing {missing}, unknown {unknown}")
    try:
        return _compiled(spec, index)
    except ValueError as exc:  # a phrase without words
        raise RuleError(f"{source}: {exc}") from exc


def _compiled(spec: ConceptFile, index: PhraseIndex) -> ConceptSet:
    return ConceptSet.of(
        tuple(
            Concept(
                name,
                c.says,
                c.says_en,
                group(index, c.words),
                group(index, c.not_) if c.not_ else None,
            )
            for name, c in spec.concepts.items()
        )
    )


@dataclass(frozen=True)
class Hit:
    """A concept found outside a negation: where, in which clause, the words."""

    concept: Concept
    start: int
    end: int
    clause: Clause


@dataclass
class Reading:
    """The concepts of one tip, by name."""

    hits: dict[str, list[Hit]] = field(default_factory=dict)
    denied: dict[str, list[Hit]] = field(default_factory=dict)

    def has(self, name: str, times: set[When] | None = None) -> bool:
        hits = self.hits.get(name)
        if not hits or times is None:
            return bool(hits)
        return any(h.clause.when in times for h in hits)

    def first(self, name: str, times: set[When] | None = None) -> Hit | None:
        for hit in self.hits.get(name, ()):
            if times is None or hit.clause.when in times:
                return hit
        return None


def read(
    concepts: ConceptSet,
    tokens: list[str],
    found: dict[int, list[tuple[int, int]]],
    clauses: list[Clause],
) -> Reading:
    """Every concept in the tip, each either said or denied ("không bị đánh")."""
    reading = Reading()
    present: dict[int, list[tuple[int, int]]] = {}
    for phrase_id, spans in found.items():
        for position in concepts.by_phrase.get(phrase_id, ()):
            present.setdefault(position, []).extend(spans)
    for position, spans in sorted(present.items()):
        concept = concepts.concepts[position]
        excluded = concept.exclude.spans(found) if concept.exclude is not None else []
        last_end = -1
        for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
            if start < last_end or any(s <= start < e for s, e in excluded):
                continue
            clause = clause_at(clauses, start)
            if clause is None:
                continue
            last_end = end
            hit = Hit(concept, start, end, clause)
            if concept.name not in _NEVER_DENIED and negated(tokens, start, clause.start):
                reading.denied.setdefault(concept.name, []).append(hit)
            else:
                reading.hits.setdefault(concept.name, []).append(hit)
    return reading


def victim(tokens: list[str], act: Hit) -> tuple[str, str]:
    """Who suffers an act and who does it, from the words of its clause ("" when unsaid).

    "bố đánh em": actor bố, victim em. "em bị bố đánh": the one before "bị" is the victim.
    """
    lo, hi = act.clause.start, act.clause.end
    before = tokens[lo : act.start]
    after = tokens[act.end : hi]
    if "bi" in before or "was" in before or "got" in before:
        cut = len(before) - 1 - before[::-1].index("bi") if "bi" in before else len(before)
        sufferer = next((t for t in reversed(before[:cut]) if t in CHILDREN | ACTORS), "")
        doer = next((t for t in before[cut + 1 :] if t in ACTORS), "")
        return sufferer or "?", doer
    doer = next((t for t in reversed(before) if t in ACTORS | CHILDREN), "")
    sufferer = next((t for t in after[:4] if t in CHILDREN | ACTORS), "")
    return sufferer, doer


@dataclass(frozen=True)
class Finding:
    """What one combination of concepts means under the policy."""

    level: Level
    categories: tuple[Category, ...]
    why: tuple[Hit, ...]
    purpose: Purpose | None = None
    needs_review: bool = False
    note: str = ""  # the policy line, for the reason


def _purpose(reading: Reading) -> Purpose:
    if reading.has("baby_sale"):
        return Purpose.CHILD_SALE
    if reading.has("sexual"):
        return Purpose.SEXUAL_EXPLOITATION
    if reading.first("recruitment") and any(
        t in h.concept.says for h in reading.hits["recruitment"] for t in ("chồng",)
    ):
        return Purpose.FORCED_MARRIAGE
    if reading.has("forced_work") or reading.has("recruitment"):
        return Purpose.FORCED_LABOUR
    return Purpose.UNKNOWN


def judge(reading: Reading, tokens: list[str]) -> list[Finding]:
    """The policy applied to the concepts read; the most urgent finding comes first."""
    out: list[Finding] = []
    soon = {When.NOW, When.SOON}
    live = {When.NOW, When.SOON, When.UNKNOWN, When.REPEATED}
    P1, P2, P3 = Level.P1, Level.P2, Level.P3
    trafficking_context = any(
        reading.has(n) for n in ("border", "recruitment", "forced_work", "baby_sale")
    )

    def add(level: Level, cats: tuple[Category, ...], *names: str, **kw: Any) -> None:
        why = tuple(h for n in names if (h := reading.first(n)) is not None)
        if why:
            out.append(Finding(level, cats, why, **kw))

    if hit := reading.first("violence", soon):
        add(P1, (Category.PHYSICAL_ABUSE,), "violence", note="bạo lực đang hoặc sắp xảy ra")
    if reading.has("sexual", soon) and not reading.has("sextortion"):  # images: P2 below
        add(P1, (Category.SEXUAL_ABUSE,), "sexual", note="xâm hại tình dục đang hoặc sắp xảy ra")
    for name in ("border", "taken"):
        if reading.has(name, soon):
            add(
                P1,
                (Category.TRAFFICKING,),
                name,
                purpose=_purpose(reading),
                note="người đang bị đưa đi",
            )
    if reading.has("held", live):
        cats = (Category.TRAFFICKING,) if trafficking_context else (Category.PHYSICAL_ABUSE,)
        add(P1, cats, "held", purpose=_purpose(reading) if trafficking_context else None,
            note="người đang bị giữ hoặc nhốt")  # fmt: skip
    if reading.has("baby_sale", live):
        add(P1, (Category.TRAFFICKING,), "baby_sale", purpose=Purpose.CHILD_SALE,
            note="trẻ bị bán hoặc sắp bị giao")  # fmt: skip
    if reading.has("missing") and not reading.has("found"):  # missing until found
        add(P1, (Category.MISSING_CHILD,), "missing", note="trẻ mất tích chưa tìm thấy")
    if reading.has("self_harm", live):
        add(P1, (Category.SELF_HARM,), "self_harm", note="ý định hoặc hành vi tự hại")
    if reading.has("injury", live):
        cat = Category.NEGLECT if reading.has("neglect") else Category.PHYSICAL_ABUSE
        add(P1, (cat,), "injury", note="thương tích cần chữa trị")
    if reading.has("alone", soon) and (reading.has("neglect") or reading.has("distress")):
        add(P1, (Category.NEGLECT,), "alone", note="trẻ nhỏ bị để một mình nơi nguy hiểm")
    if reading.has("weapon", {When.NOW, When.SOON, When.UNKNOWN}) and (
        reading.has("threat") or reading.has("violence")
    ):
        add(P1, (Category.PHYSICAL_ABUSE,), "weapon", "threat", note="có vũ khí")

    if reading.has("sextortion"):
        add(P2, (Category.ONLINE_ABUSE, Category.SEXUAL_ABUSE), "sextortion",
            note="đe dọa tung ảnh của trẻ")  # fmt: skip
    if reading.has("violence"):
        hit = reading.first("violence")
        assert hit is not None
        review = hit.clause.when == When.UNKNOWN
        add(P2, (Category.PHYSICAL_ABUSE,), "violence", needs_review=review,
            note="bạo lực đã xảy ra hoặc lặp lại")  # fmt: skip
    if reading.has("sexual"):
        add(P2, (Category.SEXUAL_ABUSE,), "sexual", note="xâm hại tình dục đã xảy ra")
    if reading.has("recruitment") and (reading.has("papers_money") or reading.has("border")):
        add(P2, (Category.TRAFFICKING,), "recruitment", "papers_money", "border",
            purpose=_purpose(reading), note="môi giới, đã giữ giấy tờ hoặc nộp tiền")  # fmt: skip
    if reading.has("organ", live | {When.LATER}):
        add(P2, (Category.TRAFFICKING,), "organ", purpose=Purpose.ORGAN_REMOVAL,
            note="môi giới bán nội tạng")  # fmt: skip
    if reading.has("returned") and reading.has("threat"):
        add(P2, (Category.TRAFFICKING, Category.VICTIM_SUPPORT), "returned", "threat",
            purpose=Purpose.UNKNOWN, note="nạn nhân trở về bị đe dọa")  # fmt: skip
    if reading.has("threat"):
        add(P2, (Category.PHYSICAL_ABUSE,), "threat", needs_review=True, note="lời đe dọa")
    if reading.has("forced_work") and (reading.has("violence") or reading.has("held")):
        add(P2, (Category.CHILD_LABOUR,), "forced_work", note="trẻ bị ép làm việc")

    if reading.has("returned") and reading.has("support_need"):
        add(P3, (Category.VICTIM_SUPPORT,), "returned", "support_need",
            note="nạn nhân trở về cần hỗ trợ")  # fmt: skip
    if reading.has("neglect"):
        add(P3, (Category.NEGLECT,), "neglect", note="trẻ bị bỏ mặc")
    if reading.has("child_labour") or reading.has("forced_work"):
        add(P3, (Category.CHILD_LABOUR,), "child_labour", "forced_work", note="lao động trẻ em")
    if reading.has("bullying"):
        bullied: tuple[Category, ...] = (Category.BULLYING,)
        if reading.has("online"):
            bullied = (Category.BULLYING, Category.ONLINE_ABUSE)
        add(P3, bullied, "bullying", note="trẻ bị bắt nạt")
    if reading.has("emotional"):
        add(P3, (Category.EMOTIONAL_ABUSE,), "emotional", note="bạo lực tinh thần")
    if reading.has("self_harm", {When.PAST}) and not reading.has("self_harm", live):
        add(P2, (Category.SELF_HARM,), "self_harm", note="đã từng tự hại")
    if reading.has("found") or reading.has("returned"):
        # A threat stopped in time (the child is safe now) is P3 with the threat's category;
        # a returned victim is P3 (support) unless threatened (P2, above).
        safe = reading.first("found") or reading.first("returned")
        assert safe is not None
        out = [
            Finding(
                P3, f.categories, (*f.why, safe), f.purpose, f.needs_review, f.note + "; đã an toàn"
            )
            if f.level in (P1, P2) and not any(h.concept.name == "threat" for h in f.why)
            else f
            for f in out
        ]
    out.sort(key=lambda f: _RANK[f.level])
    return out


def strong_now(finding: Finding) -> bool:
    """A P1 finding sure enough to raise what a rule said: its own clause says now or soon,
    or the concept is urgent whenever it is not over (a missing child, a sale, held, suicide)."""
    if finding.level != Level.P1:
        return False
    hit = finding.why[0]
    if hit.concept.name in {"baby_sale", "self_harm"}:
        return True
    return hit.clause.stated and hit.clause.when in (When.NOW, When.SOON)


# Kinds of message, not acts: "không" before them does not deny them.
_NEVER_DENIED = {
    "spam", "chain_letter", "prank", "question", "story", "feedback", "not_urgent",
    "hypothetical",
}  # fmt: skip
_RANK = {Level.P1: 0, Level.P2: 1, Level.P3: 2, Level.P4: 3, Level.SPAM: 4}
