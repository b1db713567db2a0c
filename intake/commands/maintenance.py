"""Running the service for a province: doctor, backup, restore, erase, retention
(docs/operations.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import func, select

from intake.commands.common import database, fail, say, services
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
    from intake.services import cipher_for

    return cipher_for(settings)


def cmd_doctor(_args: argparse.Namespace, settings: Settings) -> int:
    """Print what is wrong for production; exit 1 when anything is fatal."""
    db = Database(settings.database_url)
    try:
        findings = examine(settings, db)
    finally:
        db.dispose()
    for finding in findings:
        say(str(finding))
    if not findings:
        say("no findings: ready for production")
    return 1 if fatal(findings) else 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Write a backup file of the whole database."""
    try:
        manifest = backup(
            database_url=settings.database_url, cipher=_cipher(settings), out=args.out
        )
    except BackupError as exc:
        fail(str(exc))
    say(
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
            fail(
                "the database already holds incidents: stop the service and add --yes to "
                "replace them with the backup's"
            )
        restore(archive_path=args.file, database_url=settings.database_url, cipher=cipher)
    except BackupError as exc:
        fail(str(exc))
    say(
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
    db, _ = database(settings)
    try:
        with db.writer() as session:
            person = session.scalars(select(User).where(User.username == args.by)).first()
            if person is None or not person.active or person.role not in ERASERS:
                fail(f"--by must name an active supervisor or admin ({args.by!r} is not)")
            erase_incident(session=session, reference=args.incident, by=person, reason=args.reason)
    except ErasureError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    say(f"incident {args.incident}: tipster identity and texts erased")
    return 0


def cmd_retention(_args: argparse.Namespace, settings: Settings) -> int:
    """One retention pass now (the worker runs one every day)."""
    db, _ = database(settings)
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
    say(
        f"spam incidents erased: {outcome.spam_erased}; identities removed: "
        f"{outcome.identities_erased}; raw provider bodies dropped: {outcome.raw_bodies_dropped}"
    )
    return 0


def cmd_search_reindex(_args: argparse.Namespace, settings: Settings) -> int:
    """Index every incident for search (those stored before the index existed)."""
    from intake.pipeline.searching import reindex_all

    built = services(settings)
    try:
        say(f"{reindex_all(built)} incidents indexed for search")
    finally:
        built.close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """doctor, backup, restore, erase, retention, search reindex."""
    sub.add_parser(
        "doctor",
        help="what is wrong for production use (exit 1 when anything is fatal)",
        description="List what is wrong for production use: demo or short key, SQLite not "
        "synchronous, public URL not https, channels half configured, directory empty or "
        "the demo one. Exit status 1 when any finding is fatal (docs/operations.md).",
    ).set_defaults(func=cmd_doctor)

    saver = sub.add_parser(
        "backup",
        help="write a backup file of the database (encrypted fields stay encrypted)",
        description="Write one zip file: a manifest and the database (SQLite's online "
        "backup, or pg_dump). Safe while the service runs.",
    )
    saver.add_argument("out", type=Path, help="the backup file to write (must not exist)")
    saver.set_defaults(func=cmd_backup)

    loader = sub.add_parser(
        "restore",
        help="replace the database with a backup's (stop the service first)",
        description="Check the backup (format, database kind, schema version, key) before "
        "anything is overwritten, then replace the database and apply the migrations.",
    )
    loader.add_argument("file", type=Path, help="a file written by `hotline111 backup`")
    loader.add_argument(
        "--yes", action="store_true", help="replace a database that already holds incidents"
    )
    loader.set_defaults(func=cmd_restore)

    eraser = sub.add_parser(
        "erase",
        help="erase an incident's tipster identity and texts on request (statistics kept)",
        description="Remove the tipster's identity and every text of one incident; the "
        "fields the periodic report counts stay. Audited under the person named by --by.",
    )
    eraser.add_argument("--incident", required=True, help="the incident's reference")
    eraser.add_argument("--by", required=True, help="username of the supervisor or admin")
    eraser.add_argument("--reason", required=True, help="why (kept in the audit log)")
    eraser.set_defaults(func=cmd_erase)

    sub.add_parser(
        "retention",
        help="apply the retention limits now (HOTLINE_RETAIN_*; the worker does it daily)",
        description="Erase spam past HOTLINE_RETAIN_SPAM_DAYS, tipster identities of closed "
        "incidents past HOTLINE_RETAIN_IDENTITY_MONTHS, raw provider requests past "
        "HOTLINE_RETAIN_RAW_DAYS (0: keep for ever).",
    ).set_defaults(func=cmd_retention)

    search = sub.add_parser(
        "search",
        help="the search index of incidents",
        description="The index the console's search box and GET /api/v1/incidents?q= use "
        "(keyed hashes of folded words, never the text itself).",
    )
    search_sub = search.add_subparsers(dest="search_command", required=True)
    search_sub.add_parser(
        "reindex",
        help="index every incident again (those stored before the index, or before it "
        "held the places' former names)",
        description="Write the search index of every incident again: run it once after an "
        "upgrade that indexes more (0010: the pre-2025 names of communes, districts and "
        "provinces).",
    ).set_defaults(func=cmd_search_reindex)
