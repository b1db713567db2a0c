"""A built wheel carries what the service needs besides code: templates and migrations.

The wheel is built from the tree, unpacked into an empty folder, and a Python that can see
only that folder (not the checkout) migrates a database and serves the console's sign-in
page and the web form.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SERVE_FROM_WHEEL = """
import sys
from pathlib import Path
from fastapi.testclient import TestClient
import intake
assert not Path(intake.__file__).is_relative_to(Path(sys.argv[1])), intake.__file__
from intake.settings import Settings
from intake.store.migrate import upgrade
from intake.web.app import create_app
url = "sqlite:///" + sys.argv[2]
upgrade(url)
settings = Settings(HOTLINE_DATABASE_URL=url, HOTLINE_SECRET_KEY="wheel-test-secret-key",
                    HOTLINE_RUN_WORKERS=False, HOTLINE_VAR_DIR=sys.argv[3])
with TestClient(create_app(settings)) as client:
    for path in ("/console/login", "/report"):
        page = client.get(path)
        assert page.status_code == 200 and "<form" in page.text, (path, page.status_code)
print("served")
"""


def test_a_built_wheel_migrates_and_serves_the_console(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves a build/ folder beside the sources it builds.
    source = tmp_path / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "var", "build", "*.egg-info", "node_modules"
        ),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path, source],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("hotline111-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    names = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert "intake/web/console/templates/queue.html" in names
    assert "intake/web/templates/report.html" in names
    assert "intake/store/migrations/script.py.mako" in names
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "HOTLINE_CONFIG_DIR": str(REPO / "config"),
    }
    served = subprocess.run(
        [
            sys.executable,
            "-c",
            SERVE_FROM_WHEEL,
            str(REPO),
            str(tmp_path / "db.sqlite"),
            str(tmp_path / "var"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert served.returncode == 0, served.stderr[-3000:]
    assert "served" in served.stdout
