"""The sentences a supervisor reads for each reason, in Vietnamese and in English."""

from __future__ import annotations

from collections.abc import Sequence

LEVEL_VI = {
    "P1": "P1 khẩn cấp",
    "P2": "P2 cao",
    "P3": "P3 trung bình",
    "P4": "P4 thấp",
    "SPAM": "tin rác",
}
LEVEL_EN = {"P1": "P1 urgent", "P2": "P2 high", "P3": "P3 medium", "P4": "P4 low", "SPAM": "spam"}
CATEGORY_VI = {
    "trafficking": "mua bán người",
    "physical_abuse": "bạo lực thể chất",
    "sexual_abuse": "xâm hại tình dục",
    "emotional_abuse": "bạo lực tinh thần",
    "neglect": "bỏ mặc",
    "child_labour": "lao động trẻ em",
    "bullying": "bắt nạt",
    "online_abuse": "xâm hại trên mạng",
    "self_harm": "tự hại",
    "missing_child": "trẻ mất tích",
    "victim_support": "hỗ trợ nạn nhân",
    "information": "hỏi thông tin",
    "other": "khác",
}
CATEGORY_EN = {k: k.replace("_", " ") for k in CATEGORY_VI}


def quote(words: str) -> str:
    """The tipster's words, quoted and cut to a readable length."""
    words = " ".join(words.split())
    return f"“{words[:80]}{'…' if len(words) > 80 else ''}”" if words else ""


def rule_sentence(
    says: str | None, level: str, categories: Sequence[str], matched: str, lang: str = "vi"
) -> str:
    """A rule's reason: its description (or its categories) and the words that fired it."""
    if lang == "en":
        what = says or ", ".join(CATEGORY_EN.get(c, c) for c in categories)
        return f"{LEVEL_EN.get(level, level)}: {what}: the tip says {quote(matched)}".strip()
    what = says or ", ".join(CATEGORY_VI.get(c, c) for c in categories)
    return f"{LEVEL_VI.get(level, level)}: {what}; người báo viết {quote(matched)}".strip()
