"""Build the channel adapters the settings enable; a channel without its secrets is off."""

from __future__ import annotations

import logging

from channels.base import Channel, ChannelAdapter
from channels.telegram import TelegramAdapter
from channels.twilio_sms import TwilioSmsAdapter
from channels.twilio_voice import TwilioVoiceAdapter
from channels.zalo import ZaloAdapter
from channels.zalo_client import TokenPair, ZaloClient
from intake.settings import Settings
from intake.store.crypto import Cipher
from intake.store.db import Database
from intake.store.models import ProviderToken, utcnow

log = logging.getLogger(__name__)
ZALO_TOKENS = "zalo"


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else ""


def zalo_tokens(settings: Settings, db: Database, cipher: Cipher) -> TokenPair:
    """The newest Zalo token pair: the stored one once a refresh has happened."""
    with db.reader() as session:
        stored = session.get(ProviderToken, ZALO_TOKENS)
        if stored is not None:
            return TokenPair(
                cipher.decrypt(stored.access_token) or "",
                cipher.decrypt(stored.refresh_token) or "",
            )
    return TokenPair(_secret(settings.zalo_access_token), _secret(settings.zalo_refresh_token))


def _store_zalo_tokens(db: Database, cipher: Cipher):  # type: ignore[no-untyped-def]
    def store(tokens: TokenPair) -> None:
        """Keep the rotated pair, atomically: the old refresh token no longer works."""
        with db.writer() as session:
            row = session.get(ProviderToken, ZALO_TOKENS)
            if row is None:
                row = ProviderToken(name=ZALO_TOKENS, access_token="", refresh_token="")
                session.add(row)
            row.access_token = cipher.encrypt(tokens.access_token) or ""
            row.refresh_token = cipher.encrypt(tokens.refresh_token) or ""
            row.updated_at = utcnow()
        log.info("zalo tokens rotated and stored")

    return store


def build_adapters(
    settings: Settings, db: Database, cipher: Cipher
) -> dict[Channel, ChannelAdapter]:
    """Every channel whose credentials are configured."""
    adapters: dict[Channel, ChannelAdapter] = {}
    twilio_token = _secret(settings.twilio_auth_token)
    if settings.twilio_account_sid and twilio_token:
        adapters[Channel.VOICE] = TwilioVoiceAdapter(
            auth_token=twilio_token,
            operator_phone=settings.operator_phone,
            public_base_url=settings.public_base_url,
        )
        if settings.twilio_from_number:
            adapters[Channel.SMS] = TwilioSmsAdapter(
                account_sid=settings.twilio_account_sid,
                auth_token=twilio_token,
                from_number=settings.twilio_from_number,
                api_base_url=settings.twilio_api_base_url,
            )
    telegram_token = _secret(settings.telegram_bot_token)
    telegram_secret = _secret(settings.telegram_secret_token)
    if telegram_token and telegram_secret:
        adapters[Channel.TELEGRAM] = TelegramAdapter(
            token=telegram_token,
            secret_token=telegram_secret,
            api_base_url=settings.telegram_api_base_url,
        )
    oa_secret = _secret(settings.zalo_oa_secret_key)
    app_secret = _secret(settings.zalo_app_secret)
    if settings.zalo_app_id and oa_secret and app_secret:
        client = ZaloClient(
            app_id=settings.zalo_app_id,
            app_secret=app_secret,
            tokens=zalo_tokens(settings, db, cipher),
            api_base_url=settings.zalo_api_base_url,
            oauth_base_url=settings.zalo_oauth_base_url,
            on_refresh=_store_zalo_tokens(db, cipher),
        )
        adapters[Channel.ZALO] = ZaloAdapter(
            app_id=settings.zalo_app_id,
            oa_secret_key=oa_secret,
            client=client,
            max_age_seconds=settings.zalo_event_max_age_seconds,
        )
    return adapters
