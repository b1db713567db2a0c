"""The model's second opinion: it may raise a level or ask for a review, never lower one."""

from __future__ import annotations

from triage.decision import HARM, ROUTABLE, Decision
from triage.model import Opinion
from triage.result import Reason
from triage.rules import URGENCY, Category, Level, RuleSet
from triage.tip import Tip
from triage.wording import NO_SIGNAL, model_categories_reason, model_reason

# Raise the level when the model is this sure of a more urgent one, else ask for a review
# when it is at least REVIEW sure. Chosen on the tuned part of the corpus.
MODEL_RAISE = 0.4
MODEL_REVIEW = 0.35
# A P1 from the model alone: below this it only raises to P2 and asks for a review. Chosen
# on the cross-validated corpus (python -m triage.crossval) for recall first, as the policy
# weighs a missed child in danger above a false alarm: at 0.40 P1 recall 0.989, precision
# 0.894; at 0.55 recall 0.974, precision 0.919. Calm tips still never get a P1 from it.
MODEL_RAISE_P1 = 0.40
MODEL_SPAM = 0.5
# The category head names the categories when it gives its label at least this probability
# (some 3x chance among its ~20 labels): on tips it was not trained on it got the
# categories right more often than the rules' (0.82 against 0.65 on a half-split of the
# tuned corpus). The change is shown as a reason.
CATEGORY_SWAP = 0.15


def _reason(opinion: Opinion, tip: Tip, rules: RuleSet, effect: str) -> Reason:
    assert rules.model is not None
    words = rules.model.top_words(tip.tokens, "level", opinion.label)
    return model_reason(opinion, ", ".join(f"{w} ({weight:+.2f})" for w, weight in words), effect)


def by_model(decision: Decision, tip: Tip, rules: RuleSet, calm: bool = False) -> None:
    """Raise the level or ask for a review where the model reads more urgency."""
    model = rules.model
    if model is None or "level" not in model.heads or decision.level == Level.P1:
        return  # nothing is above P1, and the model never lowers
    opinion = model.opinion(tip.tokens, "level", tip.scores(rules))
    said = Level(opinion.label)
    if decision.reasons == [NO_SIGNAL] and said == Level.SPAM and opinion.probability >= MODEL_SPAM:
        # Nothing placed the tip (P4 by default): the model's reading that it is spam
        # (an ad, a flirt, a prank it has seen the like of) is the only evidence there is.
        decision.level = Level.SPAM
        decision.reasons.append(_reason(opinion, tip, rules, "SPAM"))
        return
    provisional = [r.rule for r in decision.reasons] == ["no_rule_places_person_at_risk"]
    if provisional and said in HARM and opinion.probability >= MODEL_RAISE:
        if said == Level.P1 and opinion.probability < MODEL_RAISE_P1:
            decision.reasons.append(_reason(opinion, tip, rules, "needs review (P1?)"))
            return
        # Nothing placed the tip; the model's reading picks among P1-P3 (never P4), and
        # the tip stays marked for review.
        decision.level = said
        decision.reasons.append(_reason(opinion, tip, rules, f"P2 -> {said}"))
        return
    if URGENCY[said] <= URGENCY[decision.level] or opinion.probability < MODEL_REVIEW:
        return
    raise_it = opinion.probability >= MODEL_RAISE
    if said == Level.P1 and (opinion.probability < MODEL_RAISE_P1 or calm):
        # Not sure enough of a danger now, or the tipster says it is not urgent, or the
        # tip is a question or story about a subject: at most P2, and a person reads it.
        said, raise_it = Level.P2, raise_it and URGENCY[decision.level] < URGENCY[Level.P2]
    effect = f"{decision.level} -> {said}" if raise_it else f"needs review ({opinion.label}?)"
    decision.reasons.append(_reason(opinion, tip, rules, effect))
    decision.needs_review = True
    if not raise_it:
        return
    decision.level = said
    if not any(str(c) in ROUTABLE for c in decision.categories) and "category" in model.heads:
        category = model.opinion(tip.tokens, "category", tip.scores(rules))
        ranked = sorted(category.probabilities.items(), key=lambda kv: -kv[1])
        best = next((label for label, _ in ranked if set(label.split("+")) <= ROUTABLE), None)
        if best:
            decision.categories = [Category(c) for c in best.split("+")]


def model_categories(
    tip: Tip, rules: RuleSet, categories: list[Category], reasons: list[Reason]
) -> list[Category]:
    """The category head's labels when it is sure and they are routable, else the rules'."""
    if rules.model is None or "category" not in rules.model.heads:
        return categories
    opinion = rules.model.opinion(tip.tokens, "category", tip.scores(rules))
    labels = opinion.label.split("+")
    if opinion.probability < CATEGORY_SWAP or not set(labels) <= ROUTABLE:
        return categories
    chosen = [Category(c) for c in labels]
    if set(chosen) != set(categories):
        reasons.append(model_categories_reason(labels, opinion.probability))
    return chosen
