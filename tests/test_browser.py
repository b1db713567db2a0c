"""The console in Debian's Chromium, driven by Playwright, against the real service."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, live_service, post_tip

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")
TIMEOUT = 15_000


def sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_operator_works_an_incident_and_police_is_kept_out(tmp_path: Path) -> None:
    with live_service(tmp_path) as service, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT)
            sign_in(page, service.base, "lan")
            page.wait_for_selector("text=Hàng chờ")
            # A new tip appears in the queue without reloading the page.
            tip = post_tip(service, "cuu em, bo dang danh em o xa Tan Thanh", "b-1")
            page.wait_for_selector(f"text={tip['reference']}")
            page.click(f"text={tip['reference']}")
            page.wait_for_selector("text=Nơi xảy ra")
            # The place was ambiguous (Tân Thành is in many provinces): pick it by hand.
            assert page.locator("input[name=ward_code][type=radio]").count() > 1
            page.select_option("select[name=province]", "20")
            page.click('button:has-text("Chọn tỉnh")')
            page.select_option("select[name=ward_code]", "6172")
            page.click("text=Đặt địa điểm")
            page.wait_for_selector("text=Xã Hoàng Văn Thụ")
            page.click("text=Chuyển lại")
            page.wait_for_selector("text=[DEMO] Công an Xã Hoàng Văn Thụ")
            page.locator("form:has(input[value='cp-6172']) button").click()
            page.wait_for_selector("text=Đã nhận")
            page.select_option("select[name=to]", "resolved")
            page.click("text=Đổi trạng thái")
            # Statuses are shown in words, never as identifiers such as `resolved` (issue 16).
            page.wait_for_selector('h2:has-text("Đã giải quyết")')
            incident_url = page.url

            other = post_tip(service, "em bi danh o phuong Hac Thanh, Thanh Hoa", "b-2")
            police = browser.new_page()
            police.set_default_timeout(TIMEOUT)
            sign_in(police, service.base, "cs")
            police.wait_for_selector("text=Hàng chờ")
            assert police.goto(incident_url).status == 200  # routed to their unit
            response = police.goto(f"{service.base}/console/incidents/{other['id']}")
            assert response is not None and response.status == 403
            assert re.search(r"not routed to your unit", police.content())
        finally:
            browser.close()
