"""Vietnamese text normalisation shared by triage and the place resolver.

Two forms of one text are used everywhere: `normalize` (NFC, lower case, one tone
placement, clean spacing) keeps the diacritics; `fold` also strips them, so that
"đang bị đánh" and "dang bi danh" compare equal.
"""

from __future__ import annotations

import re
import unicodedata

# Both tone placements are common for open oa/oe/uy syllables (Hoà and Hòa, Thuỷ and
# Thủy); the official commune lists use the mark on the first vowel, so everything is
# brought to that form. "qu" is a consonant, so "quý" keeps its mark.
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_NEW_TONE = re.compile(
    r"(?<![qQ])([oOuU])([aAeEyY])([\u0300\u0301\u0303\u0309\u0323])(?![\w\u0300-\u036f])"
)
_D_MAP = str.maketrans({"đ": "d", "Đ": "d", "Ð": "d", "ð": "d"})
_SPACES = re.compile(r"\s+")
_COMBINING = {code: None for code in range(0x300, 0x370)}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _move_tone(text: str) -> str:
    """Move a tone mark from the a/e/y of an open oa/oe/uy syllable onto its o/u (NFD text)."""
    return _NEW_TONE.sub(lambda m: m.group(1) + m.group(3) + m.group(2), text)


def normalize(text: str) -> str:
    """NFC, lower case, one tone placement, control characters removed, spaces folded."""
    text = _CONTROL.sub(" ", text)
    decomposed = unicodedata.normalize("NFD", text.lower())
    decomposed = _move_tone(decomposed)
    return _SPACES.sub(" ", unicodedata.normalize("NFC", decomposed)).strip()


def strip_diacritics(text: str) -> str:
    """Remove every combining mark and map đ/Đ (and the look-alike Ð) to d."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D_MAP))
    if decomposed.isascii():
        return decomposed
    stripped = decomposed.translate(_COMBINING)
    if any(unicodedata.combining(ch) for ch in stripped if ord(ch) > 0x36F):
        stripped = "".join(ch for ch in stripped if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def fold(text: str) -> str:
    """Lower case, no diacritics, spaces folded: the form rules and names are matched on."""
    return strip_diacritics(normalize(text))


def has_tone_mark(char: str) -> bool:
    """True when a single character carries a Vietnamese tone mark."""
    return any(mark in _TONE_MARKS for mark in unicodedata.normalize("NFD", char))
