"""The level being built, and the first say in it: the signals of rules.yaml."""

from __future__ import annotations

from dataclasses import dataclass, replace

from triage.clauses import Clause, When, clause_at
from triage.result import Reason
from triage.rules import URGENCY, Category, Level, Purpose, RuleSet, Signal
from triage.tip import Tip, fires
from triage.wording import rule_reason

HARM = (Level.P1, Level.P2, Level.P3)
ROUTABLE = {
    "trafficking", "physical_abuse", "sexual_abuse", "emotional_abuse", "neglect",
    "child_labour", "bullying", "online_abuse", "self_harm", "missing_child", "victim_support",
}  # fmt: skip


@dataclass
class Decision:
    """The level being built, with what it rests on."""

    level: Level
    categories: list[Category]
    purposes: set[Purpose]
    reasons: list[Reason]
    needs_review: bool = False
    weight: float = 0.0
    act: bool = True  # some harm signal names an act, not only danger words ("khẩn cấp")

    def add_categories(self, categories: tuple[Category, ...] | list[Category]) -> None:
        for category in categories:
            if category not in self.categories:
                self.categories.append(category)


@dataclass(frozen=True)
class Context:
    """What the concepts say about the tip as a whole, which changes what a rule means."""

    safe: bool = False  # the child was found or came back
    calm: bool = False  # the tipster says it is not urgent
    topic: bool = False  # a question or story about a subject, nobody named
    safe_now: bool = False  # found: the danger is over
    out_of_it: bool = False  # safe, and no other clause says now or tonight


def _relabel(signal: Signal, level: Level, suffix: str) -> Signal:
    update: dict[str, object] = {"level": level, "id": f"{signal.spec.id}_{suffix}"}
    if suffix == "out_of_it":
        update["review"] = True  # a person checks that the danger is really over
    return replace(signal, spec=signal.spec.model_copy(update=update))


def said_now(tip: Tip, besides: tuple[Clause, ...] = ()) -> bool:
    """A clause states now or within hours ("đang", "tối nay"), other than `besides`."""
    return any(
        c.stated and c.when in (When.NOW, When.SOON) and c not in besides for c in tip.clauses
    )


def _as_read(signal: Signal, tip: Tip, start: int, context: Context) -> Signal:
    """A signal's level once its clause's time and the tip's context are read.

    A P1 signal said of a time its own clause states as over ("tháng trước", "hồi nhỏ")
    is no danger now: it counts as P2 (harm that happened), or P3 when the tip says the
    person is safe now. A missing child stays P1 however long ago they went: only being
    found ends it. When the tipster says it is not urgent ("không gấp", "no immediate
    danger") a P1 signal counts as P2 and the tip is marked for review.
    """
    spec = signal.spec
    clause = clause_at(tip.clauses, start)
    over = clause is not None and clause.stated and clause.when == When.PAST
    # "every night", "again and again": harm that keeps happening is P2 by the policy
    # (repeated beatings), unless the tip also says it is happening now or tonight.
    repeated = (
        clause is not None and clause.stated and clause.when == When.REPEATED and not said_now(tip)
    )
    if context.topic and spec.level in HARM:
        # Danger words inside a general question or story place nobody: P4, reviewed.
        return _relabel(signal, Level.P4, "topic")
    kinds = {str(c) for c in spec.categories}
    if (
        spec.level == Level.P2
        and context.safe_now
        and not kinds & {"trafficking", "victim_support"}
    ):
        # Harm that happened, the child safe now and the abuser gone: support (P3).
        return _relabel(signal, Level.P3, "safe_now")
    if spec.level == Level.P1 and Category.MISSING_CHILD not in spec.categories:
        # The tip says the person is out of it now (escaped, came home, no longer lives
        # with the abuser) and nothing is said of now or tonight: what the signal names is
        # harm that happened (P2, reviewed), not a danger in the next hours.
        out_of_it = context.out_of_it and Category.SELF_HARM not in spec.categories
        if over or context.calm or out_of_it:
            level = Level.P3 if context.safe and over else Level.P2
            suffix = "past" if over else "not_urgent" if context.calm else "out_of_it"
            return _relabel(signal, level, suffix)
        if repeated and Category.SELF_HARM not in spec.categories:
            return _relabel(signal, Level.P2, "repeated")
    return signal


def by_rules(tip: Tip, rules: RuleSet, context: Context) -> Decision:
    """The signals of rules.yaml: the authority when one fires."""
    fired: list[tuple[Signal, str]] = []
    candidates = sorted({i for p in tip.found for i in rules.by_phrase.get(p, ())})
    for position in candidates:
        signal = rules.signals[position]
        hit = fires(signal, tip, rules)
        if hit is not None:
            matched, start = hit
            fired.append((_as_read(signal, tip, start, context), matched))
    superseded = {other for signal, _ in fired for other in signal.spec.supersedes}
    fired = [(s, m) for s, m in fired if s.spec.id not in superseded]
    pranks = [(s, m) for s, m in fired if s.spec.prank]
    harm = [(s, m) for s, m in fired if s.spec.level in HARM]
    rest = [(s, m) for s, m in fired if s.spec.level in (Level.P4, Level.SPAM)]
    if pranks:
        chosen, level = pranks, Level.SPAM
    elif harm:
        chosen = harm
        level = max((s.spec.level for s, _ in harm), key=URGENCY.__getitem__)
    else:
        spam = [(s, m) for s, m in rest if s.spec.level == Level.SPAM]
        chosen = spam or rest
        level = Level.SPAM if spam else Level.P4
    decision = Decision(level, [], set(), [rule_reason(s, m) for s, m in chosen])
    decision.act = not harm or any(not s.spec.review for s, _ in chosen)
    for signal, _ in chosen:
        decision.add_categories(signal.spec.categories)
        if signal.spec.purpose:
            decision.purposes.add(signal.spec.purpose)
        decision.weight += signal.spec.weight
        decision.needs_review |= signal.spec.review
    return decision
