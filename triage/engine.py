"""Score a tip: level, score, categories, trafficking purpose, route_to, victim, reasons.

Pure: everything it needs comes in as arguments (the compiled rules, the recipients table,
how many recent incidents concern the same place or person). The stages, in order: the
rules (triage/decision.py), the concepts (triage/placing.py), the model
(triage/second_opinion.py), then the policy's modifiers and the route.
"""

from __future__ import annotations

from routing.policy import RecipientTable, recipients_for
from triage.clauses import When
from triage.concepts import read
from triage.decision import HARM, ROUTABLE, Context, Decision, by_rules, said_now
from triage.person import victim_age as stated_age
from triage.person import victim_gender as stated_gender
from triage.person import youngest_child
from triage.phrases import BREAK
from triage.placing import by_concepts, only_a_topic
from triage.result import Reason, TriageResult
from triage.rules import URGENCY, Category, Level, Purpose, RuleSet
from triage.second_opinion import by_model, model_categories
from triage.tip import Tip
from triage.wording import EMPTY, MODIFIER_TEXT

__all__ = ["Reason", "TriageResult", "classify"]

PURPOSE_ORDER = [
    Purpose.CHILD_SALE,
    Purpose.SEXUAL_EXPLOITATION,
    Purpose.FORCED_MARRIAGE,
    Purpose.ORGAN_REMOVAL,
    Purpose.FORCED_LABOUR,
    Purpose.COMMERCIAL_SURROGACY,
    Purpose.UNKNOWN,
]


def _decide(tip: Tip, rules: RuleSet) -> Decision:
    """Rules, then concepts by clause, then the model."""
    reading = None
    context = Context()
    if rules.concepts is not None:
        reading = read(rules.concepts, tip.tokens, tip.found, tip.clauses)
        # Out of it: found, escaped, away from the abuser ("returned" is not enough: "đi từ
        # hôm qua không về" reads as one), and no clause but the safety's own ("he has no
        # contact with her now") says now or tonight. A missing child's signals stay P1
        # (decision.py): only the model and the other signals are held back.
        saying_safe = tuple(h.clause for h in reading.hits.get("found", ()))
        out_of_it = bool(saying_safe)
        # "Mức độ: không khẩn cấp ... Đang xảy ra": an act said to happen now outweighs
        # the tipster's (or the form's) "not urgent".
        calming = tuple(h.clause for h in reading.hits.get("not_urgent", ()))
        calm = bool(calming) and not said_now(tip, calming)
        context = Context(
            safe=reading.has("found") or reading.has("returned"),
            calm=calm,
            topic=only_a_topic(reading, tip),
            safe_now=reading.has("found"),
            out_of_it=out_of_it and not said_now(tip, saying_safe),
        )
    decision = by_rules(tip, rules, context)
    decision.needs_review |= context.calm or any(
        r.rule.endswith("_topic") for r in decision.reasons
    )
    if reading is not None:
        by_concepts(decision, reading, tip, calm=context.calm)
    # The model cannot read time: where the tip says the person is out of danger and
    # names no now or tonight, a P1 needs the rules or concepts, not the model alone.
    # Likewise where the only time said is days or weeks away ("cuối tháng", "next
    # week": P2 by the policy), and over a chain letter (it names a danger to be
    # forwarded): the model then raises at most to P2, with a review.
    # And where the tipster denies the harm itself ("không đánh", "no injuries").
    later = (
        any(c.stated and c.when == When.LATER for c in tip.clauses)
        or (reading is not None and reading.has("no_harm"))
    ) and not said_now(tip)
    chain = [r.rule for r in decision.reasons] == ["concept:chain_letter"]
    calm = context.calm or context.topic or context.out_of_it or later or chain
    by_model(decision, tip, rules, calm=calm)
    return decision


def _categories(decision: Decision, tip: Tip, rules: RuleSet) -> list[Category]:
    """Routable categories for P1-P3; information (P4) or other (SPAM, thanks) otherwise."""
    level, categories = decision.level, decision.categories
    if level in HARM:
        categories = model_categories(tip, rules, categories, decision.reasons)
        categories = [c for c in categories if str(c) in ROUTABLE] or [Category.OTHER]
        return categories
    if level == Level.P4 and not any(r.rule == "thanks_feedback" for r in decision.reasons):
        return [Category.INFORMATION]
    return [Category.OTHER]


def _modifier(tip: Tip, rules: RuleSet, age: int | None, repeat_count: int) -> Reason | None:
    """The policy's modifiers of a P3: a child under 6, a disability, repeated tips."""
    young = age if age is not None else youngest_child(tip)
    if young is not None and young < 6:
        rule, matched, effect = "young_child", str(young), "P3 -> P2: a victim younger than 6"
    elif spans := rules.disability.spans(tip.found):
        rule, matched = "disability", tip.phrase(*spans[0])
        effect = "P3 -> P2: a person with a disability"
    elif repeat_count > 0:
        rule, matched, effect = "repeat_report", str(repeat_count), "P3 -> P2: repeated tips"
    elif spans := rules.repeat_report.spans(tip.found):
        rule, matched = "repeat_report", tip.phrase(*spans[0])
        effect = "P3 -> P2: repeated tips"
    else:
        return None
    return Reason(rule, matched, effect, *MODIFIER_TEXT[rule](matched))


def classify(
    text: str,
    *,
    rules: RuleSet,
    recipients: RecipientTable | None = None,
    repeat_count: int = 0,
    victim_age: int | None = None,
    victim_gender: str | None = None,
    channel: str | None = None,
) -> TriageResult:
    """Triage one tip: rules, then concepts by clause, then the model; never raises."""
    tip = Tip.of(text or "", rules)
    if not any(t != BREAK for t in tip.tokens):
        # An empty message (no words: nothing, emoji, punctuation) is SPAM by the policy's
        # table; it is kept, never routed, and an operator can still open it.
        return TriageResult(
            Level.SPAM, 0.0, (Category.OTHER,), None, (), (EMPTY,), victim_age, victim_gender
        )
    decision = _decide(tip, rules)
    level, reasons = decision.level, decision.reasons
    categories = _categories(decision, tip, rules)
    purpose = None
    if Category.TRAFFICKING in categories:
        purpose = next((p for p in PURPOSE_ORDER if p in decision.purposes), Purpose.UNKNOWN)

    age, age_at = stated_age(tip, rules, purpose)
    if level in (Level.P4, Level.SPAM):
        age, age_at = None, -1  # no identifiable person at risk
    if victim_age is None:
        victim_age = age
    if victim_gender is None and level not in (Level.P4, Level.SPAM):
        victim_gender = stated_gender(tip, rules, age_at)
    if level == Level.P3 and (raised := _modifier(tip, rules, victim_age, repeat_count)):
        level = Level.P2
        reasons.append(raised)

    score = decision.weight + 10 * URGENCY[level]
    table = recipients or rules.recipients
    route = tuple(recipients_for([str(c) for c in categories], str(level), table))
    return TriageResult(
        level,
        float(score),
        tuple(categories),
        purpose,
        route,
        tuple(reasons),
        victim_age,
        victim_gender,
        decision.needs_review,
    )
