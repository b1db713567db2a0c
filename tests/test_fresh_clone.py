"""A clone with nothing beside it passes the README's test command: no test reads a file
outside the repository (../shared, a developer's home, an untracked file).

Slow (a new .venv, then the suite), so it runs only when HOTLINE_TEST_FRESH_CLONE=1:
`.ci/run` runs it as a step of its own, on SQLite only.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    os.environ.get("HOTLINE_TEST_FRESH_CLONE") != "1",
    reason="slow: set HOTLINE_TEST_FRESH_CLONE=1 (.ci/run does)",
)


def _readme_test_command() -> list[str]:
    """The README's command that runs the whole suite."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^(\./run test)\b", readme, flags=re.M)
    assert found, "the README names no test command"
    return found[1].split()


def test_a_fresh_clone_passes_the_readme_test_command(tmp_path: Path) -> None:
    clone = tmp_path / "hotline111"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    assert not (clone.parent / "shared").exists()
    assert not (clone / ".venv").exists()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HOTLINE_", "VIRTUAL_ENV", "PYTEST", "PYTHON"))
    }
    env.setdefault("PATH", "/usr/bin:/bin")
    done = subprocess.run(
        [*_readme_test_command(), "-q", "-p", "no:cacheprovider", "-x"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    # pytest's own report last: pip's installation notes on stderr come before it.
    tail = done.stderr[-1500:] + "\n" + done.stdout[-4000:]
    assert done.returncode == 0, tail
    assert re.search(r"\d+ passed", tail), tail
