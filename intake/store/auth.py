"""Users, roles, passwords (Argon2) and API bearer tokens."""

from __future__ import annotations

import functools
import secrets
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store import sessions
from intake.store.crypto import hash_token
from intake.store.db import Database, driver_rows
from intake.store.models import ApiToken, Assignment, Role, User

UNIT_ROLES = {Role.POLICE, Role.SOCIAL_WORKER}
_hasher = PasswordHasher()


class UserError(ValueError):
    """A user or token request that cannot be carried out."""


def create_user(
    *, session: Session, username: str, role: Role, password: str, unit_id: str | None = None
) -> User:
    """Create a user; police and social workers must belong to a unit."""
    if not username or len(username) > 64:
        raise UserError("username must be 1 to 64 characters")
    if len(password) < 10:
        raise UserError("password must be at least 10 characters")
    if role in UNIT_ROLES and not unit_id:
        raise UserError(f"a {role} user needs --unit")
    if role not in UNIT_ROLES and unit_id:
        raise UserError(f"a {role} user does not belong to a unit")
    if session.scalars(select(User).where(User.username == username)).first():
        raise UserError(f"user {username!r} already exists")
    user = User(username=username, role=role, password_hash=_hasher.hash(password), unit_id=unit_id)
    session.add(user)
    session.flush()
    return user


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches, checked for unknown users so they cost the same time."""
    return _hasher.hash(secrets.token_urlsafe(16))


def check_password(user: User | None, password: str) -> bool:
    """True when the password is the user's; an unknown user costs the same Argon2 check."""
    stored = user.password_hash if user is not None else _dummy_hash()
    try:
        return _hasher.verify(stored, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def set_password(*, session: Session, user: User, password: str) -> None:
    """Give the user a new password and end every console session they have open."""
    if len(password) < 10:
        raise UserError("password must be at least 10 characters")
    user.password_hash = _hasher.hash(password)
    sessions.end_all(session=session, user_id=user.id, why="password")


def set_active(*, session: Session, user: User, active: bool) -> None:
    """Switch an account on or off; switching off ends its console sessions."""
    user.active = active
    if not active:
        sessions.end_all(session=session, user_id=user.id, why="disabled")


def set_role(*, session: Session, user: User, role: Role, unit_id: str | None) -> None:
    """Give the account another role (a unit for police and social workers); its console
    sessions end, so the new role applies from the next sign-in."""
    if role in UNIT_ROLES and not unit_id:
        raise UserError("police and social workers need their unit's id")
    user.role = str(role)
    user.unit_id = unit_id if role in UNIT_ROLES else None
    sessions.end_all(session=session, user_id=user.id, why="role")


def create_token(*, session: Session, username: str) -> str:
    """A new bearer token for the user; only its hash is stored."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise UserError(f"no user {username!r}")
    token = "h111_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    return token


def user_for_token(*, session: Session, token: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    found = _token_and_user(session=session, token=token)
    return found[1] if found else None


def may_see(*, session: Session, user: User, incident_id: int) -> bool:
    """Operators see every incident; police and social workers only those routed to
    their unit."""
    if user.role not in UNIT_ROLES:
        return True
    found = session.scalar(
        select(Assignment.id).where(
            Assignment.incident_id == incident_id, Assignment.unit_id == user.unit_id
        )
    )
    return found is not None


class TokenCache:
    """Bearer tokens recently checked, so that a request need not load its user again.

    A cached token is still checked at each use, with one indexed read of the token's and
    its account's state (no ORM): a revoked token or a disabled account fails at its next
    request, whichever process revoked it.
    """

    def __init__(self, ttl: float = 30.0, size: int = 1024) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, tuple[float, int, User]] = {}
        self._lock = threading.Lock()

    def user_for(self, db: Database, token: str) -> User | None:
        """The active user the token belongs to, or None (blocking: call off the loop)."""
        key = hash_token(token)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] >= time.monotonic():
            state = _live_state(db, entry[1])
            if state == (entry[2].role, entry[2].unit_id):
                return entry[2]
            with self._lock:
                self._entries.pop(key, None)
            if state is None:
                return None  # revoked, or the account disabled
            # the role or unit changed: load the user again
        with db.reader() as session:
            found = _token_and_user(session=session, token=token)
        if found is None:
            return None
        token_id, user = found
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl, token_id, user)
        return user


def _token_and_user(*, session: Session, token: str) -> tuple[int, User] | None:
    row = session.scalars(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False)
        )
    ).first()
    if row is None or not row.user.active:
        return None
    return row.id, row.user


_LIVE = (
    "SELECT u.role, u.unit_id FROM api_tokens t JOIN users u ON u.id = t.user_id "
    "WHERE t.id = {0} AND NOT t.revoked AND u.active"
)


def _live_state(db: Database, token_id: int) -> tuple[str, str | None] | None:
    """The account's role and unit while the token is not revoked and the account is
    active, else None: one indexed read on the driver's cursor."""
    if db.is_sqlite:
        with db.read_engine.connect() as connection:
            rows = driver_rows(connection, _LIVE.format("?"), [token_id])
    else:
        # An autocommit connection, for this read only: no ping, BEGIN or ROLLBACK around
        # it. Not a thread's kept one (`single_statements`): the checks run on the
        # server's thread pool, dozens of threads, and that pool holds four connections.
        with (db.autocommit_engine or db.read_engine).connect() as connection:
            rows = driver_rows(connection, _LIVE.format("%s"), [token_id])
    return (rows[0][0], rows[0][1]) if rows else None
