"""What is wrong for production use: `hotline111 doctor`, and `serve`'s check at start.

Each finding is fatal (the service must not take real tips like this) or a warning (it
works, but an operator should know). No finding names a secret's value.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from intake.settings import Settings
from intake.store.db import Database
from intake.store.models import Unit

FATAL, WARNING = "fatal", "warning"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
MIN_KEY_CHARACTERS = 32
# Each channel's settings: all of them, or none (a channel half set up is refused).
CHANNEL_SETTINGS = {
    "Twilio": ("twilio_account_sid", "twilio_auth_token", "twilio_from_number"),
    "Telegram": ("telegram_bot_token", "telegram_secret_token"),
    "Zalo": (
        "zalo_app_id",
        "zalo_app_secret",
        "zalo_oa_secret_key",
        "zalo_access_token",
        "zalo_refresh_token",
    ),
}


@dataclass(frozen=True)
class Finding:
    """One thing wrong, and how bad."""

    severity: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity.upper()}: {self.message} [{self.code}]"


def examine(settings: Settings, db: Database | None = None) -> list[Finding]:
    """Every finding about these settings (and the database, when given)."""
    found = _key(settings) + _database(settings) + _public_url(settings) + _channels(settings)
    if settings.operator_phone is None:
        found.append(
            Finding(
                WARNING,
                "operator-phone",
                "HOTLINE_OPERATOR_PHONE is not set: a caller who presses 'danger now' "
                "cannot be put through to an operator",
            )
        )
    if db is not None:
        found += _directory(db)
    return found


def fatal(findings: list[Finding]) -> list[Finding]:
    """The findings that must stop a production start."""
    return [f for f in findings if f.severity == FATAL]


def _key(settings: Settings) -> list[Finding]:
    if settings.secret_key is None:
        return [
            Finding(
                FATAL,
                "demo-key",
                "HOTLINE_SECRET_KEY is not set: data is encrypted with a demo key kept "
                "beside the database",
            )
        ]
    if len(settings.secret_key.get_secret_value()) < MIN_KEY_CHARACTERS:
        return [
            Finding(
                FATAL,
                "short-key",
                f"HOTLINE_SECRET_KEY is shorter than {MIN_KEY_CHARACTERS} characters",
            )
        ]
    return []


def _database(settings: Settings) -> list[Finding]:
    if not settings.is_sqlite:
        return []
    found = [
        Finding(
            WARNING,
            "sqlite",
            "the database is SQLite: one machine, one writer; use PostgreSQL for a province",
        )
    ]
    if settings.sqlite_synchronous.upper() not in ("FULL", "EXTRA"):
        found.append(
            Finding(
                FATAL,
                "sqlite-synchronous",
                f"HOTLINE_SQLITE_SYNCHRONOUS={settings.sqlite_synchronous}: a power cut "
                "can lose tips already answered (use FULL)",
            )
        )
    return found


def _public_url(settings: Settings) -> list[Finding]:
    url = urlparse(settings.public_base_url)
    if url.scheme != "https":
        return [
            Finding(
                FATAL,
                "public-url-https",
                f"HOTLINE_PUBLIC_BASE_URL is not https ({url.scheme}://): providers "
                "require https and Twilio signs the exact public URL",
            )
        ]
    if (url.hostname or "") in LOCAL_HOSTS:
        return [
            Finding(
                FATAL,
                "public-url-local",
                "HOTLINE_PUBLIC_BASE_URL names this machine, not the public address providers call",
            )
        ]
    return []


def _channels(settings: Settings) -> list[Finding]:
    found = []
    for channel, names in CHANNEL_SETTINGS.items():
        present = [name for name in names if getattr(settings, name) is not None]
        if present and len(present) < len(names):
            missing = ", ".join(n.upper() for n in names if n not in present)
            found.append(
                Finding(
                    FATAL,
                    f"{channel.lower()}-partial",
                    f"{channel} is half configured: {missing} missing",
                )
            )
    return found


def _directory(db: Database) -> list[Finding]:
    try:
        with db.reader() as session:
            units = session.scalar(select(func.count()).select_from(Unit)) or 0
            demo = (
                session.scalar(
                    select(func.count()).select_from(Unit).where(Unit.name.like("[DEMO]%"))
                )
                or 0
            )
    except SQLAlchemyError as exc:
        return [
            Finding(
                FATAL,
                "database",
                f"the database cannot be read ({type(exc).__name__}): run `hotline111 db "
                "upgrade`, check HOTLINE_DATABASE_URL",
            )
        ]
    if units == 0:
        return [
            Finding(
                FATAL,
                "directory-empty",
                "the directory has no units: nobody would be alerted (`hotline111 "
                "directory import`)",
            )
        ]
    if demo:
        return [
            Finding(
                FATAL,
                "directory-demo",
                f"{demo} of {units} units are the demo directory's ([DEMO]): alerts would "
                "reach nobody",
            )
        ]
    return []


def refuse_to_start(settings: Settings) -> str | None:
    """In production, the fatal findings that must stop `serve` or `worker` (None: go)."""
    if not settings.production:
        return None
    db = Database(settings.database_url)
    try:
        found = fatal(examine(settings, db))
    finally:
        db.dispose()
    if not found:
        return None
    return "refusing to start in production (HOTLINE_PRODUCTION=true):\n" + "\n".join(
        str(f) for f in found
    )
