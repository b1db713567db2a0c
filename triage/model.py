"""The second opinion: a linear text classifier whose weights ship as data.

Features are the folded words of the tip, its word pairs and the 3- and 4-letter pieces
of each word; each present feature counts once, weighted by its idf, and the vector is
scaled to unit length (scikit-learn's TfidfVectorizer with binary=True and norm="l2").
A head is a logistic regression over those features. Training lives in triage/train.py
and needs scikit-learn; this module only reads the weights, so the service never loads a
training stack.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import sys
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage.phrases import BREAK

FORMAT = "hotline111-triage-linear"
VERSION = 1


class ModelError(ValueError):
    """A weights file that cannot be used; the message names the problem."""


_GRAMS: dict[str, tuple[str, ...]] = {}  # a word's features, kept: words repeat a lot
_GRAMS_KEPT = 5_000  # words; a tip corpus of 2,164 tips has 2,400 distinct ones


def _word_features(token: str) -> tuple[str, ...]:
    """A word's own features: the word, and its 3- and 4-letter pieces with edges marked."""
    grams = _GRAMS.get(token)
    if grams is None:
        padded = " " + token + " "
        size = len(padded)
        grams = (
            "w:" + token,
            *["c:" + padded[i : i + 3] for i in range(size - 2)],
            *["c:" + padded[i : i + 4] for i in range(size - 3)],
        )
        if len(_GRAMS) >= _GRAMS_KEPT:
            _GRAMS.clear()
        _GRAMS[token] = grams
    return grams


def features(tokens: list[str]) -> list[str]:
    """The features of a tip's folded tokens (punctuation breaks word pairs)."""
    out: list[str] = []
    previous = ""
    for token in tokens:
        if token == BREAK:
            previous = ""
            continue
        out.extend(_word_features(token))
        if previous:
            out.append("b:" + previous + " " + token)
        previous = token
    return out


@dataclass(frozen=True)
class Head:
    """One classifier over the shared features: its classes, where its weights stand in a
    feature's row, and its intercepts."""

    classes: tuple[str, ...]
    offset: int
    intercept: tuple[float, ...]


@dataclass(frozen=True)
class Opinion:
    """What the model thinks of one tip."""

    label: str
    probability: float
    probabilities: dict[str, float]


@dataclass(frozen=True)
class Scores:
    """Every head's decision function for one tip, and the length of its tf-idf vector."""

    by_head: dict[str, list[float]]
    norm: float


# A feature's row (idf², then idf x weight for each class of each head) is kept packed in
# one integer, each number a fixed-point field of FIELD bits: adding the rows of a tip's
# features is then one integer addition per feature, not one float addition per class,
# which makes the model three times faster in pure Python. Each field holds
# round(value x SCALE) + OFFSET, so it is never negative and no carry crosses fields while
# fewer than 2**23 rows are added; a sum of n rows is read back by taking n x OFFSET off.
FIELD = 64
SCALE = 1 << 30  # steps of 1e-9, far below the float32 the weights file keeps
OFFSET = 1 << 40  # values up to +-1024
_MASK = (1 << FIELD) - 1
_LARGEST = OFFSET // SCALE


def pack(values: list[float]) -> int:
    """One feature's row as one integer of fixed-point fields."""
    packed = 0
    for i, value in enumerate(values):
        packed |= (round(value * SCALE) + OFFSET) << (FIELD * i)
    return packed


def unpack(total: int, column: int, rows: int = 1) -> float:
    """Field `column` of a sum of `rows` packed rows, as a number."""
    return (((total >> (FIELD * column)) & _MASK) - rows * OFFSET) / SCALE


@dataclass(frozen=True)
class LinearModel:
    """All heads in one table: feature -> its packed row (idf², then idf x weight for each
    head's classes).

    One look-up per feature and one sum give the vector's length and every head's scores
    at once (what sklearn's decision_function gives, up to float32 weights).
    """

    rows: dict[str, int]
    heads: dict[str, Head]
    trained_on: int
    cross_validated: dict[str, Any]
    source: str

    _known: dict[str, dict[str, int]] = field(default_factory=dict, compare=False, repr=False)

    def _present(self, tokens: list[str]) -> dict[str, int]:
        """The tip's features that the model knows, each once, with their rows."""
        present: dict[str, int] = {}
        previous = ""
        for token in tokens:
            if token == BREAK:
                previous = ""
                continue
            known = self._known.get(token)
            if known is None:  # a word's own known features, worked out once per word
                known = {f: row for f in _word_features(token) if (row := self.rows.get(f))}
                if len(self._known) >= _GRAMS_KEPT:
                    self._known.clear()
                self._known[token] = known
            present.update(known)
            if previous and (row := self.rows.get(f"b:{previous} {token}")):
                present[f"b:{previous} {token}"] = row
            previous = token
        return present

    def scores(self, tokens: list[str]) -> Scores:
        """The decision function of every head for a tip's folded tokens."""
        found = self._present(tokens)
        if not found:
            return Scores({n: list(h.intercept) for n, h in self.heads.items()}, 0.0)
        total, count = sum(found.values()), len(found)
        norm = math.sqrt(unpack(total, 0, count))
        return Scores(
            {
                name: [
                    unpack(total, head.offset + i, count) / norm + b
                    for i, b in enumerate(head.intercept)
                ]
                for name, head in self.heads.items()
            },
            norm,
        )

    def decision(self, tokens: list[str], head: str) -> list[float]:
        return self.scores(tokens).by_head[head]

    def opinion(self, tokens: list[str], head: str, scores: Scores | None = None) -> Opinion:
        """The head's most likely class with its probability."""
        values = (scores or self.scores(tokens)).by_head[head]
        top = max(values)
        exp = [math.exp(v - top) for v in values]
        total = sum(exp)
        classes = self.heads[head].classes
        probabilities = {c: e / total for c, e in zip(classes, exp, strict=True)}
        label = max(probabilities, key=probabilities.__getitem__)
        return Opinion(label, probabilities[label], probabilities)

    def top_words(
        self, tokens: list[str], head: str, label: str, count: int = 4
    ) -> list[tuple[str, float]]:
        """The words and word pairs that pushed most towards `label`, with their part (the
        letter pieces count in the sum but a supervisor reads words)."""
        model = self.heads[head]
        column = model.offset + model.classes.index(label)
        present = self._present(tokens)
        norm = math.sqrt(unpack(sum(present.values()), 0, len(present))) or 1.0
        words = [(f, row) for f, row in present.items() if f[0] != "c"]
        pushed = sorted(((f, unpack(row, column) / norm) for f, row in words), key=lambda x: -x[1])
        shown: dict[str, float] = {}
        for feature, weight in pushed:
            if weight <= 0 or len(shown) == count:
                break
            shown.setdefault(feature.split(":", 1)[1].strip(), round(weight, 2))
        return list(shown.items())


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelError(f"{where} is not a finite number: {value!r}")
    return float(value)


def parse_model(data: object, source: str = "<model>") -> LinearModel:
    """Check a weights document thoroughly and build the model; ModelError names the fault."""
    if not isinstance(data, dict):
        raise ModelError(f"{source}: expected a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise ModelError(f"{source}: format is {data.get('format')!r}, expected {FORMAT!r}")
    if data.get("version") != VERSION:
        raise ModelError(f"{source}: version {data.get('version')!r}, expected {VERSION}")
    vocabulary, idf = data.get("vocabulary"), data.get("idf")
    if not isinstance(vocabulary, list) or not isinstance(idf, list) or not vocabulary:
        raise ModelError(f"{source}: vocabulary and idf must be non-empty lists")
    if len(vocabulary) != len(idf):
        raise ModelError(
            f"{source}: {len(vocabulary)} vocabulary entries but {len(idf)} idf values"
        )
    if not all(isinstance(f, str) and f[:2] in ("w:", "b:", "c:") for f in vocabulary):
        raise ModelError(f"{source}: a vocabulary entry is not a w:/b:/c: feature")
    idf_map = {
        f: _number(v, f"{source}: idf of {f!r}") for f, v in zip(vocabulary, idf, strict=True)
    }
    heads_data = data.get("heads")
    if not isinstance(heads_data, dict) or "level" not in heads_data:
        raise ModelError(f"{source}: heads must be an object with at least a 'level' head")
    heads: dict[str, Head] = {}
    columns: list[array[float]] = []  # per head, its float32 weights, feature-major
    offset = 1  # column 0 is idf²
    for name, head in heads_data.items():
        where = f"{source}: head {name!r}"
        classes, intercept, values = _head(head, len(vocabulary), where)
        heads[name] = Head(classes, offset, intercept)
        columns.append(values)
        offset += len(classes)
    if set(heads["level"].classes) - {"P1", "P2", "P3", "P4", "SPAM"}:
        raise ModelError(f"{source}: the level head has classes other than P1-P4 and SPAM")
    rows: dict[str, int] = {}
    for i, feature in enumerate(vocabulary):
        weight = idf_map[feature]
        row = [weight * weight]
        for head, values in zip(heads.values(), columns, strict=True):
            width = len(head.classes)
            row.extend([weight * w for w in values[i * width : (i + 1) * width]])
        if max(map(abs, row)) >= _LARGEST:
            raise ModelError(f"{source}: feature {feature!r} has a weight x idf over {_LARGEST}")
        rows[feature] = pack(row)
    return LinearModel(
        rows=rows,
        heads=heads,
        trained_on=int(_number(data.get("trained_on", 0), f"{source}: trained_on")),
        cross_validated=dict(data.get("cross_validated") or {}),
        source=source,
    )


def encode_weights(rows: list[list[float]]) -> str:
    """Weights, one row per feature, as the file keeps them: float32, base64."""
    packed = array("f", [w for row in rows for w in row])
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _head(
    head: object, features: int, where: str
) -> tuple[tuple[str, ...], tuple[float, ...], array[float]]:
    """One head's classes, intercepts and feature-major float32 weights, checked."""
    if not isinstance(head, dict):
        raise ModelError(f"{where} is not an object")
    classes, weights, intercept = head.get("classes"), head.get("weights"), head.get("intercept")
    if not isinstance(classes, list) or len(classes) < 2:
        raise ModelError(f"{where}: classes must list at least two labels")
    if not isinstance(intercept, list) or len(intercept) != len(classes):
        raise ModelError(f"{where}: intercept must have one value per class ({len(classes)})")
    if not isinstance(weights, str):
        raise ModelError(f"{where}: weights must be a base64 string of float32 values")
    try:
        raw = base64.b64decode(weights, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ModelError(f"{where}: weights are not valid base64 ({exc})") from exc
    expected = features * len(classes)
    if len(raw) != 4 * expected:
        raise ModelError(
            f"{where}: weights hold {len(raw) // 4} numbers, expected {features} "
            f"features x {len(classes)} classes = {expected}"
        )
    values = array("f")
    values.frombytes(raw)
    if sys.byteorder != "little":
        values.byteswap()
    if not all(map(math.isfinite, values)):
        raise ModelError(f"{where}: a weight is not a finite number")
    return (
        tuple(str(c) for c in classes),
        tuple(_number(b, f"{where} intercept") for b in intercept),
        values,
    )


def load_model(path: Path) -> LinearModel:
    """Read a weights file; ModelError says what is wrong with a bad one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: no such weights file") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not a JSON weights file ({exc})") from exc
    return parse_model(data, str(path))
