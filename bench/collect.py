"""Gather the sections written by each benchmark into docs/benchmarks.md.

python bench/collect.py
"""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
ORDER = ["ingest", "pipeline", "locate", "triage"]
INTRO = """# Benchmarks

Each section is written by its script under `bench/` (the command is in the section), on
the machine and date it names. The machine is shared and noisy: compare the ratios inside
one run (ours against a baseline measured in the same run), not absolute numbers across
runs. Regenerate this page with `python bench/collect.py` after running the scripts.
"""


def main() -> None:
    parts = [INTRO]
    for name in ORDER:
        section = DOCS / "benchmarks" / f"{name}.md"
        if section.exists():
            parts.append(section.read_text().strip() + "\n")
    (DOCS / "benchmarks.md").write_text("\n".join(parts))


if __name__ == "__main__":
    main()
