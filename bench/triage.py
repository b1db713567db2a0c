"""Triage throughput on one core, and the memory the rules and the model's weights take.

    python bench/triage.py [--rounds 3] [--serve]

Tips: every labelled tip under tests/data/triage. Baseline in the same run: the time to
only fold and tokenize the same texts. Memory: the resident size of this process before
and after loading the rules, concepts and weights; with --serve, also the resident size
of `hotline111 serve` (SQLite, demo mode, workers on) once it answers /healthz: the
rules, concepts and weights are loaded at start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import machine  # noqa: E402

TIPS = REPO / "tests" / "data" / "triage"
MARKER = "<!-- written by hand below: bench/triage.py keeps it -->"


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory in MB from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def serve_rss() -> float:
    """Start `serve` on a free port and read its resident memory once it answers."""
    from tests.live import free_port, start_service, stop

    port = free_port()
    with tempfile.TemporaryDirectory() as var:
        env = {**os.environ, "HOTLINE_VAR_DIR": var, "HOTLINE_SECRET_KEY": "bench-" * 6}
        process = start_service(env, port)
        try:
            time.sleep(2)  # start-up settles (the workers start)
            return rss_mb(process.pid)
        finally:
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help="also measure serve's memory")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "triage.md")
    args = parser.parse_args()
    before = rss_mb()
    from triage import classify, load_rules
    from triage.phrases import words

    rules = load_rules()
    loaded = rss_mb()
    texts = [
        json.loads(line)["text"]
        for path in sorted(TIPS.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for text in texts:  # warm up
        classify(text, rules=rules)
    started = time.process_time()
    for _ in range(args.rounds):
        for text in texts:
            words(text, rules.index.teencode)
    baseline = time.process_time() - started
    timings = {}
    from dataclasses import replace

    for name, ruleset in (
        ("rules only", replace(rules, concepts=None, model=None)),
        ("rules + concepts", replace(rules, model=None)),
        ("full triage (rules + concepts + model)", rules),
    ):
        started = time.process_time()
        for _ in range(args.rounds):
            for text in texts:
                classify(text, rules=ruleset)
        timings[name] = time.process_time() - started
    count = args.rounds * len(texts)
    chars = sum(len(t) for t in texts) / len(texts)
    served = f"{serve_rss():.0f} MB" if args.serve else "not measured (--serve)"
    rows = [
        f"| fold + tokenize only (baseline) | {count / baseline:,.0f} | "
        f"{baseline / count * 1e6:.0f} |"
    ]
    rows += [
        f"| {name} | {count / spent:,.0f} | {spent / count * 1e6:.0f} |"
        for name, spent in timings.items()
    ]
    report = "\n".join(
        [
            "## Triage: tips per second on one core, memory with the weights loaded",
            "",
            f"{machine()}; load average {os.getloadavg()[0]:.1f} while it ran.",
            f"`python bench/triage.py --rounds {args.rounds}{' --serve' if args.serve else ''}`:"
            f" {count} classifications of {len(texts)} labelled tips (mean {chars:.0f}"
            " characters), CPU time of this process.",
            "",
            "| what | tips/s | µs per tip |",
            "|---|---|---|",
            *rows,
            "",
            f"Resident memory: {before:.0f} MB before loading triage, {loaded:.0f} MB with the "
            f"rules, concepts and weights loaded (+{loaded - before:.0f} MB). `serve` with "
            f"everything loaded, after start-up: {served}. Goals: over 5,000 tips/s; serve "
            "under 150 MB.",
            "",
        ]
    )
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    kept = ""  # the hand-written part of the page below the marker stays
    if args.out.exists() and MARKER in args.out.read_text(encoding="utf-8"):
        kept = args.out.read_text(encoding="utf-8").split(MARKER, 1)[1]
    args.out.write_text(report + "\n" + MARKER + kept, encoding="utf-8")


if __name__ == "__main__":
    main()
