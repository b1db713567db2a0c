"""Everything the service runs with, built once from the settings."""

from __future__ import annotations

import logging
from datetime import timedelta

from intake.channel_setup import build_adapters
from intake.pipeline.assess import PipelineContext
from intake.pipeline.context import Services
from intake.pipeline.incidents import IngestOptions
from intake.settings import Settings
from intake.store.crypto import Cipher, demo_secret
from intake.store.db import Database
from routing.geography import Geography, Resolver, load_geography
from routing.plan import load_policy
from triage import RuleSet, load_rules

log = logging.getLogger(__name__)


def secret_for(settings: Settings) -> str:
    """The configured secret key, or the demo mode's local one."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    return demo_secret(settings.var_dir)


def build_services(
    settings: Settings, *, geography: Geography | None = None, rules: RuleSet | None = None
) -> Services:
    """Open the database and load rules and geography (validated: bad data stops here)."""
    geography = geography or load_geography(settings.config_dir / "geography")
    rules = rules or load_rules(
        settings.config_dir / "triage", settings.config_dir / "routing" / "recipients.yaml"
    )
    db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    cipher = Cipher(secret_for(settings))
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
