"""Console sessions kept on the server, and the sign-in throttle.

A session cookie carries a random token; the database keeps its hash, when it began, when
its person last asked for a page and when it ended. Logout, an administrator or a new
password ends it, and a copied cookie then opens nothing.

Failed sign-ins are counted per (client address, account) pair, never per account alone:
an attacker can lock only their own address out of an account, not the account itself.
Unknown usernames are counted exactly as known ones, so the answers cannot tell them apart.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from intake.store.models import Base
from intake.store.times import utcnow

ABSOLUTE = timedelta(hours=12)
IDLE = timedelta(minutes=30)
SEEN_EVERY = timedelta(seconds=30)  # write `seen_at` at most this often
PAIR_FAILURES = 5  # per address and account
ADDRESS_FAILURES = 30  # per address, all accounts together (password spraying)
WINDOW = timedelta(minutes=15)
ANY_ACCOUNT = "*"


class ConsoleSession(Base):
    """One signed-in console session (the cookie holds the token, this row its hash)."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    ended_why: Mapped[str | None] = mapped_column(String(32))


class SignInFailures(Base):
    """Failed sign-ins from one address for one username (or for any, `*`)."""

    __tablename__ = "sign_in_failures"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def start(*, session: Session, user_id: int) -> str:
    """A new session for the user; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(ConsoleSession(id=_hash(token), user_id=user_id, created_at=now, seen_at=now))
    return token


def resolve(*, session: Session, token: str, touch: bool) -> int | None:
    """The user id of a live session, or None (ended, idle or past its lifetime).

    `touch=False` for requests the person did not ask for (live updates): they do not
    keep an idle session alive.
    """
    row = session.get(ConsoleSession, _hash(token)) if token else None
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    why = "lifetime" if now - row.created_at > ABSOLUTE else None
    why = why or ("idle" if now - row.seen_at > IDLE else None)
    if why:
        row.ended_at, row.ended_why = now, why
        return None
    if touch and now - row.seen_at > SEEN_EVERY:
        row.seen_at = now
    return row.user_id


def end(*, session: Session, token: str, why: str) -> None:
    """End one session (logout)."""
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == _hash(token), ConsoleSession.ended_at.is_(None))
        .values(ended_at=utcnow(), ended_why=why)
    )


def end_all(*, session: Session, user_id: int, why: str) -> int:
    """End every live session of a user (admin, new password, account switched off)."""
    result = session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=utcnow(), ended_why=why)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def live_counts(*, session: Session) -> dict[int, int]:
    """Live sessions per user id (for the admin page)."""
    since = utcnow() - IDLE
    rows = session.execute(
        select(ConsoleSession.user_id).where(
            ConsoleSession.ended_at.is_(None),
            ConsoleSession.seen_at >= since,
            ConsoleSession.created_at >= utcnow() - ABSOLUTE,
        )
    )
    counts: dict[int, int] = {}
    for (user_id,) in rows:
        counts[user_id] = counts.get(user_id, 0) + 1
    return counts


def throttled(*, session: Session, address: str, username: str) -> bool:
    """True while this address may not try this account (or any account)."""
    now = utcnow()
    keys = [(_hash(address), username[:64]), (_hash(address), ANY_ACCOUNT)]
    for key in keys:
        row = session.get(SignInFailures, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            return True
    return False


def failed(*, session: Session, address: str, username: str) -> None:
    """Count a failed sign-in for the pair and for the address."""
    now = utcnow()
    for name, limit in ((username[:64], PAIR_FAILURES), (ANY_ACCOUNT, ADDRESS_FAILURES)):
        row = session.get(SignInFailures, (_hash(address), name), with_for_update=True)
        if row is None:
            row = SignInFailures(address=_hash(address), username=name, failures=0, first_at=now)
            session.add(row)
        if now - row.first_at > WINDOW:
            row.failures, row.first_at, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + WINDOW
            row.failures, row.first_at = 0, now
        session.flush()


def succeeded(*, session: Session, address: str, username: str) -> None:
    """Forget the pair's failures after a good password."""
    session.execute(
        delete(SignInFailures).where(
            SignInFailures.address == _hash(address), SignInFailures.username == username
        )
    )


def locked(*, session: Session) -> list[tuple[str, datetime]]:
    """Usernames some address may not try now, with the latest end of the lock."""
    rows = session.execute(
        select(SignInFailures.username, SignInFailures.locked_until).where(
            SignInFailures.locked_until > utcnow()
        )
    )
    latest: dict[str, datetime] = {}
    for username, until in rows:
        if until is not None and (username not in latest or until > latest[username]):
            latest[username] = until
    return sorted(latest.items())


def unlock(*, session: Session, username: str) -> int:
    """Clear every lock on a username (an administrator's unlock); `*` clears addresses."""
    result = session.execute(delete(SignInFailures).where(SignInFailures.username == username))
    return int(getattr(result, "rowcount", 0) or 0)
