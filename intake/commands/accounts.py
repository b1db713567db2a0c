"""Accounts: `user list|create|disable|enable|set-password|set-role|unlock` and
`token create|list|revoke`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from intake.commands.common import database, read_password, say
from intake.settings import Settings
from intake.store import accounts
from intake.store.auth import create_token, create_user
from intake.store.models import Role, Unit
from intake.store.times import VN_TZ

ROLES = [str(role) for role in Role]


def _shown(moment: datetime) -> str:
    """A stored (UTC) time as Vietnam's time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M")


def cmd_user_list(_args: argparse.Namespace, settings: Settings) -> int:
    """Print every user: name, role, unit, state."""
    db, _ = database(settings)
    with db.reader() as session:
        users = accounts.list_users(session)
    if not users:
        say("no users yet: create one with `user create`")
    for user in users:
        state = "active" if user.active else "disabled"
        if user.locked_until is not None:
            state += ", locked until " + _shown(user.locked_until)
        say(f"{user.username}\t{user.role}\t{user.unit_id or '-'}\t{state}")
    return 0


def _check_unit(session: object, unit_id: str | None) -> None:
    if unit_id and session.get(Unit, unit_id) is None:  # type: ignore[attr-defined]
        raise accounts.UserError(f"no unit {unit_id!r} in the directory (see `directory import`)")


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create a user with the password read from standard input."""
    password = read_password()
    db, _ = database(settings)
    with db.writer() as session:
        _check_unit(session, args.unit)
        create_user(
            session=session,
            username=args.username,
            role=Role(args.role),
            password=password,
            unit_id=args.unit,
        )
    say(f"user {args.username} created ({args.role})")
    return 0


def cmd_user_active(args: argparse.Namespace, settings: Settings) -> int:
    """Disable or enable an account (its tokens and sessions follow at once)."""
    active = args.user_command == "enable"
    db, _ = database(settings)
    with db.writer() as session:
        accounts.set_active(session=session, username=args.username, active=active)
    say(f"user {args.username} {'enabled' if active else 'disabled'}")
    return 0


def cmd_user_set_password(args: argparse.Namespace, settings: Settings) -> int:
    """Replace a user's password with the one read from standard input."""
    password = read_password()
    db, _ = database(settings)
    with db.writer() as session:
        accounts.set_password(session=session, username=args.username, password=password)
    say(f"password of {args.username} changed")
    return 0


def cmd_user_set_role(args: argparse.Namespace, settings: Settings) -> int:
    """Change a user's role (and unit)."""
    db, _ = database(settings)
    with db.writer() as session:
        accounts.set_role(
            session=session, username=args.username, role=Role(args.role), unit_id=args.unit
        )
    say(f"user {args.username} is now {args.role}")
    return 0


def cmd_user_unlock(args: argparse.Namespace, settings: Settings) -> int:
    """Lift a lockout after too many wrong passwords."""
    db, _ = database(settings)
    with db.writer() as session:
        accounts.unlock(session=session, username=args.username)
    say(f"user {args.username} unlocked")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    """Print a new bearer token (shown once: only its hash is kept)."""
    db, _ = database(settings)
    with db.writer() as session:
        accounts.find_user(session, args.username)
        token = create_token(session=session, username=args.username)
    say(token)
    return 0


def cmd_token_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the tokens: id, user, created, state (never the token itself)."""
    db, _ = database(settings)
    with db.reader() as session:
        tokens = accounts.list_tokens(session, args.username)
        rows = [
            (t.id, t.user.username, _shown(t.created_at), "revoked" if t.revoked else "active")
            for t in tokens
        ]
    if not rows:
        say("no tokens")
    for token_id, username, created, state in rows:
        say(f"{token_id}\t{username}\t{created}\t{state}")
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a token by id: the running service refuses it at its next request."""
    db, _ = database(settings)
    with db.writer() as session:
        accounts.revoke_token(session=session, token_id=args.token_id)
    say(f"token {args.token_id} revoked")
    return 0


def _username(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", required=True, help="the account's name")


def _role_and_unit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", required=True, choices=ROLES, help="what the account may do")
    parser.add_argument(
        "--unit",
        default=None,
        help="directory unit id: required for police and social_worker, refused for others",
    )


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password (10 characters or more) from the first line of standard "
        "input; it is never an argument, which other users could see",
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add user and token."""
    user = sub.add_parser(
        "user",
        help="accounts and roles",
        description="People and partner systems who sign in to the console or call the API.",
    )
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    user_sub.add_parser(
        "list", help="every user", description="Print name, role, unit and state of every user."
    ).set_defaults(func=cmd_user_list)

    create = user_sub.add_parser(
        "create",
        help="create a user",
        description="Create an account. Roles: " + ", ".join(ROLES) + ".",
    )
    _username(create)
    _role_and_unit(create)
    _password_stdin(create)
    create.set_defaults(func=cmd_user_create)

    for name, what in (("disable", "Disable"), ("enable", "Enable again")):
        toggle = user_sub.add_parser(
            name,
            help=f"{what.lower()} an account",
            description=f"{what} an account: a disabled account cannot sign in and its API "
            "tokens fail at their next request.",
        )
        _username(toggle)
        toggle.set_defaults(func=cmd_user_active)

    password = user_sub.add_parser(
        "set-password",
        help="replace a password",
        description="Replace a user's password (and lift a lockout).",
    )
    _username(password)
    _password_stdin(password)
    password.set_defaults(func=cmd_user_set_password)

    role = user_sub.add_parser(
        "set-role", help="change a role", description="Change a user's role and unit."
    )
    _username(role)
    _role_and_unit(role)
    role.set_defaults(func=cmd_user_set_role)

    unlock = user_sub.add_parser(
        "unlock",
        help="lift a lockout",
        description="Let a user locked out by wrong passwords try again now.",
    )
    _username(unlock)
    unlock.set_defaults(func=cmd_user_unlock)

    token = sub.add_parser(
        "token",
        help="API bearer tokens",
        description="Bearer tokens for the HTTP API (partners' POST /api/v1/tips, reads).",
    )
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="COMMAND")
    token_create = token_sub.add_parser(
        "create",
        help="print a new bearer token",
        description="Print a new bearer token for a user. It is shown once: only its hash "
        "is stored.",
    )
    _username(token_create)
    token_create.set_defaults(func=cmd_token_create)

    token_list = token_sub.add_parser(
        "list", help="list tokens", description="Print id, user, creation time and state."
    )
    token_list.add_argument("--username", default=None, help="only this user's tokens")
    token_list.set_defaults(func=cmd_token_list)

    revoke = token_sub.add_parser(
        "revoke",
        help="revoke a token",
        description="Revoke a token by its id (from `token list`); the running service "
        "refuses it at its next request.",
    )
    revoke.add_argument("token_id", type=int, metavar="ID", help="the token's id")
    revoke.set_defaults(func=cmd_token_revoke)
