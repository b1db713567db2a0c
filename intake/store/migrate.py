"""Apply the Alembic migrations (`hotline111 db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from intake.store.db import prepare_sqlite_path

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config for this database, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (creating a SQLite file's folder)."""
    if database_url.startswith("sqlite"):
        prepare_sqlite_path(database_url)
    command.upgrade(alembic_config(database_url), revision)
