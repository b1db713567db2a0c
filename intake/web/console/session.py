"""Console sign-in: a server-side session per cookie, CSRF token, throttled sign-in.

The cookie (signed by Starlette's SessionMiddleware, SameSite strict, Secure behind https)
holds only a random session token and the CSRF token; the session itself lives in the
database (`intake.store.sessions`): it ends at logout, when an administrator ends it, on a
new password, after 30 idle minutes and 12 hours after sign-in, whichever comes first.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from sqlalchemy import select

from intake.pipeline.context import Services
from intake.store import audit, sessions
from intake.store.auth import check_password
from intake.store.models import User
from intake.web.client import client_address
from intake.web.permissions import Action, allowed

WRONG = "Sai tên đăng nhập hoặc mật khẩu (wrong username or password)."
THROTTLED = (
    "Quá nhiều lần đăng nhập sai từ địa chỉ này, thử lại sau 15 phút "
    "(too many failed sign-ins from this address: try again in 15 minutes)."
)
NOT_FOR_CONSOLE = (
    "Tài khoản này không dùng được bảng điều khiển (this account cannot sign in here)."
)


class NotSignedIn(Exception):
    """The request has no live session: send the person to the sign-in page."""


def sign_in(
    services: Services, request: Request, username: str, password: str
) -> tuple[int, str] | None:
    """Check the password (throttled per address and account); on success start a session.

    Returns (HTTP status, message) when refused. Unknown and known usernames get the same
    answers and cost the same Argon2 check.
    """
    address = client_address(request)
    username = username[:64]
    with services.db.writer() as session:
        if sessions.throttled(session=session, address=address, username=username):
            return 429, THROTTLED
        user = session.scalars(select(User).where(User.username == username)).first()
        good = check_password(user, password)
        if user is None or not good or not user.active:
            sessions.failed(session=session, address=address, username=username)
            return 401, WRONG
        sessions.succeeded(session=session, address=address, username=username)
        if not allowed(user.role, Action.CONSOLE):
            audit.record(session=session, user=user, action="sign_in_refused")
            return 403, NOT_FOR_CONSOLE
        token = sessions.start(session=session, user_id=user.id)
        audit.record(session=session, user=user, action="sign_in")
    request.session.clear()
    request.session.update({"sid": token, "csrf": secrets.token_urlsafe(24)})
    return None


def sign_out(services: Services, request: Request) -> None:
    """End the session on the server and forget the cookie."""
    token = str(request.session.get("sid", ""))
    if token:
        with services.db.writer() as session:
            sessions.end(session=session, token=token, why="logout")
    request.session.clear()


def current_user(services: Services, request: Request, *, touch: bool = True) -> User:
    """The signed-in user; NotSignedIn for no session, an ended one or a refused account.

    `touch=False` for requests the person did not ask for (the queue's live updates): they
    do not keep an idle session alive.
    """
    token = str(request.session.get("sid", ""))
    if not token:
        raise NotSignedIn()
    open_session = services.db.writer if touch else services.db.reader
    with open_session() as session:
        user_id = sessions.resolve(session=session, token=token, touch=touch)
        user = session.get(User, user_id) if user_id is not None else None
        if user is not None and (not user.active or not allowed(user.role, Action.CONSOLE)):
            sessions.end(session=session, token=token, why="refused")
            user = None
    if user is None:
        request.session.clear()
        raise NotSignedIn()
    return user


def check_origin(services: Services, request: Request) -> None:
    """Refuse a form posted from another site (sign-in has no session token to check yet)."""
    origin = request.headers.get("origin")
    if origin is None:
        if request.headers.get("sec-fetch-site") == "cross-site":
            raise HTTPException(403, "form posted from another site")
        return
    ours = {_origin(services.settings.public_base_url)}
    host = request.headers.get("host", "")
    ours |= {f"https://{host}", f"http://{host}"}
    if origin.rstrip("/") not in ours:
        raise HTTPException(403, "form posted from another site")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, for forms."""
    return str(request.session.get("csrf", ""))


def check_csrf(request: Request, given: str) -> None:
    """Refuse a form without this session's token (constant-time comparison)."""
    expected = csrf_token(request)
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page")
