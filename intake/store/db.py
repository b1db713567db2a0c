"""Engines and sessions: embedded SQLite with one writer, or PostgreSQL.

SQLite allows one writer at a time. Rather than let concurrent webhooks collide on the
file lock and spin in the busy handler, every write goes through a pool of exactly one
connection that opens its transactions with BEGIN IMMEDIATE; readers use their own pool
and WAL lets them run beside the writer. Processes on the same file (`serve` beside
`hotline111 worker`) take turns through a file lock (`WriteLock`), so none of them sleeps
in SQLite's busy handler. PostgreSQL uses one pool for both, and a second one in
autocommit mode for writes that are a single statement.

On SQLite, what a provider or an operator hands us is committed with the configured
`synchronous` (FULL by default: on disk before we answer). The workers' own bookkeeping
(job leases, alert states, triage results, all of it redone idempotently if lost) is
committed with `durable=False`, i.e. synchronous=NORMAL: safe against a crash of the
process, and written to disk by the next durable commit, which in WAL mode carries every
earlier one with it; only a power cut in between can take the last few back, and the
workers then redo them.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from intake.store.crypto import Cipher
from intake.store.sealed import bind_cipher

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_MMAP_BYTES = 256 * 1024 * 1024
SYNCHRONOUS_OPTION = "hotline_sqlite_synchronous"


def dialect_insert(session: Session) -> Any:
    """The INSERT construct of the session's database, the one with ON CONFLICT."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


_BUILT: dict[tuple[str, str], Any] = {}


def built_once(bind: Session | Connection, name: str, build: Callable[[Any], Any]) -> Any:
    """A statement of the hot paths, built once per kind of database: `build` gets that
    database's INSERT (the one with ON CONFLICT). Building a statement anew for every
    execution costs more than running it."""
    dialect = (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name
    key = (name, dialect)
    if key not in _BUILT:
        _BUILT[key] = build(pg_insert if dialect == "postgresql" else sqlite_insert)
    return _BUILT[key]


def driver_rows(connection: Connection, statement: str, parameters: Sequence[Any]) -> list[Any]:
    """Run a statement (in the driver's own parameter style) on the connection's driver
    cursor and return its rows: for the hot paths, where SQLAlchemy's work for each
    statement cost more than the database's."""
    cursor = connection.connection.cursor()
    try:
        return list(cursor.execute(statement, parameters).fetchall())
    finally:
        cursor.close()


def prepare_sqlite_path(url: str) -> None:
    """Create the folder of a SQLite file so the first start needs no setup: a folder we
    create is private (0700), and the file is created (or narrowed to) 0600, which SQLite
    gives its -wal and -shm files too: the file holds tips, even if encrypted."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)  # mkdir's mode is narrowed by the umask only
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        make_private(file, 0o600)


def make_private(path: Path, mode: int) -> None:
    """Narrow a file or folder of ours to `mode` (0600, 0700) when others may read it (one
    written by an older version was 0644 or 0755); a missing one is left to be made."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    if status.st_uid == os.getuid() and status.st_mode & 0o077:
        path.chmod(mode)


def _sqlite_engine(url: str, *, synchronous: str, begin: str, pool_size: int) -> Engine:
    """A SQLite engine in WAL mode whose transactions start with the given BEGIN."""
    engine = create_engine(
        url,
        hide_parameters=True,  # no values in errors or logs: intake.private_logs
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        record.info[SYNCHRONOUS_OPTION] = synchronous
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Pages read through a memory map: when another process (serve beside a worker) has
        # written, a connection's page cache is stale and every page it needs is read again;
        # from the map that costs no system call and no copy.
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        wanted = connection.get_execution_options().get(SYNCHRONOUS_OPTION, synchronous)
        info = connection.connection.info
        if info.get(SYNCHRONOUS_OPTION) != wanted:
            connection.exec_driver_sql(f"PRAGMA synchronous={wanted}")
            info[SYNCHRONOUS_OPTION] = wanted
        connection.exec_driver_sql(begin)

    return engine


class WriteLock:
    """Who may write to a SQLite file next: one thread of one process at a time, tips and
    operators (durable writes) ahead of background work.

    Within the process, background work lets a waiting durable write go first (for a
    moment at most, so it is never starved). Between processes (`serve` beside `hotline111
    worker`), an exclusive `flock` on `<db>.writelock`, where SQLite's own busy handler would
    sleep and retry in steps of up to 100 ms; and a durable writer holds `<db>.writeprio`
    while it waits, which background writers of any process pass through first, so a worker
    that releases the lock cannot take it straight back while a tip is waiting.
    """

    def __init__(self, database: str | None) -> None:
        self._gate = threading.Condition()
        self._durable_waiting = 0
        self._thread_lock = threading.Lock()
        self._base = database if database and database != ":memory:" else None
        self._files: dict[str, int] = {}

    @contextmanager
    def hold(self, *, durable: bool) -> Iterator[None]:
        with self._gate:
            if durable:
                self._durable_waiting += 1
            else:
                self._gate.wait_for(lambda: self._durable_waiting == 0, timeout=0.05)
        try:
            self._thread_lock.acquire()
        finally:
            if durable:
                with self._gate:
                    self._durable_waiting -= 1
                    self._gate.notify_all()
        try:
            with self._between_processes(durable):
                yield
        finally:
            self._thread_lock.release()

    @contextmanager
    def _between_processes(self, durable: bool) -> Iterator[None]:
        if self._base is None:
            yield
            return
        lock, priority = self._file("writelock"), self._file("writeprio")
        if durable:
            fcntl.flock(priority, fcntl.LOCK_EX)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
            finally:
                fcntl.flock(priority, fcntl.LOCK_UN)
        else:
            fcntl.flock(priority, fcntl.LOCK_SH)  # waits while a durable writer waits
            fcntl.flock(priority, fcntl.LOCK_UN)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def _file(self, suffix: str) -> int:
        if suffix not in self._files:
            path = f"{self._base}.{suffix}"
            self._files[suffix] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._files[suffix]

    def close(self) -> None:
        for fd in self._files.values():
            os.close(fd)
        self._files.clear()


class Database:
    """The service's database: a writer and a reader session factory."""

    def __init__(
        self, url: str, *, sqlite_synchronous: str = "FULL", cipher: Cipher | None = None
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            if sqlite_synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
                raise ValueError(f"unsupported SQLite synchronous mode {sqlite_synchronous!r}")
            prepare_sqlite_path(url)
            self.synchronous = sqlite_synchronous.upper()
            self._write_lock = WriteLock(make_url(url).database)
            self.write_engine = _sqlite_engine(
                url, synchronous=sqlite_synchronous, begin="BEGIN IMMEDIATE", pool_size=1
            )
            self.read_engine = _sqlite_engine(
                url, synchronous=sqlite_synchronous, begin="BEGIN", pool_size=8
            )
            # one writer: every write goes through `writer`
            self.autocommit_engine: Engine | None = None
        else:
            self.write_engine = create_engine(
                url, hide_parameters=True, pool_size=10, max_overflow=10, pool_pre_ping=True
            )
            self.read_engine = self.write_engine
            # For work that is one statement, committed by itself: no BEGIN, no COMMIT and
            # no ping before it (three round trips). A connection the server dropped then
            # fails that statement, and the caller's fallback, through `writer`, pings.
            self.autocommit_engine = create_engine(
                url,
                hide_parameters=True,
                pool_size=2,
                max_overflow=2,
                isolation_level="AUTOCOMMIT",
            )
        self._cipher: Cipher | None = None
        if cipher is not None:
            self.bind(cipher)
        self._kept = threading.local()  # each thread's `single_statements` connection
        self._kept_lock = threading.Lock()
        self._kept_all: list[Connection] = []
        self._writer = sessionmaker(self.write_engine, expire_on_commit=False)
        self._reader = sessionmaker(self.read_engine, expire_on_commit=False)

    def bind(self, cipher: Cipher) -> None:
        """Encrypt and decrypt the sealed columns (`intake.store.sealed`) with `cipher`."""
        self._cipher = cipher
        for engine in (self.write_engine, self.read_engine, self.autocommit_engine):
            if engine is not None:
                bind_cipher(engine, cipher)

    @property
    def cipher(self) -> Cipher:
        """The key ring bound to this database."""
        if self._cipher is None:
            raise RuntimeError("no key ring is bound to this database")
        return self._cipher

    @contextmanager
    def writer(self, *, durable: bool = True) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on error.

        `durable=False` is for the workers' own, redoable bookkeeping (see the module
        notes): on SQLite it commits without waiting for the disk.
        """
        if not self.is_sqlite:
            with self._writer() as session, session.begin():
                yield session
            return
        with self._write_lock.hold(durable=durable), self._writer() as session, session.begin():
            session.connection(
                execution_options={SYNCHRONOUS_OPTION: self.synchronous if durable else "NORMAL"}
            )
            yield session

    @contextmanager
    def write_connection(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction as `writer`'s, on a Core connection: for hot paths that need
        no ORM session (and not its cost)."""
        if not self.is_sqlite:
            with self.write_engine.begin() as connection:
                yield connection
            return
        synchronous = self.synchronous if durable else "NORMAL"
        with self._write_lock.hold(durable=durable), self.write_engine.connect() as connection:
            connection.execution_options(**{SYNCHRONOUS_OPTION: synchronous})
            with connection.begin():
                yield connection

    @contextmanager
    def single_statements(self) -> Iterator[Connection]:
        """PostgreSQL only: a connection on which every statement commits by itself.

        Each thread keeps its own between calls (the intake writer uses it for every
        batch: taking one from the pool and giving it back cost as much as a fifth of
        the batch's statement). After an error it is closed, and the next call connects
        anew.
        """
        if self.autocommit_engine is None:
            raise RuntimeError("single-statement writes are for PostgreSQL")
        connection: Connection | None = getattr(self._kept, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            connection = self.autocommit_engine.connect()
            self._kept.connection = connection
            with self._kept_lock:
                self._kept_all = [c for c in self._kept_all if not c.closed] + [connection]
        try:
            yield connection
            connection.commit()  # SQLAlchemy's own bookkeeping: nothing goes to the server
        except BaseException:
            self._kept.connection = None
            connection.close()
            raise

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session (never commit through it); closing it ends its transaction
        without expiring what was loaded."""
        with self._reader() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        if self.is_sqlite:
            self._write_lock.close()
        self.write_engine.dispose()
        with self._kept_lock:
            kept, self._kept_all = self._kept_all, []
        for connection in kept:
            connection.close()
        if self.autocommit_engine is not None:
            self.autocommit_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
