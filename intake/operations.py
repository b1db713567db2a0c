"""Running the service for a province, from the command line: doctor, backup, restore,
erase, retention (docs/operations.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from intake.doctor import examine, fatal
from intake.settings import Settings
from intake.store.backup import BackupError, backup, check, restore
from intake.store.crypto import Cipher
from intake.store.db import Database
from intake.store.erasure import ErasureError, RetentionPolicy, apply_retention, erase_incident
from intake.store.migrate import upgrade
from intake.store.models import Incident, Role, User

ERASERS = {Role.SUPERVISOR, Role.ADMIN}


def _cipher(settings: Settings) -> Cipher:
    from intake.services import secret_for

    return Cipher(secret_for(settings))


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def cmd_doctor(_args: argparse.Namespace, settings: Settings) -> int:
    """Print what is wrong for production; exit 1 when anything is fatal."""
    db = Database(settings.database_url)
    try:
        findings = examine(settings, db)
    finally:
        db.dispose()
    for finding in findings:
        print(finding)
    if not findings:
        print("no findings: ready for production")
    return 1 if fatal(findings) else 0


def refuse_to_start(settings: Settings) -> str | None:
    """In production, the fatal findings that must stop `serve` or `worker` (None: go)."""
    if not settings.production:
        return None
    db = Database(settings.database_url)
    try:
        found = fatal(examine(settings, db))
    finally:
        db.dispose()
    if not found:
        return None
    return "refusing to start in production (HOTLINE_PRODUCTION=true):\n" + "\n".join(
        str(f) for f in found
    )


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Write a backup file of the whole database."""
    try:
        manifest = backup(
            database_url=settings.database_url, cipher=_cipher(settings), out=args.out
        )
    except BackupError as exc:
        return _fail(str(exc))
    print(
        f"backup written to {args.out} ({manifest.database}, "
        f"{manifest.counts.get('incidents', 0)} incidents)"
    )
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Replace the database with a backup's (checked first; the service must be stopped)."""
    cipher = _cipher(settings)
    try:
        manifest = check(archive_path=args.file, database_url=settings.database_url, cipher=cipher)
        if not args.yes and _incidents(settings) > 0:
            return _fail(
                "the database already holds incidents: stop the service and add --yes to "
                "replace them with the backup's"
            )
        restore(archive_path=args.file, database_url=settings.database_url, cipher=cipher)
    except BackupError as exc:
        return _fail(str(exc))
    print(
        f"restored {manifest.counts.get('incidents', 0)} incidents from {args.file} "
        f"(taken {manifest.created_at})"
    )
    return 0


def _incidents(settings: Settings) -> int:
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.reader() as session:
            return int(session.scalar(select(func.count()).select_from(Incident)) or 0)
    finally:
        db.dispose()


def cmd_erase(args: argparse.Namespace, settings: Settings) -> int:
    """Erase one incident's personal data on request (statistics kept, audited)."""
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.writer() as session:
            person = session.scalars(select(User).where(User.username == args.by)).first()
            if person is None or not person.active or person.role not in ERASERS:
                return _fail(f"--by must name an active supervisor or admin ({args.by!r} is not)")
            erase_incident(session=session, reference=args.incident, by=person, reason=args.reason)
    except ErasureError as exc:
        return _fail(str(exc))
    finally:
        db.dispose()
    print(f"incident {args.incident}: tipster identity and texts erased")
    return 0


def cmd_retention(_args: argparse.Namespace, settings: Settings) -> int:
    """One retention pass now (the worker runs one every day)."""
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    policy = RetentionPolicy(
        spam_days=settings.retain_spam_days,
        identity_months=settings.retain_identity_months,
        raw_body_days=settings.retain_raw_days,
    )
    try:
        with db.writer() as session:
            outcome = apply_retention(session=session, policy=policy)
    finally:
        db.dispose()
    print(
        f"spam incidents erased: {outcome.spam_erased}; identities removed: "
        f"{outcome.identities_erased}; raw provider bodies dropped: {outcome.raw_bodies_dropped}"
    )
    return 0


def add_commands(sub: Any) -> None:
    """The operations commands, added to the `hotline111` parser."""
    formatter = argparse.ArgumentDefaultsHelpFormatter
    sub.add_parser(
        "doctor",
        help="what is wrong for production use (exit 1 when anything is fatal)",
        formatter_class=formatter,
    ).set_defaults(func=cmd_doctor)

    saver = sub.add_parser(
        "backup",
        help="write a backup file of the database (encrypted fields stay encrypted)",
        formatter_class=formatter,
    )
    saver.add_argument("out", type=Path, help="the backup file to write (must not exist)")
    saver.set_defaults(func=cmd_backup)

    loader = sub.add_parser(
        "restore",
        help="replace the database with a backup's (stop the service first)",
        formatter_class=formatter,
    )
    loader.add_argument("file", type=Path, help="a file written by `hotline111 backup`")
    loader.add_argument(
        "--yes", action="store_true", help="replace a database that already holds incidents"
    )
    loader.set_defaults(func=cmd_restore)

    eraser = sub.add_parser(
        "erase",
        help="erase an incident's tipster identity and texts on request (statistics kept)",
        formatter_class=formatter,
    )
    eraser.add_argument("--incident", required=True, help="the incident's reference")
    eraser.add_argument("--by", required=True, help="username of the supervisor or admin")
    eraser.add_argument("--reason", required=True, help="why (kept in the audit log)")
    eraser.set_defaults(func=cmd_erase)

    sub.add_parser(
        "retention",
        help="apply the retention limits now (HOTLINE_RETAIN_*; the worker does it daily)",
        formatter_class=formatter,
    ).set_defaults(func=cmd_retention)
