"""Triage throughput on one core: tips per second over the development tips.

    python bench/triage.py [--rounds 50]

Baseline in the same run: the time to only fold and tokenize the same texts, so the
ratio says what the rules cost on top of reading the text at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import machine  # noqa: E402
from triage import classify, load_rules  # noqa: E402
from triage.phrases import words  # noqa: E402

TIPS = REPO / "tests" / "data" / "triage" / "tips_dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "triage.md")
    args = parser.parse_args()
    rules = load_rules()
    texts = [json.loads(line)["text"] for line in TIPS.read_text().splitlines() if line]
    for extra in ("triage_extra", "triage_extra2", "triage_extra3", "triage_extra4"):
        path = REPO / "tests" / "data" / f"{extra}.jsonl"
        texts += [json.loads(line)["text"] for line in path.read_text().splitlines() if line]
    for text in texts:  # warm up
        classify(text, rules=rules)
    started = time.perf_counter()
    for _ in range(args.rounds):
        for text in texts:
            words(text, rules.index.teencode)
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(args.rounds):
        for text in texts:
            classify(text, rules=rules)
    elapsed = time.perf_counter() - started
    count = args.rounds * len(texts)
    chars = sum(len(t) for t in texts) / len(texts)
    report = "\n".join(
        [
            "## Triage: tips per second on one core",
            "",
            f"{machine()}.",
            f"`python bench/triage.py --rounds {args.rounds}`: {count} classifications of "
            f"{len(texts)} labelled tips (mean {chars:.0f} characters).",
            "",
            "| what | tips/s | µs per tip |",
            "|---|---|---|",
            f"| fold + tokenize only (baseline) | {count / baseline:,.0f} | "
            f"{baseline / count * 1e6:.0f} |",
            f"| full triage (`classify`) | {count / elapsed:,.0f} | {elapsed / count * 1e6:.0f} |",
            "",
            f"Rules cost {elapsed / baseline:.1f}x reading the text. Goal: over 5,000 tips/s.",
            "",
        ]
    )
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)


if __name__ == "__main__":
    main()
