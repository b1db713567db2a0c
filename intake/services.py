"""Everything the service runs with, built once from the settings."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from intake.channel_setup import build_adapters
from intake.pipeline.assess import PipelineContext
from intake.pipeline.context import Services
from intake.pipeline.incidents import IngestOptions
from intake.settings import Settings
from intake.store.crypto import Cipher, demo_secret, parse_key_list
from intake.store.db import Database, make_private
from intake.store.keys import KeyProblem, check_keys
from routing.geography import Geography, Resolver, load_geography
from routing.plan import load_policy
from triage import RuleSet, load_rules

log = logging.getLogger(__name__)


def cipher_for(settings: Settings) -> Cipher:
    """The configured keys (HOTLINE_SECRET_KEYS, else HOTLINE_SECRET_KEY), or the demo
    mode's local one where demo mode is allowed; KeyProblem otherwise."""
    try:
        if settings.secret_keys is not None:
            return Cipher(parse_key_list(settings.secret_keys.get_secret_value()))
        if settings.secret_key is not None:
            return Cipher(settings.secret_key.get_secret_value())
    except ValueError as exc:
        raise KeyProblem(str(exc)) from exc
    refused = settings.demo_refused
    if refused:
        raise KeyProblem(
            f"HOTLINE_SECRET_KEY is not set and {refused}: refusing to start with a demo key "
            "(set HOTLINE_SECRET_KEY, or HOTLINE_SECRET_KEYS=id:secret,...)"
        )
    return Cipher(demo_secret(settings.var_dir))


def _make_private(settings: Settings) -> None:
    """var/, when it holds the SQLite database, is only its owner's to enter (one made by
    an older version was 0755). A folder shared with other things is left alone."""
    database = make_url(settings.database_url).database if settings.is_sqlite else None
    var_dir = settings.var_dir
    if not database or Path(database).resolve().parent != var_dir.resolve():
        return
    make_private(var_dir, 0o700)


def open_database(settings: Settings) -> Database:
    """The database with the process's keys bound, checked against the database first
    (KeyProblem names what is wrong). The schema must be up to date."""
    cipher = cipher_for(settings)
    _make_private(settings)
    db = Database(
        settings.database_url, sqlite_synchronous=settings.sqlite_synchronous, cipher=cipher
    )
    try:
        check_keys(db, cipher)
    except BaseException:
        db.dispose()
        raise
    return db


def build_services(
    settings: Settings, *, geography: Geography | None = None, rules: RuleSet | None = None
) -> Services:
    """Open the database and load rules and geography (validated: bad data stops here)."""
    geography = geography or load_geography(settings.config_dir / "geography")
    rules = rules or load_rules(
        settings.config_dir / "triage", settings.config_dir / "routing" / "recipients.yaml"
    )
    db = open_database(settings)
    cipher = db.cipher
    return Services(
        settings=settings,
        db=db,
        cipher=cipher,
        adapters=build_adapters(settings, db, cipher),
        geography=geography,
        pipeline=PipelineContext(
            rules=rules,
            resolver=Resolver(geography),
            repeat_window=timedelta(days=settings.repeat_window_days),
        ),
        ingest=IngestOptions(
            conversation_window=timedelta(hours=settings.conversation_window_hours)
        ),
        routing=load_policy(settings.config_dir / "routing" / "policy.yaml"),
    )
