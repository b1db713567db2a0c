"""What the pipeline and the web app run with: one process's database, keys, rules,
geography, channel adapters and caches (built by `intake.services.build_services`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from channels.base import Channel, ChannelAdapter
from intake.pipeline.assess import PipelineContext
from intake.pipeline.directory_cache import DirectoryCache
from intake.pipeline.incidents import IngestOptions
from intake.pipeline.writer import IntakeWriter
from intake.settings import Settings
from intake.store.auth import TokenCache
from intake.store.crypto import Cipher
from intake.store.db import Database
from routing.geography import Geography
from routing.plan import RoutingPolicy


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
    directory_cache: DirectoryCache = field(default_factory=DirectoryCache)
    intake: IntakeWriter = field(init=False)

    def __post_init__(self) -> None:
        self.intake = IntakeWriter(
            db=self.db, cipher=self.cipher, options=self.ingest, on_commit=self.wakeup.set
        )

    def close(self) -> None:
        """Store what is queued, then release the database connections."""
        self.intake.stop()
        self.db.dispose()
