"""The start-up key check: the configured keys must be the ones this database was written
with, or the process refuses to start, saying which.

Each key's check value (an HMAC under a key derived from its secret: it reveals nothing
of the secret) is stored in `key_checks` the first time the key is configured. At every
start each configured key is compared with its stored value, and a key the database still
needs (not retired by `keys rotate`) must be configured. A database written before key
checks existed gets its first value only after one of its encrypted values has been read
with the configured key.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake.store.crypto import Cipher
from intake.store.db import Database, dialect_insert
from intake.store.models import InboxItem, KeyCheck, Tipster
from intake.store.times import utcnow

WRONG_KEY = "HOTLINE_SECRET_KEY does not match the key this database was written with"


class KeyProblem(RuntimeError):
    """The configured keys cannot be used with this database; the message says why."""


def check_keys(db: Database, cipher: Cipher) -> None:
    """Refuse (KeyProblem) keys that do not fit the database; record new keys' checks."""
    with db.writer() as session:
        _compare(session, cipher)
        stored = set(session.scalars(select(KeyCheck.key_id)))
        if not stored:
            _read_a_stored_value(session, cipher)
        new = [
            {"key_id": key_id, "check_value": value, "created_at": utcnow()}
            for key_id, value in cipher.check_values().items()
            if key_id not in stored
        ]
        if new:
            insert = dialect_insert(session)(KeyCheck).on_conflict_do_nothing(
                index_elements=["key_id"]
            )
            session.execute(insert, new)
        # The newest key writes again: it is needed, whatever a rotation said before.
        session.execute(
            update(KeyCheck)
            .where(KeyCheck.key_id == cipher.current_id, KeyCheck.retired_at.is_not(None))
            .values(retired_at=None)
        )
    with db.reader() as session:
        _compare(session, cipher)  # another process may have stored a check just now


def _compare(session: Session, cipher: Cipher) -> None:
    rows = list(session.scalars(select(KeyCheck)))
    known = {row.check_value: row.key_id for row in rows}
    ring = cipher.check_values()
    for row in rows:
        value = ring.get(row.key_id)
        if value is not None and value != row.check_value:
            if value in known:
                raise KeyProblem(_renamed(row.key_id, known[value]))
            raise KeyProblem(f"{WRONG_KEY} (key id {row.key_id!r})")
    for key_id, value in ring.items():
        if known.get(value, key_id) != key_id:
            raise KeyProblem(_renamed(key_id, known[value]))
    needed = [r.key_id for r in rows if r.retired_at is None and r.key_id not in ring]
    if needed:
        raise KeyProblem(
            f"{WRONG_KEY}: key id(s) {', '.join(sorted(needed))} still encrypt stored values "
            "and are not configured; give them in HOTLINE_SECRET_KEYS (oldest first, the "
            "newest last) until `hotline111 keys rotate` has finished"
        )


def _renamed(given: str, stored: str) -> str:
    return (
        f"the key configured as {given!r} is the key this database knows as {stored!r}: "
        f"give it the id {stored!r} in HOTLINE_SECRET_KEYS"
    )


def _read_a_stored_value(session: Session, cipher: Cipher) -> None:
    """A database from before key checks: one of its encrypted values must open."""
    samples = [
        session.scalars(
            select(InboxItem.message)
            .where(InboxItem.message.is_not(None))
            .order_by(InboxItem.id.desc())
            .limit(1)
        ).first(),
        session.scalars(
            select(Tipster.handle)
            .where(Tipster.handle.is_not(None))
            .order_by(Tipster.id.desc())
            .limit(1)
        ).first(),
    ]
    for sample in samples:
        if sample is None:
            continue
        try:
            cipher.decrypt(sample)
        except ValueError as exc:
            raise KeyProblem(WRONG_KEY) from exc


def retire_all_but_current(session: Session, cipher: Cipher) -> list[str]:
    """After a finished rotation: every other key may be removed. Returns their ids."""
    ids = list(
        session.scalars(
            select(KeyCheck.key_id).where(
                KeyCheck.key_id != cipher.current_id, KeyCheck.retired_at.is_(None)
            )
        )
    )
    if ids:
        session.execute(
            update(KeyCheck).where(KeyCheck.key_id.in_(ids)).values(retired_at=utcnow())
        )
    return ids
