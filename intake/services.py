"""Everything the service runs with, built once from the settings."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from channels.base import Channel, ChannelAdapter
from intake.channel_setup import build_adapters
from intake.crypto import Cipher, demo_secret, hash_token
from intake.db import Database
from intake.group_commit import IntakeWriter
from intake.incidents import IngestOptions
from intake.models import User
from intake.pipeline import PipelineContext
from intake.settings import Settings
from routing.geography import Geography, Resolver, load_geography
from routing.plan import RoutingPolicy, load_policy
from triage import RuleSet, load_rules

if TYPE_CHECKING:
    from intake.routing_stage import DirectoryCache

log = logging.getLogger(__name__)


class TokenCache:
    """Recently checked bearer tokens (a revoked token stops working within `ttl` seconds)."""

    def __init__(self, ttl: float = 30.0, size: int = 1024) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, tuple[float, User]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> User | None:
        with self._lock:
            entry = self._entries.get(hash_token(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, user: User) -> None:
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[hash_token(token)] = (time.monotonic() + self.ttl, user)


@dataclass
class Services:
    """The database, keys, rules, geography and channel adapters of one process."""

    settings: Settings
    db: Database
    cipher: Cipher
    geography: Geography
    pipeline: PipelineContext
    ingest: IngestOptions
    routing: RoutingPolicy
    adapters: dict[Channel, ChannelAdapter] = field(default_factory=dict)
    wakeup: threading.Event = field(default_factory=threading.Event)
    token_cache: TokenCache = field(default_factory=TokenCache)
    directory_cache: DirectoryCache = field(default_factory=lambda: _directory_cache())
    intake: IntakeWriter = field(init=False)

    def __post_init__(self) -> None:
        self.intake = IntakeWriter(
            db=self.db, cipher=self.cipher, options=self.ingest, on_commit=self.wakeup.set
        )

    def close(self) -> None:
        """Store what is queued, then release the database connections."""
        self.intake.stop()
        self.db.dispose()


def _directory_cache() -> DirectoryCache:
    from intake.routing_stage import DirectoryCache

    return DirectoryCache()


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
