"""Refresh docs/screenshots/: the queue, an incident and the dashboard, with sample tips.

python scripts/screenshots.py     (needs Debian's chromium: apt-get install chromium)
"""

from __future__ import annotations

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
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(f"{service.base}/report")
        phone.screenshot(path=str(out / "report-form-phone.png"), full_page=True)
        browser.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
