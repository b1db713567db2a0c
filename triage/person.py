"""Who a tip is about: a particular person or one the tipster knows, and the victim's stated
age and sex (explicit words only, as the policy asks)."""

from __future__ import annotations

import bisect
import re

from triage.phrases import BREAK
from triage.rules import Purpose, RuleSet
from triage.tip import Tip

_AGE = re.compile(
    r"(?<![\w-])(\d{1,2})(?:(?:\s*(?:-|den|va|hoac|toi)\s*|\s+)(\d{1,2}))?\s*"
    r"(?:tuoi|t|year old|years old|yo)(?!\w)"
)


def victim_age(tip: Tip, rules: RuleSet, purpose: Purpose | None) -> tuple[int | None, int]:
    """The victim's age from stated numbers (several different ages: unknown), and where."""
    newborn = rules.newborn.spans(tip.found)
    if purpose == Purpose.CHILD_SALE and newborn:
        return 0, newborn[0][0]
    flat = tip.flat
    starts = [m.start() for m in re.finditer(r"\S+", flat)]
    ages: list[tuple[int, int]] = []
    ranged = False
    for match in _AGE.finditer(flat):
        position = bisect.bisect_right(starts, match.start()) - 1
        if position > 0 and tip.tokens[position - 1] in {"lop", "nam", "ngoai", "hon", "tren"}:
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


def youngest_child(tip: Tip) -> int | None:
    """The youngest stated age under 18 (several children: the modifier looks at the youngest)."""
    ages = [int(m.group(1)) for m in _AGE.finditer(tip.flat) if int(m.group(1)) < 18]
    return min(ages) if ages else None


def victim_gender(tip: Tip, rules: RuleSet, age_at: int) -> str | None:
    """The victim's sex from explicit words only; the word next to the stated age wins."""
    ignored = rules.gender_ignore.spans(tip.found) if rules.gender_ignore else []
    cues: list[tuple[int, str]] = []
    for cue_group, value in ((rules.female, "female"), (rules.male, "male")):
        for start, end in cue_group.spans(tip.found):
            if not any(s < end and start < e for s, e in ignored):
                cues.append((start, value))
    tokens = tip.tokens
    for i in range(1, len(tokens)):
        before = tokens[i - 2] if tokens[i - 1] == BREAK and i > 1 else tokens[i - 1]
        if tokens[i] in {"nam", "nu"} and before in {"tuoi", "t"}:
            cues.append((i, "female" if tokens[i] == "nu" else "male"))
    if age_at >= 0:
        close = [(abs(age_at - pos), value) for pos, value in cues if -2 <= age_at - pos <= 4]
        if close:
            return min(close)[1]
    values = {value for _, value in cues}
    return values.pop() if len(values) == 1 else None


_MINE = {"toi", "em", "minh", "tui", "nha", "chung", "ta", "my", "our"}
_YOUNG = {"con", "chau", "em", "be", "ban", "thang", "co", "cau", "dua"}
_RELATIVES = {
    "daughter", "son", "child", "kid", "niece", "nephew", "brother", "sister", "student",
    "class", "cousin", "grandson", "granddaughter", "friend", "neighbour", "neighbor",
}  # fmt: skip


_ME = {"em", "toi", "minh", "tui", "i"}


def _children(tokens: list[str], i: int) -> bool:
    """ "trẻ em": children in general, not the first person "em"."""
    return i > 0 and tokens[i] == "em" and tokens[i - 1] == "tre"


def specific_person(tokens: list[str]) -> bool:
    """The tip speaks of a particular person ("con tôi", "bé 5 tuổi", "em bị"), not a topic."""
    for i in range(len(tokens) - 1):
        first, second = tokens[i], tokens[i + 1]
        if first in _YOUNG and (second in _MINE or second in {"gai", "trai", "be", "nho"}):
            return True
        if first in _ME and second in {"bi", "dang", "was", "am"} and not _children(tokens, i):
            return True
        if first.isdigit() and second in {"tuoi", "t", "thang", "years", "year", "yo"}:
            return True
        if first in {"my", "our", "his", "her"} and second in _RELATIVES:
            return True
        if first in {"m", "f", "around", "aged", "age"} and second.isdigit():
            return True
    return False


_SEX = {"gai", "trai", "ut", "lon", "nho"}
_NEAR_ME = {("hang", "xom"), ("nha", "ben"), ("ben", "nha"), ("cung", "xom"), ("lop", "toi")}


def known_person(tokens: list[str]) -> bool:
    """The tipster knows the person: theirs ("con tôi", "my son", "em bị"), or next door.
    A film, a news story or a rumour describes people too ("bé gái 5 tuổi") but knows none."""
    for i in range(len(tokens) - 1):
        first, second = tokens[i], tokens[i + 1]
        third = tokens[i + 2] if i + 2 < len(tokens) else ""
        if first in _YOUNG and (second in _MINE or second in _SEX and third in _MINE):
            return True  # "con tôi", "con gái tôi"
        if first in _ME and second in {"bi", "dang", "was", "am"} and not _children(tokens, i):
            return True
        if first in {"my", "our"} and second in _RELATIVES:
            return True
        if (first, second) in _NEAR_ME or first in {"neighbour", "neighbor", "neighbours"}:
            return True
    return False
