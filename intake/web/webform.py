"""The public web form at /report: Vietnamese first, no JavaScript needed, anonymous by default.

Protection: a signed CSRF token bound to a cookie (its nonce is also the submission's id, so
a double submit files one tip), a honeypot field that people never see, and a per-address
rate limit kept in memory (the address itself is never stored or logged).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from channels.base import Channel, InboundMessage, MessageKind
from intake.pipeline.context import Services
from intake.pipeline.inbox import Submission
from intake.store.models import utcnow
from intake.web.client import client_address

log = logging.getLogger(__name__)
router = APIRouter(tags=["web form"], include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")

CSRF_COOKIE = "h111_form"
CSRF_MAX_AGE = 4 * 3600
RATE_LIMITS = parse_many("5/minute;30/hour")
_limiter = MovingWindowRateLimiter(MemoryStorage())
GENDERS = {"female", "male", "other"}
MAX_FIELD = {"what": 10_000, "where": 1_000, "name": 200, "phone": 40, "ward": 8}

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Báo tin cho Tổng đài 111",
        "intro": "Tổng đài quốc gia bảo vệ trẻ em và phòng, chống mua bán người. Miễn phí, "
        "bảo mật. Nếu có người đang gặp nguy hiểm, hãy gọi ngay 111.",
        "what": "Chuyện gì đang xảy ra?",
        "where": "Ở đâu? (thôn/xóm, xã/phường, tỉnh/thành phố)",
        "province": "Tỉnh/thành phố",
        "any": "Không rõ",
        "age": "Tuổi của trẻ/nạn nhân (nếu biết)",
        "gender": "Giới tính",
        "female": "Nữ",
        "male": "Nam",
        "other": "Khác",
        "contact": "Liên hệ (không bắt buộc)",
        "name": "Tên của bạn",
        "phone": "Số điện thoại",
        "consent": "Tôi đồng ý cho cơ quan chức năng biết thông tin liên hệ của tôi",
        "anonymous": "Bạn có thể báo tin ẩn danh. Thông tin của bạn được giữ bí mật.",
        "send": "Gửi tin báo",
        "thanks": "Cảm ơn bạn. Tin báo đã được ghi nhận.",
        "reference": "Mã tin báo của bạn",
        "keep": "Hãy giữ mã này để bổ sung thông tin khi gọi 111.",
        "again": "Gửi tin báo khác",
        "required": "Hãy cho biết chuyện gì đang xảy ra.",
        "expired": "Trang đã hết hạn. Hãy gửi lại.",
        "slow": "Bạn gửi quá nhiều lần. Hãy thử lại sau ít phút hoặc gọi 111.",
        "switch": "English",
        "ward": "Xã/phường",
        "pick": "Chọn xã/phường",
    },
    "en": {
        "title": "Report to Hotline 111",
        "intro": "Vietnam's national hotline for child protection and against human "
        "trafficking. Free and confidential. If someone is in danger now, call 111.",
        "what": "What is happening?",
        "where": "Where? (village, commune/ward, province/city)",
        "province": "Province/city",
        "any": "Not sure",
        "age": "Age of the child/victim (if known)",
        "gender": "Sex",
        "female": "Female",
        "male": "Male",
        "other": "Other",
        "contact": "Contact (optional)",
        "name": "Your name",
        "phone": "Phone number",
        "consent": "I agree that the responding authorities may see my contact details",
        "anonymous": "You may report anonymously. What you tell us is kept confidential.",
        "send": "Send report",
        "thanks": "Thank you. Your report has been received.",
        "reference": "Your reference",
        "keep": "Keep this code to add information when you call 111.",
        "again": "Send another report",
        "required": "Please tell us what is happening.",
        "expired": "This page has expired. Please send it again.",
        "slow": "Too many reports from here. Please try again in a few minutes or call 111.",
        "switch": "Tiếng Việt",
        "ward": "Commune/ward",
        "pick": "Choose commune",
    },
}


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "vi"


def _serializer(services: Services) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(services.cipher.session_key, salt="hotline111 report form")


def _provinces(services: Services) -> list[tuple[int, str]]:
    return sorted(
        ((code, p.name) for code, p in services.geography.provinces.items()), key=lambda x: x[1]
    )


def _page(request: Request, services: Services, status: int = 200, **extra: Any) -> Response:
    """Render the form with a fresh CSRF nonce in a cookie and a signed copy in the page."""
    lang = _lang(request)
    nonce = secrets.token_urlsafe(16)
    chosen = request.query_params.get("province", "")
    form = dict(extra.pop("form", {}) or {})
    province = chosen or form.get("province", "")
    wards = []
    if province.isdecimal() and int(province) in services.geography.provinces:
        form.setdefault("province", province)
        wards = sorted(
            (
                (code, services.geography.wards[code].name)
                for code in services.geography.wards_of_province[int(province)]
            ),
            key=lambda item: item[1],
        )
    context = {
        "t": TEXT[lang],
        "lang": lang,
        "csrf": _serializer(services).dumps(nonce),
        "provinces": _provinces(services),
        "wards": wards,
        "form": form,
        **extra,
    }
    response = templates.TemplateResponse(request, "report.html", context, status_code=status)
    response.set_cookie(
        CSRF_COOKIE,
        nonce,
        max_age=CSRF_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=services.settings.public_base_url.startswith("https"),
    )
    return response


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request) -> Response:
    """The empty form."""
    return _page(request, request.app.state.services)


def _client_key(request: Request) -> str:
    """The rate limit's bucket: the client's address (trusted proxies only), hashed."""
    return hashlib.sha256(client_address(request).encode()).hexdigest()[:16]


def _message(form: dict[str, str], nonce: str, services: Services) -> InboundMessage:
    """The tip the form carries, as an inbound message."""
    where = form.get("where", "")
    province = form.get("province", "")
    ward = form.get("ward", "")
    if ward.isdecimal() and int(ward) in services.geography.wards:
        chosen = services.geography.wards[int(ward)]
        if not province or province == str(chosen.province_code):
            where = f"{where}, {chosen.name}".strip(", ")
    if province.isdecimal() and int(province) in services.geography.provinces:
        where = f"{where}, {services.geography.provinces[int(province)].name}".strip(", ")
    age = form.get("age", "").strip()
    gender = form.get("gender", "")
    consent = form.get("consent") == "yes" and bool(form.get("phone") or form.get("name"))
    return InboundMessage(
        channel=Channel.WEB_FORM,
        provider_message_id=nonce,
        sender_id=f"web:{nonce}",
        kind=MessageKind.TEXT,
        received_at=utcnow(),
        text=form["what"],
        sender_phone=form.get("phone") or None,
        sender_name=form.get("name") or None,
        extra={
            k: v
            for k, v in {
                "location_text": where,
                "victim_age": age if age.isdecimal() and int(age) <= 120 else "",
                "victim_gender": gender if gender in GENDERS else "",
                "consent_to_share": "true" if consent else "",
            }.items()
            if v
        },
    )


@router.post("/report", response_class=HTMLResponse)
async def submit_report(request: Request) -> Response:
    """File the tip, then show its reference."""
    services: Services = request.app.state.services
    t = TEXT[_lang(request)]
    try:
        raw = await request.form()
    except Exception:  # a body that is not a form at all
        return _page(request, services, status=400, error=t["required"])
    form = {k: v.strip()[: MAX_FIELD.get(k, 100)] for k, v in raw.items() if isinstance(v, str)}
    try:
        nonce = _serializer(services).loads(form.get("csrf", ""), max_age=CSRF_MAX_AGE)
    except BadSignature:
        return _page(request, services, status=403, error=t["expired"], form=form)
    if nonce != request.cookies.get(CSRF_COOKIE):
        return _page(request, services, status=403, error=t["expired"], form=form)
    if form.get("choose"):
        # The province was chosen: the same form again, with its communes and all that
        # was typed (nothing is filed yet).
        return _page(request, services, form=form)
    if form.get("website"):
        # Only robots fill the hidden field: thank them, file nothing.
        return templates.TemplateResponse(
            request, "report_done.html", {"t": t, "lang": _lang(request), "reference": None}
        )
    if not form.get("what"):
        return _page(request, services, status=400, error=t["required"], form=form)
    if not all(_limiter.hit(limit, _client_key(request)) for limit in RATE_LIMITS):
        return _page(request, services, status=429, error=t["slow"], form=form)
    message = _message(form, str(nonce), services)

    (result,) = await services.intake.store(Submission((message,), None))
    reference = result.reference
    return templates.TemplateResponse(
        request, "report_done.html", {"t": t, "lang": _lang(request), "reference": reference}
    )
