"""Build the adapters of the channels the settings enable (from `channels.registry`); a
channel without its secrets is off."""

from __future__ import annotations

import logging
import os

from channels.base import Channel, ChannelAdapter
from channels.registry import providers
from intake.settings import Settings
from intake.store.crypto import Cipher
from intake.store.db import Database
from intake.store.models import ProviderToken, utcnow

log = logging.getLogger(__name__)


class SettingsConfig:
    """What a channel's builder reads, from the settings (by their environment variable's
    name) and the database (rotated provider tokens, encrypted)."""

    def __init__(self, settings: Settings, db: Database, cipher: Cipher) -> None:
        self.settings, self.db, self.cipher = settings, db, cipher
        self.public_base_url = settings.public_base_url
        self._by_alias = {
            str(field.validation_alias): name
            for name, field in Settings.model_fields.items()
            if field.validation_alias
        }

    def value(self, name: str) -> str | None:
        """A declared setting by its variable's name; a channel's own, undeclared variable
        straight from the environment."""
        if name not in self._by_alias:
            return os.environ.get(name) or None
        value = getattr(self.settings, self._by_alias[name])
        getter = getattr(value, "get_secret_value", None)
        text = str(getter() if getter else value) if value is not None else ""
        return text or None

    def load_tokens(self, name: str) -> tuple[str, str] | None:
        """The stored token pair of that name."""
        with self.db.reader() as session:
            stored = session.get(ProviderToken, name)
            if stored is None:
                return None
            return (
                self.cipher.decrypt(stored.access_token) or "",
                self.cipher.decrypt(stored.refresh_token) or "",
            )

    def save_tokens(self, name: str, access: str, refresh: str) -> None:
        """Keep the rotated pair, atomically: the old refresh token no longer works."""
        with self.db.writer() as session:
            row = session.get(ProviderToken, name)
            if row is None:
                row = ProviderToken(name=name, access_token="", refresh_token="")
                session.add(row)
            row.access_token = self.cipher.encrypt(access) or ""
            row.refresh_token = self.cipher.encrypt(refresh) or ""
            row.updated_at = utcnow()
        log.info("%s tokens rotated and stored", name)


def build_adapters(
    settings: Settings, db: Database, cipher: Cipher
) -> dict[Channel, ChannelAdapter]:
    """Every channel whose credentials are configured."""
    config = SettingsConfig(settings, db, cipher)
    adapters: dict[Channel, ChannelAdapter] = {}
    for spec in providers():
        assert spec.build is not None
        adapter = spec.build(config)
        if adapter is not None:
            adapters[spec.channel] = adapter
    return adapters
