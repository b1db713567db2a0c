"""Key rotation: every encrypted value rewritten with the newest key, in batches.

Each batch is one transaction over a table's rows (locked, so nothing changes between the
read and the write); a value already written with the newest key is left alone, so a
rotation stopped at any point (a crash, `--max-batches`) is resumed by running it again.
Before anything is written every stored value's key must be configured, or nothing is
changed. Tipsters' blind indexes are recomputed with the newest key beside their handle.
When a pass finds nothing left to rewrite, the other keys are retired: they may then be
removed from HOTLINE_SECRET_KEYS.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
    update,
)

from intake.store.crypto import Cipher, MissingKeyError, key_id_of
from intake.store.db import Database
from intake.store.keys import KeyProblem, retire_all_but_current
from intake.store.sealed import SEALED_JSON_KEYS, seal_json

CLEAR = "(clear)"  # text stored before encryption at rest
UNTAGGED = "(no key id)"  # encrypted before key ids: read with whichever key opens it

# How each column is stored: "secret" always encrypted (Cipher.decrypt), "bytes" likewise
# as bytes, "sealed" text that may still be clear, "json" with sealed strings inside.
_RAW = MetaData()
PASSES = 3  # a pass that rewrote something is followed by one that checks it is all done
_STR_PK = String(64)


@dataclass(frozen=True)
class Encrypted:
    """A table's encrypted columns, read and written as stored (no decryption on the way)."""

    table: Table
    kinds: dict[str, str]

    @property
    def name(self) -> str:
        return self.table.name


def _spec(name: str, pk: str, pk_type: Any, **kinds: str) -> Encrypted:
    types = {"secret": Text, "bytes": LargeBinary, "sealed": Text, "json": JSON}
    columns = [Column(pk, pk_type, primary_key=True)]
    columns += [Column(column, types[kind]) for column, kind in kinds.items()]
    if name == "tipsters":
        columns += [Column("channel", String(16)), Column("handle_index", String(64))]
    return Encrypted(Table(name, _RAW, *columns), kinds)


TABLES = [
    _spec("inbox", "id", Integer, message="secret", raw_body="bytes"),
    _spec("tipsters", "id", Integer, handle="secret", phone="secret", display_name="secret"),
    _spec(
        "incidents",
        "id",
        Integer,
        summary="sealed",
        location_text="sealed",
        reasons="json",
        location_candidates="json",
    ),
    _spec("messages", "id", Integer, text="sealed"),
    _spec("events", "id", Integer, detail="json"),
    _spec("alerts", "id", Integer, text="sealed"),
    _spec("provider_tokens", "name", _STR_PK, access_token="secret", refresh_token="secret"),
]


def _pk(spec: Encrypted) -> Column[Any]:
    return next(iter(spec.table.primary_key.columns))


def _json_ids(value: Any) -> Iterator[str]:
    """The key ids of the sealed strings inside a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SEALED_JSON_KEYS and isinstance(item, str):
                yield key_id_of(item) or CLEAR
            else:
                yield from _json_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_ids(item)


def _ids(kind: str, value: Any) -> list[str]:
    """The key ids a stored value was written with (CLEAR, UNTAGGED for old forms)."""
    if value is None or (kind in ("secret", "bytes") and not value):
        return []  # nothing stored (an empty token is no value either)
    if kind == "json":
        return list(_json_ids(value))
    key_id = key_id_of(value)
    if key_id is not None:
        return [key_id]
    return [CLEAR] if kind == "sealed" else [UNTAGGED]


@dataclass
class Census:
    """How many stored values each key encrypts, per column."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    samples: dict[str, Any] = field(default_factory=dict)  # one untagged value per column
    rows: int = 0

    def add(self, column: str, ids: list[str], value: Any) -> None:
        self.counts.setdefault(column, Counter()).update(ids)
        if UNTAGGED in ids and column not in self.samples:
            self.samples[column] = value

    def total(self) -> Counter[str]:
        return sum(self.counts.values(), Counter())


def census(db: Database, batch_size: int = 1000) -> Census:
    """Count the stored values by the key that encrypts them (read only)."""
    found = Census()
    for spec in TABLES:
        for rows in _batches(db, spec, batch_size):
            found.rows += len(rows)
            for row in rows:
                for column, kind in spec.kinds.items():
                    value = row._mapping[column]
                    found.add(f"{spec.name}.{column}", _ids(kind, value), value)
    return found


def _batches(db: Database, spec: Encrypted, batch_size: int) -> Iterator[list[Any]]:
    """The table's rows in primary-key order, a batch at a time (read-only sessions)."""
    pk = _pk(spec)
    last: Any = None
    while True:
        query = select(spec.table).order_by(pk).limit(batch_size)
        if last is not None:
            query = query.where(pk > last)
        with db.reader() as session:
            rows = list(session.execute(query))
        if not rows:
            return
        last = rows[-1]._mapping[pk.name]
        yield rows


def preflight(db: Database, cipher: Cipher) -> Census:
    """Refuse (KeyProblem) before anything changes if a stored value's key is missing."""
    found = census(db)
    missing = sorted(
        key_id for key_id in found.total() if key_id not in (CLEAR, UNTAGGED, *cipher.key_ids)
    )
    if missing:
        raise KeyProblem(
            f"values in this database were written with key id(s) {', '.join(missing)}, which "
            "are not configured: add them to HOTLINE_SECRET_KEYS (nothing was changed)"
        )
    for column, sample in found.samples.items():
        try:
            if isinstance(sample, bytes):
                cipher.decrypt_bytes(sample)
            else:
                cipher.decrypt(sample)
        except ValueError as exc:
            raise KeyProblem(
                f"values of {column} written before key ids open with none of the configured "
                "keys: the old key is missing from HOTLINE_SECRET_KEYS (nothing was changed)"
            ) from exc
    return found


@dataclass
class Progress:
    """What a rotation did."""

    batches: int = 0
    rewritten: int = 0
    finished: bool = False
    retired: list[str] = field(default_factory=list)


Report = Callable[[str, int, int], None]  # (table, rows done, rows in the table)


def rotate(
    db: Database,
    cipher: Cipher,
    *,
    batch_size: int = 500,
    max_batches: int | None = None,
    report: Report | None = None,
) -> Progress:
    """Rewrite every value not written with the newest key; stop after `max_batches`
    batches if given (run again to go on)."""
    preflight(db, cipher)
    progress = Progress()
    for _ in range(PASSES):
        before = progress.rewritten
        for spec in TABLES:
            if not _rotate_table(db, cipher, spec, batch_size, max_batches, report, progress):
                return progress
        if progress.rewritten == before:
            # A pass found nothing to rewrite: no process writes with an older key.
            with db.writer() as session:
                progress.retired = retire_all_but_current(session, cipher)
            progress.finished = True
            return progress
    raise KeyProblem(
        "values are still being written with an older key: configure the new key, last in "
        "HOTLINE_SECRET_KEYS, on every serve and worker, then run the rotation again"
    )


def _rotate_table(
    db: Database,
    cipher: Cipher,
    spec: Encrypted,
    batch_size: int,
    max_batches: int | None,
    report: Report | None,
    progress: Progress,
) -> bool:
    """One pass over a table; False when `max_batches` stopped it."""
    pk = _pk(spec)
    with db.reader() as session:
        total = session.scalar(select(func.count()).select_from(spec.table)) or 0
    done, last = 0, None
    while True:
        if max_batches is not None and progress.batches >= max_batches:
            return False
        with db.writer() as session:
            query = select(spec.table).order_by(pk).limit(batch_size).with_for_update()
            if last is not None:
                query = query.where(pk > last)
            rows = list(session.execute(query))
            if not rows:
                break
            last = rows[-1]._mapping[pk.name]
            changes = [change for row in rows if (change := _rewrite(cipher, spec, row))]
            if changes:
                statement = (
                    update(spec.table)
                    .where(pk == _bind_pk(pk))
                    .execution_options(synchronize_session=False)
                )
                for change in changes:
                    session.execute(
                        statement.values(**change["values"]), {"pk_value": change["pk"]}
                    )
        progress.batches += 1
        progress.rewritten += len(changes)
        done += len(rows)
        if report:
            report(spec.name, min(done, total), max(total, done))
    return True


def _bind_pk(pk: Column[Any]) -> Any:
    return bindparam("pk_value", type_=pk.type)


def _rewrite(cipher: Cipher, spec: Encrypted, row: Any) -> dict[str, Any] | None:
    """The new values of a row's columns not written with the newest key (None: none)."""
    mapping = row._mapping
    values: dict[str, Any] = {}
    for column, kind in spec.kinds.items():
        value = mapping[column]
        ids = _ids(kind, value)
        if not ids or all(key_id == cipher.current_id for key_id in ids):
            continue
        values[column] = _reseal(cipher, kind, value)
    if spec.name == "tipsters" and "handle" in values:
        handle = cipher.decrypt(values["handle"])
        values["handle_index"] = cipher.blind_index(f"{mapping['channel']}:{handle}")
    if not values:
        return None
    return {"pk": mapping[_pk(spec).name], "values": values}


def _reseal(cipher: Cipher, kind: str, value: Any) -> Any:
    """A stored value decrypted and encrypted again with the newest key."""
    try:
        if kind == "bytes":
            return cipher.encrypt_bytes(cipher.decrypt_bytes(value))
        if kind == "secret":
            return cipher.encrypt(cipher.decrypt(value))
        if kind == "sealed":
            return cipher.encrypt(cipher.open_text(value))
        return seal_json(seal_json(value, cipher.open_text), cipher.encrypt)
    except MissingKeyError as exc:
        raise KeyProblem(str(exc)) from exc
    except ValueError as exc:
        raise KeyProblem(
            f"a stored value opens with none of the configured keys ({exc}); the batches "
            "before it are done, run the rotation again once the key is configured"
        ) from exc
