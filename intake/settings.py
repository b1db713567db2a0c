"""The one typed settings object, read from the environment (and a `.env` file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Every setting of the service; secrets have no working defaults."""

    # An empty value (`TWILIO_AUTH_TOKEN=` in an env file) means not set.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    database_url: str = Field(
        default="sqlite:///var/hotline111.db", validation_alias="HOTLINE_DATABASE_URL"
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8111", validation_alias="HOTLINE_PUBLIC_BASE_URL"
    )
    secret_key: SecretStr | None = Field(default=None, validation_alias="HOTLINE_SECRET_KEY")
    # "id1:secret1,id2:secret2", oldest first: the last is the newest, used for new writes.
    secret_keys: SecretStr | None = Field(default=None, validation_alias="HOTLINE_SECRET_KEYS")
    # Production: never fall back to the demo key, whatever the database; `serve` and
    # `worker` refuse to start on any fatal `hotline111 doctor` finding.
    production: bool = Field(default=False, validation_alias="HOTLINE_PRODUCTION")
    # Zalo events older (or further ahead) than this are refused: a replayed capture.
    zalo_event_max_age_seconds: int = Field(
        default=600, validation_alias="HOTLINE_ZALO_EVENT_MAX_AGE_SECONDS"
    )
    var_dir: Path = Field(default=Path("var"), validation_alias="HOTLINE_VAR_DIR")
    config_dir: Path = Field(default=REPO_ROOT / "config", validation_alias="HOTLINE_CONFIG_DIR")
    max_body_bytes: int = Field(default=1024 * 1024, validation_alias="HOTLINE_MAX_BODY_BYTES")
    sqlite_synchronous: str = Field(default="FULL", validation_alias="HOTLINE_SQLITE_SYNCHRONOUS")
    run_workers: bool = Field(default=True, validation_alias="HOTLINE_RUN_WORKERS")
    worker_poll_seconds: float = Field(default=0.2, validation_alias="HOTLINE_WORKER_POLL_SECONDS")
    conversation_window_hours: float = Field(
        default=24.0, validation_alias="HOTLINE_CONVERSATION_WINDOW_HOURS"
    )
    repeat_window_days: int = Field(default=30, validation_alias="HOTLINE_REPEAT_WINDOW_DAYS")
    operator_phone: str | None = Field(default=None, validation_alias="HOTLINE_OPERATOR_PHONE")
    # The number alerts give units to call for the tipster's contact (the hotline's line).
    callback_phone: str = Field(default="111", validation_alias="HOTLINE_CALLBACK_PHONE")
    log_level: str = Field(default="INFO", validation_alias="HOTLINE_LOG_LEVEL")
    # Retention of personal data (0 keeps it for ever): docs/operations.md.
    retain_spam_days: int = Field(default=90, ge=0, validation_alias="HOTLINE_RETAIN_SPAM_DAYS")
    retain_identity_months: int = Field(
        default=24, ge=0, validation_alias="HOTLINE_RETAIN_IDENTITY_MONTHS"
    )
    retain_raw_days: int = Field(default=30, ge=0, validation_alias="HOTLINE_RETAIN_RAW_DAYS")
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses or networks);
    # none by default, so the header is ignored. See docs/security.md.
    trusted_proxies: str = Field(default="", validation_alias="HOTLINE_TRUSTED_PROXIES")
    # Bearer token a Prometheus scrape must send; unset: /metrics answers loopback only.
    metrics_token: SecretStr | None = Field(default=None, validation_alias="HOTLINE_METRICS_TOKEN")

    twilio_account_sid: str | None = Field(default=None, validation_alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr | None = Field(default=None, validation_alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(default=None, validation_alias="TWILIO_FROM_NUMBER")
    twilio_api_base_url: str = Field(
        default="https://api.twilio.com", validation_alias="TWILIO_API_BASE_URL"
    )
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_BOT_TOKEN"
    )
    telegram_secret_token: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_SECRET_TOKEN"
    )
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org", validation_alias="TELEGRAM_API_BASE_URL"
    )
    zalo_app_id: str | None = Field(default=None, validation_alias="ZALO_APP_ID")
    zalo_app_secret: SecretStr | None = Field(default=None, validation_alias="ZALO_APP_SECRET")
    zalo_oa_secret_key: SecretStr | None = Field(
        default=None, validation_alias="ZALO_OA_SECRET_KEY"
    )
    zalo_access_token: SecretStr | None = Field(default=None, validation_alias="ZALO_ACCESS_TOKEN")
    zalo_refresh_token: SecretStr | None = Field(
        default=None, validation_alias="ZALO_REFRESH_TOKEN"
    )
    zalo_api_base_url: str = Field(
        default="https://openapi.zalo.me", validation_alias="ZALO_API_BASE_URL"
    )
    zalo_oauth_base_url: str = Field(
        default="https://oauth.zaloapp.com", validation_alias="ZALO_OAUTH_BASE_URL"
    )

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded default database."""
        return self.database_url.startswith("sqlite")

    @property
    def demo_mode(self) -> bool:
        """Demo mode: no secret key was configured, so a local one is generated."""
        return self.secret_key is None and self.secret_keys is None

    @property
    def demo_refused(self) -> str | None:
        """Why demo mode may not be used here (None when it may): a production setting or
        a database other than the embedded SQLite holds real tips."""
        if self.production:
            return "HOTLINE_PRODUCTION is set"
        if not self.is_sqlite:
            return "the database is not the embedded SQLite one"
        return None
