"""Times are stored in UTC and shown in Vietnam's time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    """The current time in UTC (everything is stored in UTC)."""
    return datetime.now(UTC)
