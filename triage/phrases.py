"""Phrase matching on word tokens: every phrase of every rule found in one pass.

A tip becomes folded word tokens (no diacritics, teencode expanded, letters held down
squeezed: "cuuuu emmm" -> "cu em", the same squeezing applied to the phrases). Phrases
are token sequences; "~" in a phrase allows up to three words in between. All phrases
are indexed by their first token, so matching costs one look-up per word of the tip.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from triage.text import fold, strip_diacritics

GAP = "~"
MAX_GAP = 3
MAX_WORD = 30
# Laughter written as marks ("=))", ":)))", "🤣", "😂") is a word of its own: "haha".
_LAUGH = "[=:;]\\)\\)+|[\U0001f602\U0001f923\U0001f606\U0001f639]"
LAUGH = "haha"
_WORD = re.compile(rf"{_LAUGH}|[a-z0-9]+|[.,;:!?()\n]")
BREAK = "|"  # stands for punctuation: no phrase matches across it
_REPEAT = re.compile(r"([a-z])\1+")


def words(text: str, teencode: dict[str, str]) -> list[str]:
    """The tokens rules match on."""
    return tokens_and_spans(text, teencode)[0]


def _aligned_fold(text: str) -> str | None:
    """Lower case without diacritics, one character for one: offsets stay valid."""
    folded = strip_diacritics(text.lower())
    return folded if len(folded) == len(text) else None


def tokens_and_spans(
    text: str, teencode: dict[str, str]
) -> tuple[list[str], list[tuple[int, int]]]:
    """The tokens rules match on, and where each stands in the NFC text (to quote it)."""
    folded = _aligned_fold(text)
    if folded is None:  # a rare character that changes length when folded: no quoting
        folded = fold(text)
    # Held-down letters are squeezed word by word ("cuuuu" -> "cu"); a word's span stays
    # the letters as written.
    squeeze = _REPEAT.search(folded) is not None
    tokens: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in _WORD.finditer(folded):
        word = match.group()
        if len(word) > 1 and not word[0].isalnum() or word[0] > "~":
            word = LAUGH
        elif not word[0].isalnum():
            if tokens and tokens[-1] != BREAK:
                tokens.append(BREAK)
                spans.append(match.span())
            continue
        elif squeeze:
            word = _REPEAT.sub(r"\1", word)
        if len(word) > MAX_WORD:
            continue  # not a word: a run of letters, a link
        span = match.span()
        expanded = teencode.get(word)
        if expanded is None:
            tokens.append(word)
            spans.append(span)
        else:
            parts = expanded.split()
            tokens.extend(parts)
            spans.extend([span] * len(parts))
    return tokens, spans


@dataclass(frozen=True)
class Phrase:
    """A compiled phrase: its tokens, with GAP where words may stand between."""

    text: str
    tokens: tuple[str, ...]


class PhraseIndex:
    """Every phrase of the rule file, found in a token list in one pass."""

    def __init__(self, teencode: dict[str, str]) -> None:
        self.teencode = {_REPEAT.sub(r"\1", k): _REPEAT.sub(r"\1", v) for k, v in teencode.items()}
        self.phrases: list[Phrase] = []
        self._ids: dict[tuple[str, ...], int] = {}
        self._plain: list[list[str] | None] = []  # a phrase without a gap, as a list
        # first token -> second token (None: a one-word phrase) -> phrase ids: a common
        # first word ("bi", "cho") then only brings the phrases that can go on from there.
        self._by_prefix: dict[str, dict[str | None, list[int]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def add(self, text: str) -> int:
        """Register a phrase; returns its id (the same id for the same tokens)."""
        tokens: list[str] = []
        for index, chunk in enumerate(str(text).split(GAP)):
            if index:
                tokens.append(GAP)
            tokens.extend(words(chunk, self.teencode))
        while tokens and tokens[-1] == GAP:
            tokens.pop()
        while tokens and tokens[0] == GAP:
            tokens.pop(0)
        key = tuple(tokens)
        if not key:
            raise ValueError(f"phrase {text!r} has no words")
        if key in self._ids:
            return self._ids[key]
        phrase_id = len(self.phrases)
        self.phrases.append(Phrase(str(text), key))
        self._plain.append(None if GAP in key else list(key))
        self._ids[key] = phrase_id
        self._by_prefix[key[0]][key[1] if len(key) > 1 else None].append(phrase_id)
        return phrase_id

    def find(self, tokens: list[str]) -> dict[int, list[tuple[int, int]]]:
        """phrase id -> (first token, end token) of each match, in order."""
        found: dict[int, list[tuple[int, int]]] = defaultdict(list)
        last = len(tokens) - 1
        for start, token in enumerate(tokens):
            by_second = self._by_prefix.get(token)
            if by_second is None:
                continue
            second = tokens[start + 1] if start < last else None
            candidates = [by_second.get(None), by_second.get(GAP)]
            if second is not None and second != GAP:
                candidates.append(by_second.get(second))
            for group in candidates:
                for phrase_id in group or ():
                    plain = self._plain[phrase_id]
                    if plain is None:  # a phrase with a gap
                        end = _match(self.phrases[phrase_id].tokens, tokens, 1, start + 1)
                    elif tokens[start : start + len(plain)] == plain:
                        end = start + len(plain)
                    else:
                        continue
                    if end is not None:
                        found[phrase_id].append((start, end))
        return found


def _match(pattern: tuple[str, ...], tokens: list[str], p: int, t: int) -> int | None:
    """The end of a match of pattern[p:] at tokens[t:], or None."""
    while p < len(pattern):
        if pattern[p] == GAP:
            for skip in range(MAX_GAP + 1):
                end = _match(pattern, tokens, p + 1, t + skip)
                if end is not None:
                    return end
            return None
        if t >= len(tokens) or tokens[t] != pattern[p]:
            return None
        p += 1
        t += 1
    return t


@dataclass(frozen=True)
class Group:
    """A set of phrases that count as one condition."""

    ids: frozenset[int]

    def spans(self, found: dict[int, list[tuple[int, int]]]) -> list[tuple[int, int]]:
        """Every match of any phrase of the group, ordered by position (longest first)."""
        spans = [span for phrase_id in self.ids for span in found.get(phrase_id, ())]
        return sorted(spans, key=lambda s: (s[0], -s[1]))

    def any_in(
        self, found: dict[int, list[tuple[int, int]]], lo: int = 0, hi: int = 1 << 30
    ) -> bool:
        """True when a phrase of the group matches inside tokens [lo, hi)."""
        return any(
            lo <= start and end <= hi
            for phrase_id in self.ids
            for start, end in found.get(phrase_id, ())
        )


def group(index: PhraseIndex, phrases: list[str]) -> Group:
    """Register phrases and return them as one group."""
    return Group(frozenset(index.add(p) for p in phrases))
