"""Screenshots of the operator's desk for docs/operators-desk.md (docs/screenshots/desk-*).

python scripts/desk_screenshots.py     (needs Debian's chromium: apt-get install chromium)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

from scripts.screenshots import SAMPLES as OVERVIEW_SAMPLES  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, live_service, post_tip  # noqa: E402

CALL = "Cô giáo gọi: học sinh lớp 4 bị cha đánh bằng roi nhiều lần, người đầy vết thương"
SAMPLES = OVERVIEW_SAMPLES[:3]  # a P1 beating, a P1 border broker, a P2 beating


def main() -> None:
    out = REPO / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        live_service(Path(tmp)) as service,
        sync_playwright() as p,
    ):
        for n, text in enumerate(SAMPLES):
            post_tip(service, text, f"desk-shot-{n}")
        time.sleep(2)  # the workers locate, triage and route
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{service.base}/console/login")
        page.fill("input[name=username]", "lan")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("text=Hàng chờ")
        page.goto(f"{service.base}/console/calls/new")
        page.fill("#text", CALL)
        page.fill("#place", "Thiệu Trung")
        page.wait_for_selector("#suggestion .lv")
        page.select_option("#sex", "male")
        page.fill("#age", "10")
        page.check("#cat-physical_abuse")
        page.select_option("#relation", "teacher")
        page.fill("#phone", "0903 111 222")
        time.sleep(0.5)
        page.screenshot(path=str(out / "desk-call.png"), full_page=True)
        page.fill("#place", "Thiệu Trung, Thanh Hóa")
        page.click("#file-call")
        page.wait_for_selector("text=Đã ghi nhận cuộc gọi")
        time.sleep(1.5)
        page.reload()
        page.screenshot(path=str(out / "desk-incident.png"), full_page=True)
        page.fill("#header-q", "danh bang roi")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=kết quả")
        page.screenshot(path=str(out / "desk-search.png"), full_page=True)
        page.goto(f"{service.base}/console/reports?period=year_{time.gmtime().tm_year}")
        page.screenshot(path=str(out / "desk-reports.png"), full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(f"{service.base}/console/login")
        phone.fill("input[name=username]", "lan")
        phone.fill("input[name=password]", PASSWORD)
        phone.click("button[type=submit]")
        phone.wait_for_selector("text=Hàng chờ")
        time.sleep(1.2)  # the deadlines tick
        phone.screenshot(path=str(out / "desk-queue-phone.png"), full_page=True)
        browser.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
