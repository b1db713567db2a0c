"""Refresh docs/screenshots/: the queue, an incident and the dashboard, with sample tips;
an incident as a supervisor sees it (with its audit trail) and the queue of a commune
police officer (their unit's incidents only). docs/operators.md shows them.

python scripts/screenshots.py     (needs Debian's chromium: apt-get install chromium)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, live_service, post_tip  # noqa: E402

SAMPLES = [
    "cuu em, bo em dang danh em bang gay. em o xa Thieu Trung, Thanh Hoa",
    "chi ho em 19 tuoi bi moi gioi hua dua sang TQ lay chong, dem nay se don di. xa Tan Thanh,"
    " huyen Van Lang, Lang Son",
    "Bé gái 8 tuổi nhà bên thường xuyên bị mẹ kế đánh. Phường Hạc Thành, Thanh Hóa",
    "chau 10 tuoi nghi hoc di ban ve so o cho, khong ai danh. phuong Cai Rang, Can Tho",
    "con toi bi cac ban trong lop bat nat, chua bi danh",
    "cho hoi thu tuc nhan con nuoi o dau a",
]


def main() -> None:
    out = REPO / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        live_service(Path(tmp)) as service,
        sync_playwright() as p,
    ):
        _supervisor(Path(tmp))
        first = None
        for n, text in enumerate(SAMPLES):
            tip = post_tip(service, text, f"shot-{n}")
            first = first or tip
        time.sleep(2)  # the workers locate, triage and route
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{service.base}/console/login")
        page.fill("input[name=username]", "lan")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("text=Hàng chờ")
        page.screenshot(path=str(out / "queue.png"), full_page=True)
        assert first is not None
        page.goto(f"{service.base}/console/incidents/{first['id']}")
        page.screenshot(path=str(out / "incident.png"), full_page=True)
        page.goto(f"{service.base}/console/stats")
        page.screenshot(path=str(out / "dashboard.png"), full_page=True)
        _as(
            browser,
            service.base,
            "giamsat",
            f"/console/incidents/{first['id']}",
            out / "incident-supervisor.png",
        )
        _as(browser, service.base, "cs", "/console/", out / "queue-police.png")
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(f"{service.base}/report")
        phone.screenshot(path=str(out / "report-form-phone.png"), full_page=True)
        browser.close()
    print(f"screenshots in {out}")


def _supervisor(tmp: Path) -> None:
    """A supervisor in the live service's database (tests/browser.py names it)."""
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": f"sqlite:///{tmp / 'browser.db'}",
        "HOTLINE_VAR_DIR": str(tmp),
        "HOTLINE_SECRET_KEY": "browser-secret-key-0123456789",
    }
    command = ["user", "create", "--username", "giamsat", "--role", "supervisor"]
    subprocess.run(
        [sys.executable, "-m", "intake.cli", *command, "--password-stdin"],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        check=True,
        capture_output=True,
    )


def _as(browser, base: str, username: str, path: str, shot: Path) -> None:  # type: ignore[no-untyped-def]
    """Sign in as `username` in a fresh context and take one page."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Hàng chờ")
    page.goto(f"{base}{path}")
    page.screenshot(path=str(shot), full_page=True)
    context.close()


if __name__ == "__main__":
    main()
