"""Console sign-in: signed session cookie, CSRF token, idle expiry, lockout."""

from __future__ import annotations

import hmac
import secrets
import time
from datetime import timedelta

from fastapi import HTTPException, Request
from sqlalchemy import select

from intake.pipeline.context import Services
from intake.store.auth import check_password
from intake.store.models import User, utcnow

IDLE_SECONDS = 30 * 60
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


class NotSignedIn(Exception):
    """The request has no live session: send the person to the sign-in page."""


def sign_in(services: Services, request: Request, username: str, password: str) -> str | None:
    """Check the password (with lockout); on success start a session. Returns an error."""
    with services.db.writer() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.active:
            return "Sai tên đăng nhập hoặc mật khẩu (wrong username or password)."
        if user.locked_until is not None and user.locked_until > utcnow():
            return "Tài khoản tạm khóa 15 phút sau nhiều lần sai (locked for 15 minutes)."
        if not check_password(user, password):
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until = utcnow() + LOCKOUT
                user.failed_logins = 0
            return "Sai tên đăng nhập hoặc mật khẩu (wrong username or password)."
        user.failed_logins = 0
        user.locked_until = None
        user_id = user.id
    request.session.clear()
    request.session.update(
        {"user_id": user_id, "csrf": secrets.token_urlsafe(24), "seen": int(time.time())}
    )
    return None


def current_user(services: Services, request: Request) -> User:
    """The signed-in user; raises NotSignedIn for none, an idle one or a disabled account."""
    user_id = request.session.get("user_id")
    seen = int(request.session.get("seen", 0))
    if not user_id or time.time() - seen > IDLE_SECONDS:
        request.session.clear()
        raise NotSignedIn()
    with services.db.reader() as session:
        user = session.get(User, int(user_id))
    if user is None or not user.active:
        request.session.clear()
        raise NotSignedIn()
    request.session["seen"] = int(time.time())
    return user


def csrf_token(request: Request) -> str:
    """The session's CSRF token, for forms."""
    return str(request.session.get("csrf", ""))


def check_csrf(request: Request, given: str) -> None:
    """Refuse a form without this session's token (constant-time comparison)."""
    expected = csrf_token(request)
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page")
