"""What every command group shares: the parser class, expected errors, the database."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from typing import TYPE_CHECKING, NoReturn

from intake.settings import Settings
from intake.store.migrate import upgrade
from intake.store.private_logs import PrivateFormatter

if TYPE_CHECKING:
    from intake.pipeline.context import Services
    from intake.store.crypto import Cipher
    from intake.store.db import Database

log = logging.getLogger("hotline111")
GC_YOUNG_THRESHOLD = 10_000  # the interpreter default is 700: see settle_memory


class CommandError(Exception):
    """Bad input a person can fix: printed as one line, exit status 2, no traceback."""


class DescribedFormatter(
    argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter
):
    """Defaults shown, and a description laid out by hand kept as it is written."""


class Parser(argparse.ArgumentParser):
    """Shows defaults in --help and reports a usage error as one line (exit status 2).

    Subcommand parsers are made of the same class (argparse's add_subparsers default), so
    every command of the tree behaves alike.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        """One line on stderr naming the command, then exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def configure_logging(settings: Settings) -> None:
    """Log lines through the formatter that withholds personal data."""
    handler = logging.StreamHandler()
    handler.setFormatter(PrivateFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the start-up summary comes first


def say(message: str) -> None:
    """A line for the person at the terminal (stdout)."""
    print(message)


def fail(message: str) -> NoReturn:
    """Stop the command with one line and exit status 2."""
    raise CommandError(message)


def database(settings: Settings) -> tuple[Database, Cipher]:
    """The database, brought up to date first, with the keys checked against it, and the
    cipher."""
    from intake.services import open_database

    upgrade(settings.database_url)
    db = open_database(settings)
    return db, db.cipher


def demo_directory(services: Services) -> None:
    """In demo mode, an empty directory gets the demo units, so routing works end to end."""
    if not services.settings.demo_mode:
        return
    from intake.store.directory import (
        DEMO_DIRECTORY,
        directory_is_empty,
        read_directory,
        save_units,
    )

    with services.db.writer() as session:
        if directory_is_empty(session):
            demo = read_directory(DEMO_DIRECTORY, services.geography)
            save_units(session=session, units=demo.units, demo=True)
            log.warning("demo mode: loaded %d DEMO units (not real contacts)", len(demo.units))


def services(settings: Settings) -> Services:
    """The services, on a database brought up to date first (a fresh checkout has none)."""
    from intake.services import build_services

    upgrade(settings.database_url)
    built = build_services(settings)
    demo_directory(built)
    return built


def settle_memory() -> None:
    """Keep the garbage collector off what was loaded at start-up (the geography and the
    rules: about a million objects that live as long as the process). Without this, every
    full collection walks all of them and stalls the process for tens of milliseconds.

    And collect the young generation once 10,000 objects have piled up rather than 700
    (the interpreter's default): one tip or pipeline step holds a thousand or more objects
    for a moment, nearly all freed by reference counting, so at 700 the collector ran on
    almost every request and the older generations followed. Measured in process with
    5,000 partner tips: 685 young and 5 full collections (82 ms, the longest 15 ms) at
    700; 6 young ones (5 ms) at 10,000, and 18% less CPU per tip.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def read_password() -> str:
    """The first line of standard input (a password is never an argument: ps shows those)."""
    if sys.stdin.isatty():
        fail("give the password on standard input, e.g. echo 'a-long-password' | ...")
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        fail("standard input is empty: give the password on its first line")
    return password
