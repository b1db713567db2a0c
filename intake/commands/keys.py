"""`hotline111 keys`: which keys encrypt what, and the rotation to the newest key."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO

from intake.settings import Settings

ROTATION_STOPPED = 3  # exit status of a rotation stopped by --max-batches: run it again


def register(sub: Any) -> None:
    """The `keys` subcommands, on the main parser's subparsers."""
    keys = sub.add_parser(
        "keys",
        help="encryption keys: status and rotation",
        description="The keys that encrypt stored values (HOTLINE_SECRET_KEYS): how many "
        "values each encrypts, and the rotation to the newest (docs/operations.md, Keys).",
    )
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser(
        "status",
        help="how many stored values each key encrypts (read only)",
        description="Count, per column, the stored values each key encrypts; change nothing.",
    ).set_defaults(func=cmd_keys_status)
    rotate = keys_sub.add_parser(
        "rotate",
        help="re-encrypt every stored value with the newest key of HOTLINE_SECRET_KEYS "
        "(resumable: run it again after a crash)",
        description="Re-encrypt every stored value with the newest key, a batch per "
        "transaction; run it again after a crash and it goes on where it stopped. Refused, "
        "with nothing changed, when a key a value needs is missing.",
    )
    rotate.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
    rotate.add_argument(
        "--max-batches",
        type=int,
        default=None,
        help="stop after this many batches (exit status 3; running it again goes on)",
    )
    rotate.set_defaults(func=cmd_keys_rotate)


def _open(settings: Settings):  # type: ignore[no-untyped-def]
    from intake.services import open_database
    from intake.store.migrate import upgrade

    upgrade(settings.database_url)
    return open_database(settings)


def cmd_keys_status(_args: argparse.Namespace, settings: Settings) -> int:
    from intake.store.rotation import census

    db = _open(settings)
    try:
        found = census(db)
    finally:
        db.dispose()
    print(f"newest key: {db.cipher.current_id}; configured: {', '.join(db.cipher.key_ids)}")
    for column, counts in sorted(found.counts.items()):
        shown = ", ".join(f"{key_id}: {n}" for key_id, n in sorted(counts.items()))
        print(f"{column}: {shown}")
    return 0


class ProgressBar:
    """A progress bar on stderr: one line per table, redrawn in place."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream, self.width = stream or sys.stderr, width
        self.table: str | None = None
        self.last = 0.0

    def __call__(self, table: str, done: int, total: int) -> None:
        now = time.monotonic()
        if table == self.table and done < total and now - self.last < 0.2:
            return  # at most five redraws a second
        if self.table is not None and table != self.table:
            self.stream.write("\n")
        self.table, self.last = table, now
        filled = self.width * done // total if total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{table:<16} [{bar}] {done}/{total}")
        self.stream.flush()

    def close(self) -> None:
        if self.table is not None:
            self.stream.write("\n")
            self.stream.flush()


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from intake.store.rotation import rotate

    db = _open(settings)
    bar = ProgressBar()
    try:
        progress = rotate(
            db,
            db.cipher,
            batch_size=max(1, args.batch_size),
            max_batches=args.max_batches,
            report=bar,
        )
    finally:
        bar.close()
        db.dispose()
    print(f"{progress.rewritten} rows re-encrypted with key {db.cipher.current_id}")
    if not progress.finished:
        print(
            f"stopped after {progress.batches} batches: run `hotline111 keys rotate` again",
            file=sys.stderr,
        )
        return ROTATION_STOPPED
    if progress.retired:
        print(f"no stored value needs key(s) {', '.join(progress.retired)} any more")
    return 0
