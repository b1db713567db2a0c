"""Kill -9 the running service mid-stream: every tip that got a 2xx is an incident once."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from intake.store.auth import create_token, create_user
from intake.store.db import Database
from intake.store.models import Role
from tests.live import free_port, start_service
from tests.live import stop as stop_service


def test_kill_9_mid_stream_loses_and_duplicates_nothing(database_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_SECRET_KEY": "crash-test-secret-key-0123456789",
        "HOTLINE_VAR_DIR": str(tmp_path / "var"),
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    db = Database(database_url)
    with db.writer() as session:
        create_user(session=session, username="p", role=Role.PARTNER, password="x" * 12)
        token = create_token(session=session, username="p")
    db.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    server = start_service(env, port)
    acknowledged: set[str] = set()
    stop = threading.Event()

    def post_tips(worker: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for n in range(400):
                if stop.is_set():
                    return
                external_id = f"w{worker}-{n}"
                tip = {"text": f"em bi danh o xa Nhac Ky, tin {n}", "external_id": external_id}
                try:
                    response = http.post("/api/v1/tips", json=tip, headers=headers)
                except httpx.HTTPError:
                    continue  # the server died under us: no 2xx, no promise
                if response.status_code in (200, 201):
                    acknowledged.add(external_id)

    posters = [threading.Thread(target=post_tips, args=(w,)) for w in range(4)]
    for poster in posters:
        poster.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    stop.set()
    for poster in posters:
        poster.join(30)
    assert len(acknowledged) >= 40, "the stream had started before the kill"

    server = start_service(env, port)
    try:
        # Deliver every acknowledged tip again, as a partner retrying would: no duplicates.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for external_id in sorted(acknowledged)[:20]:
                again = http.post(
                    "/api/v1/tips",
                    json={"text": "retry", "external_id": external_id},
                    headers=headers,
                )
                assert again.status_code == 200, again.text
        engine = create_engine(database_url)
        deadline = time.monotonic() + 60
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                pending = conn.execute(
                    text("SELECT count(*) FROM jobs WHERE state = 'pending' AND kind = 'ingest'")
                ).scalar_one()
                if pending == 0:
                    break
                time.sleep(0.2)
            rows = conn.execute(text("SELECT external_id FROM incidents")).scalars().all()
        engine.dispose()
    finally:
        stop_service(server)
    stored = [r.split(":", 1)[1] for r in rows if r]
    assert len(stored) == len(set(stored)), "no tip became two incidents"
    missing = acknowledged - set(stored)
    assert not missing, f"{len(missing)} acknowledged tips were lost"
