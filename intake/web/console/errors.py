"""Error pages of the console: HTML in the person's language, for browsers asking for HTML."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException

from intake.web.console.render import render

log = logging.getLogger(__name__)
# What each refusal means for the person, in Vietnamese (English in i18n.EN).
WORDS = {
    400: "Yêu cầu không hợp lệ: kiểm tra lại thông tin đã nhập.",
    403: "Bạn không có quyền làm việc này.",
    404: "Không tìm thấy trang hoặc sự việc này.",
    405: "Trang này không nhận yêu cầu kiểu này.",
    409: "Sự việc vừa được người khác cập nhật: tải lại trang.",
    413: "Dữ liệu gửi lên quá lớn.",
    422: "Thông tin chưa hợp lệ: kiểm tra lại.",
    429: "Quá nhiều yêu cầu: thử lại sau ít phút.",
    500: "Hệ thống gặp lỗi. Việc đã được ghi lại; thử lại hoặc gọi giám sát viên.",
}


def wants_html(request: Request) -> bool:
    """A console page a browser navigated to (scripts and API clients keep JSON)."""
    path = request.url.path
    return (
        path.startswith("/console")
        and not path.startswith("/console/static")
        and "text/html" in request.headers.get("accept", "")
    )


def page(request: Request, status: int, detail: str | None) -> Response:
    """The error page: what happened in words, and the server's own detail below."""
    words = WORDS.get(status, WORDS[500] if status >= 500 else WORDS[400])
    return render(
        request, "error.html", None, status=status, code=status, words=words, detail=detail
    )


async def on_http_error(request: Request, exc: Exception) -> Response:
    """HTML for a browser on the console; FastAPI's JSON otherwise."""
    assert isinstance(exc, HTTPException)
    if wants_html(request):
        response = page(request, exc.status_code, str(exc.detail) if exc.detail else None)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
    return await http_exception_handler(request, exc)


async def on_crash(request: Request, exc: Exception) -> Response:
    """A console page that failed: the Vietnamese page, never the traceback."""
    log.error("console page failed: %s", type(exc).__name__)
    if wants_html(request):
        return page(request, 500, None)
    return PlainTextResponse("Internal Server Error", status_code=500)
