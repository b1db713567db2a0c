"""The reasons' sentences a supervisor reads (Vietnamese, and English on the switch)."""

from __future__ import annotations

from triage.concepts import Finding, Hit
from triage.describe import CATEGORY_EN, CATEGORY_VI, quote, rule_sentence
from triage.model import Opinion
from triage.result import Reason
from triage.rules import Level, Signal
from triage.tip import Tip

_WHEN_VI = {
    "now": "đang xảy ra",
    "soon": "trong vài giờ tới",
    "later": "sắp tới, chưa gấp",
    "repeated": "lặp đi lặp lại",
    "past": "đã qua",
    "unknown": "không nói rõ",
}


def rule_reason(signal: Signal, matched: str) -> Reason:
    """A signal of rules.yaml that fired."""
    spec = signal.spec
    cats = [str(c) for c in spec.categories]
    return Reason(
        spec.id,
        matched,
        f"level {spec.level}",
        rule_sentence(spec.says, str(spec.level), cats, matched),
        rule_sentence(spec.says_en, str(spec.level), cats, matched, "en"),
    )


def finding_reason(finding: Finding, tip: Tip) -> Reason:
    """Concepts combined under the policy, with the clause they were found in."""
    words = "; ".join(tip.phrase(h.start, h.end) for h in finding.why)
    # The supervisor reads the whole clause the concept was found in, as written.
    said = "; ".join(dict.fromkeys(tip.phrase(h.clause.start, h.clause.end) for h in finding.why))
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


def spam_reason(hit: Hit, tip: Tip) -> Reason:
    """Positive evidence of spam: an ad, a scam, a chain letter, a prank or silent call."""
    words = tip.phrase(hit.start, hit.end)
    return Reason(
        f"concept:{hit.concept.name}",
        words,
        "level SPAM",
        f"tin rác: {hit.concept.says}; người báo viết {quote(words)}",
        f"spam: {hit.concept.says_en}; the tip says {quote(words)}",
    )


def topic_reason(hit: Hit, tip: Tip) -> Reason:
    """A question or a story about a subject, no particular person at risk."""
    words = tip.phrase(hit.start, hit.end)
    return Reason(
        f"concept:{hit.concept.name}",
        words,
        "level P4",
        f"P4: {hit.concept.says}, không nêu người cụ thể gặp nguy; người báo viết {quote(words)}",
        f"P4: {hit.concept.says_en}, no particular person at risk; the tip says {quote(words)}",
    )


def model_reason(opinion: Opinion, shown: str, effect: str) -> Reason:
    """The model's reason: what it says, how sure, and the words that weighed most."""
    said, sure = opinion.label, f"{opinion.probability:.0%}"
    return Reason(
        "model",
        shown,
        effect,
        f"Mô hình thống kê cho {said} ({sure}): {effect}; các từ nặng ký nhất: {shown}",
        f"The statistical model says {said} ({sure}): {effect}; its weightiest words: {shown}",
    )


def model_categories_reason(labels: list[str], probability: float) -> Reason:
    """The model's category head named the categories."""
    said = ", ".join(labels)
    return Reason(
        "model_categories",
        said,
        f"categories {said}",
        f"Mô hình thống kê xếp nhóm: {', '.join(CATEGORY_VI[c] for c in labels)} "
        f"({probability:.0%})",
        f"The statistical model files it as {said} ({probability:.0%})",
    )


EMPTY = Reason(
    "empty",
    "",
    "level SPAM: nothing to act on",
    "tin rác: tin nhắn không có chữ nào, không có gì để xử lý",
    "spam: the message has no words, nothing to act on",
)
NO_SIGNAL = Reason(
    "no_signal",
    "",
    "level P4",
    "P4: không thấy người gặp nguy, sự việc hay yêu cầu cụ thể; tổng đài viên trả lời",
    "P4: no person at risk, event or request found; an operator answers",
)


def no_content(said: str) -> Reason:
    """A message of at most two words that carry nothing ("ok", "a")."""
    return Reason(
        "no_content",
        said,
        "level SPAM: no content",
        f"tin rác: tin nhắn không có nội dung; người báo viết {quote(said)}",
        f"spam: no content; the tip says {quote(said)}",
    )


def provisional(words: str) -> Reason:
    """No silent default: a person who may be at risk that no rule places."""
    return Reason(
        "no_rule_places_person_at_risk",
        words,
        f"level {Level.P2} (needs review)",
        "P2 tạm thời: tin nhắc đến một người có thể gặp nguy nhưng không quy tắc nào "
        f"xếp được, cần người duyệt; người báo viết {quote(words)}",
        "provisional P2: the tip mentions a person who may be at risk but no rule "
        f"places it; a person must review it; the tip says {quote(words)}",
    )


MODIFIER_TEXT = {
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
