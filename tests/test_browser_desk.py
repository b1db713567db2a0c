"""The operator's desk in Debian's Chromium: a call by keyboard only reaches the police's
(fake) Telegram in the operator's words; a correction, a search, a report; 390 px; axe."""

from __future__ import annotations

import csv
import gzip
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from intake.store.directory import DEMO_DIRECTORY
from tests.browser import CHROMIUM, CHROMIUM_ARGS, live_service
from tests.fakes.server import Recorder, serve
from tests.fakes.telegram import telegram_app
from tests.test_browser import sign_in

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")
TIMEOUT = 15_000
TOKEN = "424242:desk-token"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WORDS = "Cô giáo gọi: học sinh lớp 4 bị cha đánh bằng roi, người đầy vết thương"


def _vague() -> str:
    """A call the rules in force mark for review (someone at risk, nothing placed)."""
    from tests.test_desk_review import VAGUE
    from triage import classify, load_rules

    rules = load_rules(Path(__file__).resolve().parents[1] / "config" / "triage")
    marked = [t for t in VAGUE if classify(t, rules=rules, channel="voice").needs_review]
    assert marked, "the rules mark none of the vague calls for review"
    return marked[0]


def _chat_of(unit_id: str) -> str:
    with gzip.open(DEMO_DIRECTORY, "rt", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if row["unit_id"] == unit_id:
                return row["telegram_chat_id"]
    raise LookupError(unit_id)


def _tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until the element is focused (keyboard only)."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def _wait_for(check: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def _axe(page: Any) -> list[str]:
    """The serious and critical WCAG 2 A/AA violations axe-core finds on the page."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_operators_desk(tmp_path: Path) -> None:
    recorder = Recorder()
    with serve(telegram_app(recorder, TOKEN)) as telegram:
        env = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_SECRET_TOKEN": "desk-secret-token",
            "TELEGRAM_API_BASE_URL": telegram,
        }
        with live_service(tmp_path, env) as service, playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                _desk(browser, service.base, recorder, tmp_path)
            finally:
                browser.close()


def _desk(browser: Any, base: str, recorder: Recorder, tmp_path: Path) -> None:
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT)
    sign_in(page, base, "lan")
    page.wait_for_selector("text=Hàng chờ")

    # 1. A call, recorded by keyboard only, from the header's link.
    _tab_to(page, 'a[href="/console/calls/new"]')
    page.keyboard.press("Enter")
    page.wait_for_selector("#call-form")
    _tab_to(page, "#text")
    page.keyboard.type(WORDS)
    page.wait_for_selector("#suggestion .lv")  # triage's reading, as the operator types
    assert "Bạo lực thể chất" in page.inner_text("#suggestion")
    _tab_to(page, "#place")
    page.keyboard.type("Thiệu Trung, Thanh Hóa")
    _tab_to(page, "#sex")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    _tab_to(page, "#age")
    page.keyboard.type("10")
    _tab_to(page, "#cat-physical_abuse")
    page.keyboard.press("Space")
    _tab_to(page, "#phone")
    page.keyboard.type("0903 111 222")
    assert page.evaluate("document.getElementById('sex').value") == "male"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/console/incidents/\d+$"))
    page.wait_for_selector("text=Đã ghi nhận cuộc gọi")
    reference = re.search(r"111-\d{4}-\d+", page.inner_text("h2"))
    assert reference
    # The pipeline routes it like any tip; the commune police's alert has the words.
    police_chat = _chat_of("cp-15835")
    sent = _wait_for(
        lambda: [
            c
            for c in recorder.named("sendMessage")
            if str(c.get("chat_id")) == police_chat and "bị cha đánh bằng roi" in c.get("text", "")
        ]
    )
    assert reference.group() in sent[0]["text"] and "0903" not in sent[0]["text"]
    page.reload()
    page.wait_for_selector("text=Bạo lực thể chất")
    assert "10 tuổi" in page.inner_text("main")

    # 2. The victim's age corrected on the incident page, on the timeline.
    page.fill("#d-age", "12")
    page.click("text=Lưu chi tiết")
    page.wait_for_selector("text=12 tuổi")
    assert "Sửa thông tin" in page.inner_text("main")
    incident_url = page.url

    # 3. Closed, then found again by a word without diacritics from the header's box.
    page.select_option("#status-to", "closed")
    page.click("text=Đổi trạng thái")
    page.wait_for_selector('h2:has-text("Đã đóng")')
    page.fill("#header-q", "danh bang roi")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"text={reference.group()}")
    assert "Đã đóng" in page.inner_text("main")

    # 4. The six-monthly report, downloaded from its page.
    page.goto(f"{base}/console/reports")
    page.click('a[id^="preset-six_months"]')
    with page.expect_download() as download:
        page.click("#download-xlsx")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    assert load_workbook(saved)["total"]["A1"].value == "from"

    # 5. The queue on a 390 px phone: cards, no horizontal scroll.
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    small = phone.new_page()
    small.set_default_timeout(TIMEOUT)
    sign_in(small, base, "lan")
    small.wait_for_selector("text=Hàng chờ")
    for path in ("/console/", "/console/calls/new", incident_url.replace(base, "")):
        small.goto(f"{base}{path}")
        width = small.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (path, width)
    phone.close()

    # 6. A call triage cannot place: "cần xem lại" in the queue and on its page.
    page.goto(f"{base}/console/calls/new")
    page.fill("#text", _vague())
    page.fill("#place", "Thiệu Trung, Thanh Hóa")
    page.click("#file-call")
    page.wait_for_url(re.compile(r".*/console/incidents/\d+$"))
    review_url = page.url

    def marked() -> bool:
        page.goto(f"{base}/console/?needs_review=1")
        return page.locator(f'tr[data-href="{review_url.replace(base, "")}"] .rv').count() == 1

    _wait_for(marked)
    page.goto(review_url)
    assert "Cần xem lại" in page.inner_text("#review")

    # 7. axe-core on the console's pages: no serious or critical violation.
    checked = browser.new_context(bypass_csp=True)
    audit = checked.new_page()
    audit.set_default_timeout(TIMEOUT)
    audit.goto(f"{base}/console/login")
    found = {"/console/login": _axe(audit)}
    sign_in(audit, base, "sup")
    audit.wait_for_selector("text=Hàng chờ")
    pages = [
        "/console/",
        "/console/calls/new",
        incident_url.replace(base, ""),
        review_url.replace(base, ""),
        "/console/search?q=danh",
        "/console/reports",
        "/console/stats",
    ]
    for path in pages:
        audit.goto(f"{base}{path}")
        found[path] = _axe(audit)
    checked.close()
    assert not any(found.values()), json.dumps(found, ensure_ascii=False, indent=1)
