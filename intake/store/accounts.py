"""Managing accounts from the command line: list, disable, passwords, roles, tokens."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.store import auth, sessions
from intake.store.auth import UNIT_ROLES, UserError
from intake.store.models import ApiToken, Role, Unit, User

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()


def find_user(session: Session, username: str) -> User:
    """The user by name, or UserError."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise UserError(f"no user {username!r} (see `user list`)")
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def set_active(*, session: Session, username: str, active: bool) -> User:
    """Disable or enable an account; a disabled one can neither sign in nor use a token,
    and its console sessions end."""
    user = find_user(session, username)
    auth.set_active(session=session, user=user, active=active)
    return user


def set_password(*, session: Session, username: str, password: str) -> User:
    """Replace the user's password (its console sessions end, a throttle is lifted)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    user = find_user(session, username)
    auth.set_password(session=session, user=user, password=password)
    sessions.unlock(session=session, username=username)
    return user


def set_role(*, session: Session, username: str, role: Role, unit_id: str | None) -> User:
    """Change the user's role; police and social workers need an existing unit."""
    user = find_user(session, username)
    if role in UNIT_ROLES and not unit_id:
        raise UserError(f"a {role} user needs --unit")
    if role not in UNIT_ROLES and unit_id:
        raise UserError(f"a {role} user does not belong to a unit")
    if unit_id and session.get(Unit, unit_id) is None:
        raise UserError(f"no unit {unit_id!r} in the directory")
    user.role, user.unit_id = role, unit_id
    return user


def unlock(*, session: Session, username: str) -> User:
    """Lift the sign-in throttle after too many wrong passwords."""
    user = find_user(session, username)
    sessions.unlock(session=session, username=username)
    return user


def list_tokens(session: Session, username: str | None = None) -> list[ApiToken]:
    """Every token (of one user, when named), oldest first; only hashes are stored."""
    statement = select(ApiToken).order_by(ApiToken.id)
    if username is not None:
        statement = statement.where(ApiToken.user_id == find_user(session, username).id)
    return list(session.scalars(statement))


def revoke_token(*, session: Session, token_id: int) -> ApiToken:
    """Revoke a token by its id (from `token list`); it fails at its next request."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise UserError(f"no token with id {token_id} (see `token list`)")
    token.revoked = True
    return token
