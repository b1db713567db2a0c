"""Score a tip: level, score, categories, trafficking purpose, route_to, victim, reasons.

Pure: everything it needs comes in as arguments (the compiled rules, the recipients table,
how many recent incidents concern the same place or person).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from routing.policy import RecipientTable, recipients_for
from triage.clauses import Clause, When, clause_at, clauses, negated
from triage.concepts import Finding, Reading, judge, read, specific_person, strong_now
from triage.describe import CATEGORY_EN, CATEGORY_VI, quote, rule_sentence
from triage.model import Opinion, Scores
from triage.phrases import BREAK, Group, tokens_and_spans
from triage.rules import URGENCY, Category, Level, Purpose, RuleSet, Signal

MAX_CHARS = 10_000  # a tip longer than this is scored on its first 10,000 characters
PURPOSE_ORDER = [
    Purpose.CHILD_SALE,
    Purpose.SEXUAL_EXPLOITATION,
    Purpose.FORCED_MARRIAGE,
    Purpose.ORGAN_REMOVAL,
    Purpose.FORCED_LABOUR,
    Purpose.COMMERCIAL_SURROGACY,
    Purpose.UNKNOWN,
]
_AGE = re.compile(
    r"(?<![\w-])(\d{1,2})(?:(?:\s*(?:-|den|va|hoac|toi)\s*|\s+)(\d{1,2}))?\s*"
    r"(?:tuoi|t|year old|years old|yo)(?!\w)"
)


@dataclass(frozen=True)
class Reason:
    """A rule that fired, the words that made it fire, and the sentence a supervisor reads."""

    rule: str
    matched: str
    effect: str
    text: str = ""
    text_en: str = ""

    def to_json(self, lang: str = "vi") -> dict[str, str]:
        """`text` is in the language asked for (vi or en); `text_en` is always English."""
        text = self.text_en if lang == "en" else self.text
        return {
            "rule": self.rule,
            "matched": self.matched,
            "effect": self.effect,
            "text": text or self.effect,
            "text_en": self.text_en or self.effect,
        }


@dataclass(frozen=True)
class TriageResult:
    """What triage concluded about one tip, with the reasons."""

    level: Level
    score: float
    categories: tuple[Category, ...]
    trafficking_purpose: Purpose | None
    route_to: tuple[str, ...]
    reasons: tuple[Reason, ...]
    victim_age: int | None = None
    victim_gender: str | None = None
    needs_review: bool = False  # a provisional level: a person should read the tip

    def to_json(self, record_id: object, lang: str = "vi") -> dict[str, Any]:
        """The `hotline111 triage` output line."""
        return {
            "id": record_id,
            "level": str(self.level),
            "score": round(self.score, 1),
            "categories": [str(c) for c in self.categories],
            "trafficking_purpose": str(self.trafficking_purpose)
            if self.trafficking_purpose
            else None,
            "route_to": list(self.route_to),
            "reasons": [r.to_json(lang) for r in self.reasons],
            "victim_age": self.victim_age,
            "victim_gender": self.victim_gender,
            "needs_review": self.needs_review,
        }


@dataclass
class _Text:
    """The tip as tokens, with every phrase of the rule file already found in it."""

    tokens: list[str]
    found: dict[int, list[tuple[int, int]]]
    original: str
    spans: list[tuple[int, int]]
    clauses: list[Clause]
    _scores: Scores | None = None

    def scores(self, rules: RuleSet) -> Scores:
        """The model's scores of the tip, computed once."""
        assert rules.model is not None
        if self._scores is None:
            self._scores = rules.model.scores(self.tokens)
        return self._scores

    @classmethod
    def of(cls, text: str, rules: RuleSet) -> _Text:
        original = unicodedata.normalize("NFC", text[:MAX_CHARS])
        tokens, spans = tokens_and_spans(original, rules.index.teencode)
        parts = clauses(tokens, original, spans)
        return cls(tokens, rules.index.find(tokens), original, spans, parts)

    @property
    def flat(self) -> str:
        return " ".join(self.tokens)

    def phrase(self, start: int, end: int) -> str:
        """The words the tipster wrote for tokens start..end (as written)."""
        if end <= start or end > len(self.spans):
            return " ".join(self.tokens[start:end])
        return self.original[self.spans[start][0] : self.spans[end - 1][1]]


def _negated(text: _Text, rules: RuleSet, start: int) -> bool:
    """A negator covers the words at `start`, inside their own clause only."""
    clause = clause_at(text.clauses, start)
    lo = clause.start if clause is not None else 0
    if rules.negators.any_in(text.found, max(lo, start - 3), start):
        return True
    return negated(text.tokens, start, lo)


def _fires(signal: Signal, text: _Text, rules: RuleSet) -> tuple[str, int] | None:
    """The matched words and where, when a signal fires, else None."""
    spec, found = signal.spec, text.found
    if signal.unless is not None and signal.unless.any_in(found):
        return None
    if not all(g.any_in(found) for g in signal.also):
        return None
    excluded = signal.exclude.spans(found) if signal.exclude is not None else []
    for start, end in signal.any.spans(found):
        if any(s < end and start < e for s, e in excluded):
            continue
        if spec.negatable and _negated(text, rules, start):
            continue
        lo, hi = start - spec.window, end + spec.window
        if all(_said_near(g, text, rules, lo, hi) for g in signal.near):
            return text.phrase(start, end), start
    return None


def _said_near(near: Group, text: _Text, rules: RuleSet, lo: int, hi: int) -> bool:
    """A `near` word counts when it is said, not denied ("không bị nhốt, nhưng ...")."""
    return any(
        lo <= s and e <= hi and not _negated(text, rules, s) for s, e in near.spans(text.found)
    )


def _only(signal: Signal, text: _Text) -> tuple[str, int] | None:
    """For `only` signals: fires when nothing but its phrases (or fillers) is said."""
    covered: set[int] = set()
    for start, end in signal.any.spans(text.found):
        covered.update(range(start, end))
    leftover = [t for i, t in enumerate(text.tokens) if i not in covered and t not in _FILLERS]
    if covered and not leftover:
        return text.flat[:60], 0
    return None


_FILLERS = {
    BREAK,
    "a",
    "oi",
    "ah",
    "nhe",
    "nha",
    "ad",
    "admin",
    "ha",
    "co",
    "ai",
    "khong",
    "em",
    "anh",
}


def _victim_age(text: _Text, rules: RuleSet, purpose: Purpose | None) -> tuple[int | None, int]:
    """The victim's age from stated numbers (several different ages: unknown), and where."""
    newborn = rules.newborn.spans(text.found)
    if purpose == Purpose.CHILD_SALE and newborn:
        return 0, newborn[0][0]
    flat = text.flat
    starts = _word_starts(flat)
    ages: list[tuple[int, int]] = []
    ranged = False
    for match in _AGE.finditer(flat):
        position = bisect.bisect_right(starts, match.start()) - 1
        if position > 0 and text.tokens[position - 1] in {"lop", "nam", "ngoai", "hon", "tren"}:
            continue  # a school grade or "over 60": not the victim's stated age
        if match.group(2):
            ranged = True
            continue
        ages.append((int(match.group(1)), position))
    children = [(a, p) for a, p in ages if a < 18]
    pool = children or ages
    if ranged and not children:
        return None, -1
    if len({a for a, _ in pool}) == 1:
        return pool[0]
    if not pool and newborn:
        return 0, newborn[0][0]
    return None, -1


def _youngest_child(text: _Text) -> int | None:
    """The youngest stated age under 18 (several children: the modifier looks at the youngest)."""
    ages = [int(m.group(1)) for m in _AGE.finditer(text.flat) if int(m.group(1)) < 18]
    return min(ages) if ages else None


def _word_starts(flat: str) -> list[int]:
    return [m.start() for m in re.finditer(r"\S+", flat)]


def _victim_gender(text: _Text, rules: RuleSet, age_at: int) -> str | None:
    """The victim's sex from explicit words only; the word next to the stated age wins."""
    ignored = rules.gender_ignore.spans(text.found) if rules.gender_ignore else []
    cues: list[tuple[int, str]] = []
    for cue_group, value in ((rules.female, "female"), (rules.male, "male")):
        for start, end in cue_group.spans(text.found):
            if not any(s < end and start < e for s, e in ignored):
                cues.append((start, value))
    for i in range(1, len(text.tokens)):
        before = text.tokens[i - 2] if text.tokens[i - 1] == BREAK and i > 1 else text.tokens[i - 1]
        if text.tokens[i] in {"nam", "nu"} and before in {"tuoi", "t"}:
            cues.append((i, "female" if text.tokens[i] == "nu" else "male"))
    if age_at >= 0:
        close = [(abs(age_at - pos), value) for pos, value in cues if -2 <= age_at - pos <= 4]
        if close:
            return min(close)[1]
    values = {value for _, value in cues}
    return values.pop() if len(values) == 1 else None


# The model's say: raise the level when it is this sure of a more urgent one, else ask for a
# review when it is at least REVIEW sure. Chosen on the tuned part of the corpus.
MODEL_RAISE = 0.4
MODEL_REVIEW = 0.35
MODEL_SPAM = 0.5
_HARM = (Level.P1, Level.P2, Level.P3)
_ROUTABLE = {
    "trafficking", "physical_abuse", "sexual_abuse", "emotional_abuse", "neglect",
    "child_labour", "bullying", "online_abuse", "self_harm", "missing_child", "victim_support",
}  # fmt: skip


@dataclass
class _Decision:
    """The level being built, with what it rests on."""

    level: Level
    categories: list[Category]
    purposes: set[Purpose]
    reasons: list[Reason]
    needs_review: bool = False
    weight: float = 0.0


def _rule_reason(signal: Signal, matched: str) -> Reason:
    spec = signal.spec
    cats = [str(c) for c in spec.categories]
    return Reason(
        spec.id,
        matched,
        f"level {spec.level}",
        rule_sentence(spec.says, str(spec.level), cats, matched),
        rule_sentence(spec.says_en, str(spec.level), cats, matched, "en"),
    )


def _finding_reason(finding: Finding, text: _Text) -> Reason:
    words = "; ".join(text.phrase(h.start, h.end) for h in finding.why)
    # The supervisor reads the whole clause the concept was found in, as written.
    said = "; ".join(dict.fromkeys(text.phrase(h.clause.start, h.clause.end) for h in finding.why))
    names = " + ".join(h.concept.name for h in finding.why)
    vi = " + ".join(h.concept.says for h in finding.why)
    en = " + ".join(h.concept.says_en for h in finding.why)
    when = finding.why[0].clause.when
    cats = ", ".join(CATEGORY_VI[str(c)] for c in finding.categories)
    cats_en = ", ".join(CATEGORY_EN[str(c)] for c in finding.categories)
    return Reason(
        f"concept:{names}",
        words,
        f"level {finding.level}" + (" (needs review)" if finding.needs_review else ""),
        f"{finding.level}: {vi} ({finding.note}; thời điểm: {_WHEN_VI[when]}) thuộc nhóm "
        f"{cats}; người báo viết {quote(said)}",
        f"{finding.level}: {en} (time: {when}) in {cats_en}; the tip says {quote(said)}",
    )


_WHEN_VI = {
    "now": "đang xảy ra",
    "soon": "trong vài giờ tới",
    "later": "sắp tới, chưa gấp",
    "repeated": "lặp đi lặp lại",
    "past": "đã qua",
    "unknown": "không nói rõ",
}


def _only_a_topic(reading: Reading, prepared: _Text) -> bool:
    """A question, a story or feedback about a subject: no particular person, no time now,
    no call for help ("trẻ đi lạc thì báo 111 hay 113?", a novel's plot, a complaint)."""
    if not (reading.has("question") or reading.has("story") or reading.has("feedback")):
        return False
    # Feedback about the line speaks of emergencies ("lúc khẩn cấp mà chờ lâu"): there only
    # a cry for help counts.
    words = _CRIES if reading.has("feedback") else _CALLS
    calls = [h for h in reading.hits.get("distress", ()) if prepared.tokens[h.start] in words]
    if calls:
        return False
    # "con tôi" in a question about prevention ("nên dạy con gì để phòng bị xâm hại")
    # still names no one at risk; without a hypothetical, a named child is a tip.
    if specific_person(prepared.tokens) and not reading.has("hypothetical"):
        return False
    return not any(c.stated and c.when in (When.NOW, When.SOON) for c in prepared.clauses)


_CRIES = {"cuu", "giup", "help"}
_CALLS = _CRIES | {"khan", "gap", "emergency", "urgent", "danger", "nguy"}


def _by_rules(
    prepared: _Text,
    rules: RuleSet,
    safe: bool,
    calm: bool = False,
    topic: bool = False,
    safe_now: bool = False,
) -> _Decision:
    """The signals of rules.yaml: the authority when one fires.

    A P1 signal said of a time its own clause states as over ("tháng trước", "hồi nhỏ")
    is no danger now: it counts as P2 (harm that happened), or P3 when the tip says the
    person is safe now. A missing child stays P1 however long ago they went: only being
    found ends it. When the tipster says it is not urgent ("không gấp", "no immediate
    danger") a P1 signal counts as P2 and the tip is marked for review.
    """
    fired: list[tuple[Signal, str]] = []
    candidates = sorted({i for p in prepared.found for i in rules.by_phrase.get(p, ())})
    for position in candidates:
        signal = rules.signals[position]
        hit = _only(signal, prepared) if signal.spec.only else _fires(signal, prepared, rules)
        if hit is None:
            continue
        matched, start = hit
        clause = clause_at(prepared.clauses, start)
        over = clause is not None and clause.stated and clause.when == When.PAST
        if topic and signal.spec.level in _HARM:
            # Danger words inside a general question or story place nobody: P4, reviewed.
            update = {"level": Level.P4, "id": f"{signal.spec.id}_topic"}
            signal = replace(signal, spec=signal.spec.model_copy(update=update))
        elif (
            signal.spec.level == Level.P2
            and safe_now
            and not {str(c) for c in signal.spec.categories} & {"trafficking", "victim_support"}
        ):
            # Harm that happened, the child safe now and the abuser gone: support (P3).
            update = {"level": Level.P3, "id": f"{signal.spec.id}_safe_now"}
            signal = replace(signal, spec=signal.spec.model_copy(update=update))
        elif (
            signal.spec.level == Level.P1
            and (over or calm)
            and Category.MISSING_CHILD not in signal.spec.categories
        ):
            level = Level.P3 if safe and over else Level.P2
            suffix = "past" if over else "not_urgent"
            update = {"level": level, "id": f"{signal.spec.id}_{suffix}"}
            signal = replace(signal, spec=signal.spec.model_copy(update=update))
        fired.append((signal, matched))
    superseded = {other for signal, _ in fired for other in signal.spec.supersedes}
    fired = [(s, m) for s, m in fired if s.spec.id not in superseded]
    pranks = [(s, m) for s, m in fired if s.spec.prank]
    harm = [(s, m) for s, m in fired if s.spec.level in _HARM]
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
    decision = _Decision(level, [], set(), [_rule_reason(s, m) for s, m in chosen])
    for signal, _ in chosen:
        for category in signal.spec.categories:
            if category not in decision.categories:
                decision.categories.append(category)
        if signal.spec.purpose:
            decision.purposes.add(signal.spec.purpose)
        decision.weight += signal.spec.weight
    return decision


def _by_concepts(decision: _Decision, reading: Reading, prepared: _Text) -> None:
    """Where no rule placed the tip, the concepts do; they never lower what rules said."""
    findings = judge(reading, prepared.tokens)
    ruled = bool(decision.reasons)
    if chain := reading.first("chain_letter") or reading.first("prank"):
        # A chain letter, a silent or prank call, a scam message: positive evidence of
        # spam, whatever danger the words describe.
        words = prepared.phrase(chain.start, chain.end)
        # Spam over a danger signal is kept for a person to look at: a real call can sound
        # like a prank, and a missed child is the worst error.
        overruled = decision.level in _HARM
        decision.level, decision.categories, decision.needs_review = Level.SPAM, [], overruled
        decision.reasons = [
            Reason(
                f"concept:{chain.concept.name}",
                words,
                "level SPAM",
                f"tin rác: {chain.concept.says}; người báo viết {quote(words)}",
                f"spam: {chain.concept.says_en}; the tip says {quote(words)}",
            )
        ]
        return
    if decision.level in _HARM:
        top = findings[0] if findings else None
        if top is not None and URGENCY[top.level] > URGENCY[decision.level]:
            decision.needs_review = True
            decision.reasons.append(_finding_reason(top, prepared))
            if strong_now(top):
                decision.level = top.level
                decision.categories = [*top.categories, *decision.categories]
                if top.purpose:
                    decision.purposes.add(top.purpose)
        return
    if ruled and decision.level == Level.SPAM:
        return  # positive evidence of spam (an ad, a prank) stands
    topic = reading.first("story") or reading.first("question")
    if (
        findings
        and topic is not None
        and not specific_person(prepared.tokens)
        and not any(strong_now(f) and f.why[0].clause.stated for f in findings)
    ):
        # A question or a story about a subject ("phòng chống xâm hại"), no one named.
        findings = []
        if not ruled:
            words = prepared.phrase(topic.start, topic.end)
            decision.level = Level.P4
            decision.reasons.append(
                Reason(
                    f"concept:{topic.concept.name}",
                    words,
                    "level P4",
                    f"P4: {topic.concept.says}, không nêu người cụ thể gặp nguy; "
                    f"người báo viết {quote(words)}",
                    f"P4: {topic.concept.says_en}, no particular person at risk; "
                    f"the tip says {quote(words)}",
                )
            )
            return
    if findings:
        top = findings[0]
        if ruled and decision.level == Level.P4:
            urgent = strong_now(top) and specific_person(prepared.tokens)
            if top.level != Level.P1 or not urgent:
                if top.level == Level.P1:
                    decision.needs_review = True
                    decision.reasons.append(_finding_reason(top, prepared))
                return  # a question or thanks that names harm in passing
        chosen = [f for f in findings if f.level == top.level]
        decision.level = top.level
        decision.categories = []
        decision.reasons = decision.reasons if ruled else []
        for finding in chosen:
            decision.reasons.append(_finding_reason(finding, prepared))
            for category in finding.categories:
                if category not in decision.categories:
                    decision.categories.append(category)
            if finding.purpose:
                decision.purposes.add(finding.purpose)
            decision.needs_review |= finding.needs_review
        decision.needs_review |= ruled  # a rule said P4: a person decides
        decision.weight += 10 * len(chosen)
        return
    if ruled:
        return
    said = [t for t in prepared.tokens if t != BREAK]
    if len(said) <= 2 and not reading.hits:
        # No content ("ok", "?", "a"): SPAM by the policy's "empty"; kept, never routed.
        decision.level = Level.SPAM
        decision.reasons.append(
            Reason(
                "no_content",
                " ".join(said),
                "level SPAM: no content",
                f"tin rác: tin nhắn không có nội dung; người báo viết {quote(' '.join(said))}",
                f"spam: no content; the tip says {quote(' '.join(said))}",
            )
        )
        return
    at_risk = reading.first("person_at_risk")
    alarm = reading.first("distress")
    if at_risk is not None and alarm is not None:
        # No silent default: someone may be in danger and nothing placed it.
        words = f"{prepared.phrase(at_risk.start, at_risk.end)}; "
        words += prepared.phrase(alarm.start, alarm.end)
        decision.level = Level.P2
        decision.categories = [Category.OTHER]
        decision.needs_review = True
        decision.reasons.append(
            Reason(
                "no_rule_places_person_at_risk",
                words,
                "level P2 (needs review)",
                "P2 tạm thời: tin nhắc đến một người có thể gặp nguy nhưng không quy tắc nào "
                f"xếp được, cần người duyệt; người báo viết {quote(words)}",
                "provisional P2: the tip mentions a person who may be at risk but no rule "
                f"places it; a person must review it; the tip says {quote(words)}",
            )
        )
    elif spam := reading.first("spam"):
        words = prepared.phrase(spam.start, spam.end)
        decision.level = Level.SPAM
        decision.reasons.append(
            Reason(
                "concept:spam",
                words,
                "level SPAM",
                f"tin rác: {spam.concept.says}; người báo viết {quote(words)}",
                f"spam: {spam.concept.says_en}; the tip says {quote(words)}",
            )
        )
    else:
        decision.reasons.append(
            Reason(
                "no_signal",
                "",
                "level P4",
                "P4: không thấy người gặp nguy, sự việc hay yêu cầu cụ thể; tổng đài viên trả lời",
                "P4: no person at risk, event or request found; an operator answers",
            )
        )


def _model_reason(
    opinion: Opinion, said: Level, prepared: _Text, rules: RuleSet, effect: str
) -> Reason:
    """The model's reason: what it says, how sure, and the words that weighed most."""
    assert rules.model is not None
    words = rules.model.top_words(prepared.tokens, "level", opinion.label)
    shown = ", ".join(f"{w} ({weight:+.2f})" for w, weight in words)
    sure = f"{opinion.probability:.0%}"
    return Reason(
        "model",
        shown,
        effect,
        f"Mô hình thống kê cho {said} ({sure}): {effect}; các từ nặng ký nhất: {shown}",
        f"The statistical model says {said} ({sure}): {effect}; its weightiest words: {shown}",
    )


def _by_model(decision: _Decision, prepared: _Text, rules: RuleSet) -> None:
    """The model's second opinion: it may raise the level or ask for a review, never lower."""
    model = rules.model
    if model is None or "level" not in model.heads or decision.level == Level.P1:
        return  # nothing is above P1, and the model never lowers
    opinion = model.opinion(prepared.tokens, "level", prepared.scores(rules))
    said = Level(opinion.label)
    defaulted = [r.rule for r in decision.reasons] == ["no_signal"]
    if defaulted and said == Level.SPAM and opinion.probability >= MODEL_SPAM:
        # Nothing placed the tip (P4 by default): the model's reading that it is spam
        # (an ad, a flirt, a prank it has seen the like of) is the only evidence there is.
        decision.level = Level.SPAM
        decision.reasons.append(_model_reason(opinion, said, prepared, rules, "SPAM"))
        return
    provisional = [r.rule for r in decision.reasons] == ["no_rule_places_person_at_risk"]
    if provisional and said in _HARM and opinion.probability >= MODEL_RAISE:
        # Nothing placed the tip; the model's reading picks among P1-P3 (never P4), and
        # the tip stays marked for review.
        decision.level = said
        decision.reasons.append(_model_reason(opinion, said, prepared, rules, f"P2 -> {said}"))
        return
    if URGENCY[said] <= URGENCY[decision.level] or opinion.probability < MODEL_REVIEW:
        return
    raise_it = opinion.probability >= MODEL_RAISE
    effect = f"{decision.level} -> {said}" if raise_it else f"needs review ({said}?)"
    decision.reasons.append(_model_reason(opinion, said, prepared, rules, effect))
    decision.needs_review = True
    if not raise_it:
        return
    decision.level = said
    if not any(str(c) in _ROUTABLE for c in decision.categories) and "category" in model.heads:
        category = model.opinion(prepared.tokens, "category", prepared.scores(rules))
        ranked = sorted(category.probabilities.items(), key=lambda kv: -kv[1])
        best = next((label for label, _ in ranked if set(label.split("+")) <= _ROUTABLE), None)
        if best:
            decision.categories = [Category(c) for c in best.split("+")]


# The category head names the categories when it gives its label at least this probability
# (some 3x chance among its ~20 labels): on tips it was not trained on it got the
# categories right more often than the rules' (0.82 against 0.65 on a half-split of the
# tuned corpus). The change is shown as a reason.
CATEGORY_SWAP: float | None = 0.15


def _model_categories(
    prepared: _Text,
    rules: RuleSet,
    categories: list[Category],
    threshold: float,
    reasons: list[Reason],
) -> list[Category]:
    """The category head's labels when it is sure and they are routable, else the rules'."""
    assert rules.model is not None
    if "category" not in rules.model.heads:
        return categories
    opinion = rules.model.opinion(prepared.tokens, "category", prepared.scores(rules))
    labels = opinion.label.split("+")
    chosen = [Category(c) for c in labels]
    if opinion.probability < threshold or not set(labels) <= _ROUTABLE:
        return categories
    if set(chosen) != set(categories):
        said = ", ".join(labels)
        reasons.append(
            Reason(
                "model_categories",
                said,
                f"categories {said}",
                f"Mô hình thống kê xếp nhóm: {', '.join(CATEGORY_VI[c] for c in labels)} "
                f"({opinion.probability:.0%})",
                f"The statistical model files it as {said} ({opinion.probability:.0%})",
            )
        )
    return chosen


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
    prepared = _Text.of(text or "", rules)
    if not any(t != BREAK for t in prepared.tokens):
        # An empty message (no words: nothing, emoji, punctuation) is SPAM by the policy's
        # table; it is kept, never routed, and an operator can still open it.
        reason = Reason(
            "empty",
            "",
            "level SPAM: nothing to act on",
            "tin rác: tin nhắn không có chữ nào, không có gì để xử lý",
            "spam: the message has no words, nothing to act on",
        )
        return TriageResult(
            Level.SPAM, 0.0, (Category.OTHER,), None, (), (reason,), victim_age, victim_gender
        )
    reading = None
    if rules.concepts is not None:
        reading = read(rules.concepts, prepared.tokens, prepared.found, prepared.clauses)
    safe = reading is not None and (reading.has("found") or reading.has("returned"))
    calm = reading is not None and reading.has("not_urgent")
    topic = reading is not None and _only_a_topic(reading, prepared)
    safe_now = reading is not None and reading.has("found")
    decision = _by_rules(prepared, rules, safe=safe, calm=calm, topic=topic, safe_now=safe_now)
    decision.needs_review |= calm or any(r.rule.endswith("_topic") for r in decision.reasons)
    if reading is not None:
        _by_concepts(decision, reading, prepared)
    _by_model(decision, prepared, rules)
    level, reasons = decision.level, decision.reasons
    categories = decision.categories
    if CATEGORY_SWAP is not None and level in _HARM and rules.model is not None:
        categories = _model_categories(prepared, rules, categories, CATEGORY_SWAP, reasons)
    if level in _HARM:
        categories = [c for c in categories if str(c) in _ROUTABLE] or [Category.OTHER]
    if not categories or level not in _HARM:
        categories = [Category.INFORMATION if level == Level.P4 else Category.OTHER]
        if level == Level.P4 and any(r.rule == "thanks_feedback" for r in reasons):
            categories = [Category.OTHER]
    purpose = None
    if Category.TRAFFICKING in categories:
        purpose = next((p for p in PURPOSE_ORDER if p in decision.purposes), Purpose.UNKNOWN)

    age, age_at = _victim_age(prepared, rules, purpose)
    youngest = _youngest_child(prepared)
    if level in (Level.P4, Level.SPAM):
        age, age_at = None, -1  # no identifiable person at risk
    if victim_age is None:
        victim_age = age
    if victim_gender is None and level not in (Level.P4, Level.SPAM):
        victim_gender = _victim_gender(prepared, rules, age_at)

    if level == Level.P3:
        raise_to_p2 = None
        young = victim_age if victim_age is not None else youngest
        if young is not None and young < 6:
            raise_to_p2 = ("young_child", str(young), "P3 -> P2: a victim younger than 6")
        elif spans := rules.disability.spans(prepared.found):
            matched = prepared.phrase(*spans[0])
            raise_to_p2 = ("disability", matched, "P3 -> P2: a person with a disability")
        elif repeat_count > 0:
            raise_to_p2 = ("repeat_report", str(repeat_count), "P3 -> P2: repeated tips")
        elif spans := rules.repeat_report.spans(prepared.found):
            matched = prepared.phrase(*spans[0])
            raise_to_p2 = ("repeat_report", matched, "P3 -> P2: repeated tips")
        if raise_to_p2:
            level = Level.P2
            rule, matched, effect = raise_to_p2
            reasons.append(Reason(rule, matched, effect, *_MODIFIER_TEXT[rule](matched)))

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


_MODIFIER_TEXT = {
    "young_child": lambda m: (
        f"P3 nâng lên P2: nạn nhân dưới 6 tuổi ({m} tuổi)",
        f"P3 raised to P2: a victim younger than 6 ({m})",
    ),
    "disability": lambda m: (
        f"P3 nâng lên P2: người khuyết tật; người báo viết {quote(m)}",
        f"P3 raised to P2: a person with a disability; the tip says {quote(m)}",
    ),
    "repeat_report": lambda m: (
        f"P3 nâng lên P2: tin báo lặp lại ({m})",
        f"P3 raised to P2: repeated tips ({m})",
    ),
}
