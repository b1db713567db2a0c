"""Backups and restores of the whole database, encrypted fields staying encrypted.

A backup is one zip file: `manifest.json` (format, database kind, schema revision, a value
encrypted with the key in use, row counts) and the database itself, taken with SQLite's
online backup API or `pg_dump --format=custom`. A restore checks the manifest against this
program and the configured key before it overwrites anything, then brings the schema up
to date with the migrations.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from intake.store.crypto import Cipher
from intake.store.migrate import alembic_config, upgrade
from intake.store.models import Base, utcnow

FORMAT = 1
KEY_CHECK = "hotline111 backup key check"
SQLITE_MEMBER = "database.sqlite"
POSTGRES_MEMBER = "database.pgdump"


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; nothing was overwritten."""


@dataclass(frozen=True)
class Manifest:
    """What a backup file says about itself."""

    format: int
    database: str
    schema_revision: str | None
    key_check: str
    created_at: str
    counts: dict[str, int]

    @classmethod
    def read(cls, archive: zipfile.ZipFile) -> Manifest:
        try:
            data = json.loads(archive.read("manifest.json"))
            return cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupError("not a hotline111 backup (no readable manifest.json)") from exc


def _kind(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


def row_counts(database_url: str) -> dict[str, int]:
    """Rows in each of the service's tables."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
            return {
                name: int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
                for name in sorted(Base.metadata.tables)
                if name in present
            }
    finally:
        engine.dispose()


def _revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def backup(*, database_url: str, cipher: Cipher, out: Path) -> Manifest:
    """Write a backup of the database to `out` (a new file)."""
    if out.exists():
        raise BackupError(f"{out} exists: choose a new file name")
    kind = _kind(database_url)
    manifest = Manifest(
        format=FORMAT,
        database=kind,
        schema_revision=_revision(database_url),
        key_check=cipher.encrypt(KEY_CHECK) or "",
        created_at=utcnow().isoformat(),
        counts=row_counts(database_url),
    )
    with tempfile.TemporaryDirectory(prefix="hotline111-backup-") as work:
        dump = Path(work) / "dump"
        if kind == "sqlite":
            _sqlite_copy(_sqlite_path(database_url), dump)
            member = SQLITE_MEMBER
        elif kind == "postgresql":
            _run(
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--compress=0",
                    "--no-owner",
                    "--file",
                    str(dump),
                ],
                database_url,
            )
            member = POSTGRES_MEMBER
        else:
            raise BackupError(f"no backup method for {kind} databases")
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(manifest.__dict__, indent=2))
            archive.write(dump, member)
        os.chmod(partial, 0o600)
        os.replace(partial, out)
    return manifest


def check(*, archive_path: Path, database_url: str, cipher: Cipher) -> Manifest:
    """Everything a restore needs, checked before anything is touched."""
    if not archive_path.is_file():
        raise BackupError(f"{archive_path}: no such file")
    try:
        archive = zipfile.ZipFile(archive_path)
    except zipfile.BadZipFile as exc:
        raise BackupError(f"{archive_path} is not a hotline111 backup (not a zip file)") from exc
    with archive:
        manifest = Manifest.read(archive)
    if manifest.format != FORMAT:
        raise BackupError(
            f"backup format {manifest.format} is not the one this version reads ({FORMAT})"
        )
    kind = _kind(database_url)
    if manifest.database != kind:
        raise BackupError(f"a {manifest.database} backup cannot be restored into {kind}")
    known = {
        script.revision
        for script in ScriptDirectory.from_config(alembic_config(database_url)).walk_revisions()
    }
    if manifest.schema_revision not in known:
        raise BackupError(
            f"backup from another version (schema {manifest.schema_revision}): "
            "restore it with the hotline111 version that wrote it"
        )
    try:
        readable = cipher.decrypt(manifest.key_check) == KEY_CHECK
    except ValueError:
        readable = False
    if not readable:
        raise BackupError(
            "this backup was written under another HOTLINE_SECRET_KEY: set that key to restore it"
        )
    return manifest


def restore(*, archive_path: Path, database_url: str, cipher: Cipher) -> Manifest:
    """Replace the database with the backup's, then migrate it to this version."""
    manifest = check(archive_path=archive_path, database_url=database_url, cipher=cipher)
    with (
        tempfile.TemporaryDirectory(prefix="hotline111-restore-") as work,
        zipfile.ZipFile(archive_path) as archive,
    ):
        if manifest.database == "sqlite":
            _restore_sqlite(archive, Path(work), _sqlite_path(database_url))
        else:
            dump = Path(archive.extract(POSTGRES_MEMBER, work))
            _run(
                [
                    _tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    str(dump),
                ],
                database_url,
                database_flag=True,
            )
    upgrade(database_url)
    return manifest


def _restore_sqlite(archive: zipfile.ZipFile, work: Path, target: Path) -> None:
    """Unpack beside the target, check it, then swap it in (the service is stopped)."""
    unpacked = Path(archive.extract(SQLITE_MEMBER, work))
    connection = sqlite3.connect(unpacked)
    try:
        healthy = connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        connection.close()
    if not healthy:
        raise BackupError("the backup's SQLite file is damaged")
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(unpacked, staged)
    os.chmod(staged, 0o600)
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.replace(staged, target)


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _sqlite_copy(source: Path, dest: Path) -> None:
    """SQLite's online backup: a consistent copy while the service keeps writing."""
    live, copy = sqlite3.connect(source), sqlite3.connect(dest)
    try:
        live.backup(copy)
    finally:
        copy.close()
        live.close()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install PostgreSQL's client programs")
    return found


def _run(command: list[str], database_url: str, *, database_flag: bool = False) -> None:
    """Run pg_dump/pg_restore against the database, the password in the environment."""
    url: URL = make_url(database_url)
    env: dict[str, Any] = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    target = [
        *(["--host", url.host] if url.host else []),
        *(["--port", str(url.port)] if url.port else []),
        *(["--username", url.username] if url.username else []),
    ]
    target += ["--dbname", url.database or ""] if database_flag else [url.database or ""]
    done = subprocess.run([*command, *target], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        # The tools' messages name objects, not row values; keep only their last line.
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{Path(command[0]).name} failed: {last}")
