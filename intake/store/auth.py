"""Users, roles, passwords (Argon2) and API bearer tokens."""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, select
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
    """Bearer tokens recently loaded, so that a request need not load its user again.

    Revocation still applies at a token's next request, whichever process revoked it (the
    database is the only place that knows), in one of two ways:
    - `user_for` (API reads, status changes): each use of a cached token reads the token's
      and its account's state again, one indexed read (no ORM);
    - `cached` (partner tips): the cached token goes on unchecked, because the intake writer
      checks it in the transaction that stores the tip (`Sender`): one query for a whole
      group commit instead of a thread hop and a connection for every tip.
    """

    def __init__(self, ttl: float = 30.0, size: int = 1024) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, tuple[float, int, User]] = {}
        self._lock = threading.Lock()

    def user_for(self, db: Database, token: str) -> User | None:
        """The active user the token belongs to, or None (blocking: call off the loop)."""
        found = self.cached(token)
        if found is not None:
            token_id, user = found
            state = _live_state(db, token_id)
            if state == (user.role, user.unit_id):
                return user
            self.forget(token_id)
            if state is None:
                return None  # revoked, or the account disabled
            # the role or unit changed: load the user again
        found = self.load(db, token)
        return found[1] if found else None

    def cached(self, token: str) -> tuple[int, User] | None:
        """The token's id and user as loaded within the last `ttl` seconds, unchecked: only
        for a request whose storing checks the token (`Sender`)."""
        with self._lock:
            entry = self._entries.get(hash_token(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1], entry[2]

    def load(self, db: Database, token: str) -> tuple[int, User] | None:
        """The token's id and active user read afresh, and cached (blocking: call off the
        loop); None for an unknown or revoked token or a disabled account."""
        with db.reader() as session:
            found = _token_and_user(session=session, token=token)
        if found is None:
            return None
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[hash_token(token)] = (time.monotonic() + self.ttl, *found)
        return found

    def forget(self, token_id: int) -> None:
        """Drop the token from the cache (it was refused): its next use loads it afresh."""
        with self._lock:
            for key in [k for k, entry in self._entries.items() if entry[1] == token_id]:
                del self._entries[key]


class TokenRefused(Exception):
    """A request whose bearer token no longer holds: revoked, its account disabled (401),
    or the account's role no longer one that may make the request (403)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class Sender:
    """The cached bearer token a request came with, to be checked where the request is
    stored (`live_accounts`), and the roles that may make the request."""

    token_id: int
    roles: frozenset[str]

    def refusal(self, live: tuple[str, str | None] | None) -> TokenRefused | None:
        """Why the request is refused, given the token's live account state, or None."""
        if live is None:
            return TokenRefused(401, "invalid or revoked token")
        if live[0] not in self.roles:
            return TokenRefused(403, f"role {live[0]} may not do this")
        return None


def _token_and_user(*, session: Session, token: str) -> tuple[int, User] | None:
    row = session.scalars(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False)
        )
    ).first()
    if row is None or not row.user.active:
        return None
    return row.id, row.user


# The tokens of these ids that are not revoked, with their active accounts' role and unit:
# one indexed read per token, on the driver's cursor (`{0}`: the ids' placeholders).
_LIVE = (
    "SELECT t.id, u.role, u.unit_id FROM api_tokens t JOIN users u ON u.id = t.user_id "
    "WHERE t.id IN ({0}) AND NOT t.revoked AND u.active"
)


def live_accounts(
    connection: Connection, token_ids: Collection[int]
) -> dict[int, tuple[str, str | None]]:
    """The account's (role, unit) of each of these tokens that is not revoked and whose
    account is active; the others are left out. One query, however many tokens."""
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    statement = _LIVE.format(", ".join([mark] * len(token_ids)))
    rows = driver_rows(connection, statement, list(token_ids))
    return {row[0]: (row[1], row[2]) for row in rows}


def _live_state(db: Database, token_id: int) -> tuple[str, str | None] | None:
    """The account's role and unit while the token is not revoked and the account is
    active, else None."""
    if db.is_sqlite:
        with db.read_engine.connect() as connection:
            return live_accounts(connection, [token_id]).get(token_id)
    # An autocommit connection, for this read only: no ping, BEGIN or ROLLBACK around it.
    # Not a thread's kept one (`single_statements`): the checks run on the server's thread
    # pool, dozens of threads, and that pool holds four connections.
    with (db.autocommit_engine or db.read_engine).connect() as connection:
        return live_accounts(connection, [token_id]).get(token_id)
