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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.phrases import BREAK

FORMAT = "hotline111-triage-linear"
VERSION = 1


class ModelError(ValueError):
    """A weights file that cannot be used; the message names the problem."""


_GRAMS: dict[str, tuple[str, ...]] = {}  # a word's features, kept: words repeat a lot
_GRAMS_KEPT = 50_000


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
    """One classifier over the shared features: feature -> idf x weight for each class."""

    classes: tuple[str, ...]
    rows: dict[str, array[float]]  # feature -> idf x weight, one per class
    intercept: tuple[float, ...]

    def scores(self, present: set[str], norm: float) -> list[float]:
        """The decision function (what sklearn's decision_function gives)."""
        get = self.rows.get
        rows = [row for row in map(get, present) if row is not None]
        if not rows or not norm:
            return list(self.intercept)
        # One column per class, each summed in C: the fast way to add sparse rows here.
        totals = map(sum, zip(*rows, strict=True))
        return [total / norm + b for total, b in zip(totals, self.intercept, strict=True)]

    def top_words(
        self, present: set[str], norm: float, label: str, count: int = 4
    ) -> list[tuple[str, float]]:
        """The features that pushed most towards `label`, with their contribution."""
        column = self.classes.index(label)
        pushed = sorted(
            ((f, self.rows[f][column] / norm) for f in present if f in self.rows),
            key=lambda fw: -fw[1],
        )
        shown: dict[str, float] = {}
        for feature, weight in pushed:
            word = feature.split(":", 1)[1].strip()
            if weight <= 0 or len(shown) == count:
                break
            shown.setdefault(word, round(weight, 2))
        return list(shown.items())


@dataclass(frozen=True)
class Opinion:
    """What the model thinks of one tip."""

    label: str
    probability: float
    probabilities: dict[str, float]
    words: list[tuple[str, float]]


@dataclass(frozen=True)
class LinearModel:
    """Shared idf table and the heads (level, category)."""

    idf: dict[str, float]
    heads: dict[str, Head]
    trained_on: int
    cross_validated: dict[str, Any]
    source: str

    def vector(self, tokens: list[str]) -> tuple[set[str], float]:
        """The tip's known features and the length of its tf-idf vector."""
        idf = self.idf
        present = {f for f in set(features(tokens)) if f in idf}  # not .intersection(idf):
        # that walks the whole vocabulary
        norm = math.sqrt(sum([idf[f] ** 2 for f in present]))
        return present, norm

    def decision(self, tokens: list[str], head: str) -> list[float]:
        present, norm = self.vector(tokens)
        return self.heads[head].scores(present, norm)

    def opinion(
        self,
        tokens: list[str],
        head: str,
        words: bool = True,
        vector: tuple[set[str], float] | None = None,
    ) -> Opinion:
        """The head's most likely class with its probability and the words behind it."""
        present, norm = vector or self.vector(tokens)
        model = self.heads[head]
        scores = model.scores(present, norm)
        top = max(scores)
        exp = [math.exp(s - top) for s in scores]
        total = sum(exp)
        probabilities = {c: e / total for c, e in zip(model.classes, exp, strict=True)}
        label = max(probabilities, key=probabilities.__getitem__)
        said = model.top_words(present, norm, label) if words and norm else []
        return Opinion(label, probabilities[label], probabilities, said)


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
    for name, head in heads_data.items():
        heads[name] = _head(head, vocabulary, idf_map, f"{source}: head {name!r}")
    if set(heads["level"].classes) - {"P1", "P2", "P3", "P4", "SPAM"}:
        raise ModelError(f"{source}: the level head has classes other than P1-P4 and SPAM")
    return LinearModel(
        idf=idf_map,
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


def _head(head: object, vocabulary: list[str], idf: dict[str, float], where: str) -> Head:
    """One head: its classes, intercepts and the feature-major float32 weights."""
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
    width = len(classes)
    expected = len(vocabulary) * width
    if len(raw) != 4 * expected:
        raise ModelError(
            f"{where}: weights hold {len(raw) // 4} numbers, expected {len(vocabulary)} "
            f"features x {width} classes = {expected}"
        )
    values = array("f")
    values.frombytes(raw)
    if sys.byteorder != "little":
        values.byteswap()
    if not all(map(math.isfinite, values)):
        raise ModelError(f"{where}: a weight is not a finite number")
    rows = {
        f: array("d", [idf[f] * w for w in values[i * width : (i + 1) * width]])
        for i, f in enumerate(vocabulary)
    }
    return Head(
        tuple(str(c) for c in classes),
        rows,
        tuple(_number(b, f"{where} intercept") for b in intercept),
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
