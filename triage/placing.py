"""The concepts' say: they place a tip no rule placed, decide spam on evidence, and never
leave a person at risk at a silent P4."""

from __future__ import annotations

from dataclasses import replace

from triage.clauses import When
from triage.concepts import Reading, judge, strong_now
from triage.decision import HARM, Decision
from triage.person import known_person, specific_person
from triage.phrases import BREAK
from triage.rules import URGENCY, Category, Level
from triage.tip import Tip
from triage.wording import (
    NO_SIGNAL,
    finding_reason,
    no_content,
    provisional,
    spam_reason,
    topic_reason,
)

_CRIES = {"cuu", "giup", "help"}
_CALLS = _CRIES | {"khan", "gap", "emergency", "urgent", "danger", "nguy"}


def only_a_topic(reading: Reading, tip: Tip) -> bool:
    """A question, a story or feedback about a subject: no particular person, no time now,
    no call for help ("trẻ đi lạc thì báo 111 hay 113?", a novel's plot, a complaint)."""
    if not (reading.has("question") or reading.has("story") or reading.has("feedback")):
        return False
    # Feedback about the line speaks of emergencies ("lúc khẩn cấp mà chờ lâu"): there only
    # a cry for help counts.
    words = _CRIES if reading.has("feedback") else _CALLS
    if any(tip.tokens[h.start] in words for h in reading.hits.get("distress", ())):
        return False
    # "con tôi" in a question about prevention ("nên dạy con gì để phòng bị xâm hại")
    # still names no one at risk; without a hypothetical, a named child is a tip.
    if _names_someone(reading, tip) and not reading.has("hypothetical"):
        return False
    if reading.has("feedback") and not reading.has("question"):
        return True  # the time of a complaint is the call's ("lúc nãy gọi mà chờ lâu")
    if reading.has("question") and reading.has("hypothetical") and not _names_someone(reading, tip):
        # "nếu thấy trẻ đang bị đánh thì gọi số nào?": the "now" is inside the condition.
        return True
    return not any(c.stated and c.when in (When.NOW, When.SOON) for c in tip.clauses)


def _names_someone(reading: Reading, tip: Tip) -> bool:
    """A person at risk the tip is about; in a story or rumour, only one the tipster knows."""
    if reading.has("story"):
        return known_person(tip.tokens)
    return specific_person(tip.tokens)


def _spam_over(decision: Decision, reading: Reading, tip: Tip) -> bool:
    """A chain letter, a silent or prank call, a scam message: positive evidence of spam,
    whatever danger the words describe."""
    chain = reading.first("chain_letter") or reading.first("prank")
    if chain is None and not decision.act:
        # An ad or a scam that shouts "KHẨN CẤP" names no act: the ad is the evidence.
        chain = reading.first("spam")
    if chain is None or reading.has("sextortion") or reading.has("threat"):
        return False  # "nếu không gửi thêm ảnh": a threat to a child, not a chain letter
    # Spam over a danger signal is kept for a person to look at: a real call can sound
    # like a prank, and a missed child is the worst error.
    overruled = decision.level in HARM
    decision.level, decision.categories, decision.needs_review = Level.SPAM, [], overruled
    decision.reasons = [spam_reason(chain, tip)]
    return True


def by_concepts(decision: Decision, reading: Reading, tip: Tip, calm: bool = False) -> None:
    """Where no rule placed the tip, the concepts do; they never lower what rules said."""
    if _spam_over(decision, reading, tip):
        return
    findings = judge(reading, tip.tokens)
    if calm:
        # "no immediate danger today": as for the rules' signals, a P1 but for a missing
        # child counts as P2, and a person reads the tip.
        findings = [
            f
            if f.level != Level.P1 or Category.MISSING_CHILD in f.categories
            else replace(f, level=Level.P2, needs_review=True)
            for f in findings
        ]
    ruled = bool(decision.reasons)
    if decision.level in HARM:
        top = findings[0] if findings else None
        if top is not None and URGENCY[top.level] > URGENCY[decision.level]:
            decision.needs_review = True
            decision.reasons.append(finding_reason(top, tip))
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
        and (
            only_a_topic(reading, tip)
            or (
                not _names_someone(reading, tip)
                and not any(strong_now(f) and f.why[0].clause.stated for f in findings)
            )
        )
    ):
        # A question or a story about a subject ("phòng chống xâm hại"), no one named.
        findings = []
        if not ruled:
            decision.level = Level.P4
            decision.reasons.append(topic_reason(topic, tip))
            return
    if findings:
        top = findings[0]
        if ruled and decision.level == Level.P4:
            urgent = strong_now(top) and specific_person(tip.tokens)
            if top.level != Level.P1 or not urgent:
                if top.level == Level.P1:
                    decision.needs_review = True
                    decision.reasons.append(finding_reason(top, tip))
                return  # a question or thanks that names harm in passing
        chosen = [f for f in findings if f.level == top.level]
        decision.level = top.level
        decision.categories = []
        decision.reasons = decision.reasons if ruled else []
        for finding in chosen:
            decision.reasons.append(finding_reason(finding, tip))
            decision.add_categories(finding.categories)
            if finding.purpose:
                decision.purposes.add(finding.purpose)
            decision.needs_review |= finding.needs_review
        decision.needs_review |= ruled  # a rule said P4: a person decides
        decision.weight += 10 * len(chosen)
        return
    if not ruled:
        _unplaced(decision, reading, tip)


def _unplaced(decision: Decision, reading: Reading, tip: Tip) -> None:
    """Nothing placed the tip: empty, a person at risk (never a silent P4), spam, or P4."""
    said = [t for t in tip.tokens if t != BREAK]
    if len(said) <= 2 and not reading.hits:
        # No content ("ok", "?", "a"): SPAM by the policy's "empty"; kept, never routed.
        decision.level = Level.SPAM
        decision.reasons.append(no_content(" ".join(said)))
        return
    at_risk = reading.first("person_at_risk")
    alarm = reading.first("distress")
    if at_risk is not None and alarm is not None:
        # No silent default: someone may be in danger and nothing placed it.
        words = f"{tip.phrase(at_risk.start, at_risk.end)}; {tip.phrase(alarm.start, alarm.end)}"
        decision.level = Level.P2
        decision.categories = [Category.OTHER]
        decision.needs_review = True
        decision.reasons.append(provisional(words))
    elif spam := reading.first("spam"):
        decision.level = Level.SPAM
        decision.reasons.append(spam_reason(spam, tip))
    else:
        decision.reasons.append(NO_SIGNAL)
