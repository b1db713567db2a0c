"""The words people read for the categories and purposes (Vietnamese, and English)."""

from __future__ import annotations

from triage.rules import Category, Purpose

CATEGORY_VI: dict[str, str] = {
    Category.TRAFFICKING: "mua bán người",
    Category.PHYSICAL_ABUSE: "bạo lực thể chất",
    Category.SEXUAL_ABUSE: "xâm hại tình dục",
    Category.EMOTIONAL_ABUSE: "bạo lực tinh thần",
    Category.NEGLECT: "bỏ mặc, sao nhãng",
    Category.CHILD_LABOUR: "lao động trẻ em",
    Category.BULLYING: "bắt nạt",
    Category.ONLINE_ABUSE: "xâm hại trên mạng",
    Category.SELF_HARM: "tự gây hại",
    Category.MISSING_CHILD: "trẻ mất tích",
    Category.VICTIM_SUPPORT: "hỗ trợ nạn nhân",
    Category.INFORMATION: "hỏi thông tin",
    Category.OTHER: "khác",
}
CATEGORY_EN: dict[str, str] = {
    Category.TRAFFICKING: "trafficking",
    Category.PHYSICAL_ABUSE: "physical abuse",
    Category.SEXUAL_ABUSE: "sexual abuse",
    Category.EMOTIONAL_ABUSE: "emotional abuse",
    Category.NEGLECT: "neglect",
    Category.CHILD_LABOUR: "child labour",
    Category.BULLYING: "bullying",
    Category.ONLINE_ABUSE: "online abuse",
    Category.SELF_HARM: "self-harm",
    Category.MISSING_CHILD: "missing child",
    Category.VICTIM_SUPPORT: "victim support",
    Category.INFORMATION: "information",
    Category.OTHER: "other",
}
PURPOSE_VI: dict[str, str] = {
    Purpose.SEXUAL_EXPLOITATION: "bóc lột tình dục",
    Purpose.FORCED_LABOUR: "cưỡng bức lao động",
    Purpose.ORGAN_REMOVAL: "lấy bộ phận cơ thể",
    Purpose.COMMERCIAL_SURROGACY: "mang thai hộ vì mục đích thương mại",
    Purpose.CHILD_SALE: "bán trẻ em",
    Purpose.FORCED_MARRIAGE: "cưỡng ép kết hôn",
    Purpose.UNKNOWN: "chưa rõ mục đích",
}
PURPOSE_EN: dict[str, str] = {
    Purpose.SEXUAL_EXPLOITATION: "sexual exploitation",
    Purpose.FORCED_LABOUR: "forced labour",
    Purpose.ORGAN_REMOVAL: "organ removal",
    Purpose.COMMERCIAL_SURROGACY: "commercial surrogacy",
    Purpose.CHILD_SALE: "sale of a child",
    Purpose.FORCED_MARRIAGE: "forced marriage",
    Purpose.UNKNOWN: "purpose unknown",
}
SEX_VI = {"female": "nữ", "male": "nam", "other": "khác"}


def category_words(categories: list[str], *, lang: str = "vi") -> list[str]:
    """The categories as words; an unknown identifier stays as it is."""
    table = CATEGORY_EN if lang == "en" else CATEGORY_VI
    return [table.get(c, c) for c in categories]


def purpose_words(purpose: str | None, *, lang: str = "vi") -> str | None:
    """The trafficking purpose as words (None stays None)."""
    if purpose is None:
        return None
    table = PURPOSE_EN if lang == "en" else PURPOSE_VI
    return table.get(purpose, purpose)
