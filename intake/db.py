"""Engines and sessions: embedded SQLite with one writer, or PostgreSQL.

SQLite allows one writer at a time. Rather than let concurrent webhooks collide on the
file lock and spin in the busy handler, every write goes through a pool of exactly one
connection that opens its transactions with BEGIN IMMEDIATE; readers use their own pool
and WAL lets them run beside the writer. Other processes on the same file wait on the
busy timeout. PostgreSQL uses one pool for both.

On SQLite, what a provider or an operator hands us is committed with the configured
`synchronous` (FULL by default: on disk before we answer). The workers' own bookkeeping
(job leases, alert states, triage results, all of it redone idempotently if lost) is
committed with `durable=False`, i.e. synchronous=NORMAL: safe against a crash of the
process, and written to disk by the next durable commit, which in WAL mode carries every
earlier one with it; only a power cut in between can take the last few back, and the
workers then redo them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
SYNCHRONOUS_OPTION = "hotline_sqlite_synchronous"


def prepare_sqlite_path(url: str) -> None:
    """Create the folder of a SQLite file so the first start needs no setup."""
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: str, *, synchronous: str, begin: str, pool_size: int) -> Engine:
    """A SQLite engine in WAL mode whose transactions start with the given BEGIN."""
    engine = create_engine(
        url,
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


class Database:
    """The service's database: a writer and a reader session factory."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            if sqlite_synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
                raise ValueError(f"unsupported SQLite synchronous mode {sqlite_synchronous!r}")
            prepare_sqlite_path(url)
            self.synchronous = sqlite_synchronous.upper()
            self._gate = threading.Condition()
            self._durable_waiting = 0  # durable writes waiting for the one connection
            self.write_engine = _sqlite_engine(
                url, synchronous=sqlite_synchronous, begin="BEGIN IMMEDIATE", pool_size=1
            )
            self.read_engine = _sqlite_engine(
                url, synchronous=sqlite_synchronous, begin="BEGIN", pool_size=8
            )
        else:
            self.write_engine = create_engine(
                url, pool_size=10, max_overflow=10, pool_pre_ping=True
            )
            self.read_engine = self.write_engine
        self._writer = sessionmaker(self.write_engine, expire_on_commit=False)
        self._reader = sessionmaker(self.read_engine, expire_on_commit=False)

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
        counted = durable
        if durable:
            with self._gate:
                self._durable_waiting += 1
        else:
            # Tips and operators first: background work lets a waiting durable write go
            # ahead of it (for a moment at most, so it is never starved).
            with self._gate:
                self._gate.wait_for(lambda: self._durable_waiting == 0, timeout=0.05)
        try:
            with self._writer() as session, session.begin():
                session.connection(
                    execution_options={
                        SYNCHRONOUS_OPTION: self.synchronous if durable else "NORMAL"
                    }
                )
                if counted:
                    counted = False
                    self._done_waiting()
                yield session
        finally:
            if counted:
                self._done_waiting()

    def _done_waiting(self) -> None:
        with self._gate:
            self._durable_waiting -= 1
            self._gate.notify_all()

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session (never commit through it); closing it ends its transaction
        without expiring what was loaded."""
        with self._reader() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
