"""A real service and a real browser for console tests and screenshots (loopback only)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from intake.store.auth import create_token, create_user
from intake.store.db import Database
from intake.store.migrate import upgrade
from intake.store.models import Role
from tests.live import free_port, import_demo_directory, start_service, stop

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser-test-password"


@dataclass
class LiveService:
    base: str
    partner: str  # bearer token


@contextmanager
def live_service(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[LiveService]:
    """`hotline111 serve` on a free loopback port, demo directory and users loaded
    (`extra_env`: more settings, e.g. a fake provider's address)."""
    port = free_port()
    url = f"sqlite:///{tmp / 'browser.db'}"
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": url,
        "HOTLINE_VAR_DIR": str(tmp),
        "HOTLINE_SECRET_KEY": "browser-secret-key-0123456789",
        "HOTLINE_LOG_LEVEL": "WARNING",
        "HOTLINE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "HOTLINE_WORKER_POLL_SECONDS": "0.1",
        **(extra_env or {}),
    }
    upgrade(url)
    import_demo_directory(env)
    db = Database(url)
    with db.writer() as session:
        create_user(session=session, username="lan", role=Role.OPERATOR, password=PASSWORD)
        create_user(
            session=session, username="cs", role=Role.POLICE, password=PASSWORD, unit_id="cp-6172"
        )
        create_user(session=session, username="partner", role=Role.PARTNER, password=PASSWORD)
        create_user(session=session, username="sup", role=Role.SUPERVISOR, password=PASSWORD)
        token = create_token(session=session, username="partner")
    db.dispose()
    server = start_service(env, port)
    try:
        yield LiveService(f"http://127.0.0.1:{port}", token)
    finally:
        stop(server)


def post_tip(service: LiveService, text: str, external_id: str) -> dict[str, object]:
    response = httpx.post(
        f"{service.base}/api/v1/tips",
        json={"text": text, "external_id": external_id},
        headers={"Authorization": f"Bearer {service.partner}"},
        timeout=10,
    )
    response.raise_for_status()
    data: dict[str, object] = response.json()
    return data
