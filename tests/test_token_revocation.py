"""Revoking a token or disabling an account from the command line takes effect at the
running service's next request, although the service caches the tokens it has checked."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from intake.cli import main
from intake.store.auth import TokenCache, create_token, create_user
from intake.store.db import Database
from intake.store.models import Role


def test_revoke_disable_and_role_change_apply_at_the_next_request(  # type: ignore[no-untyped-def]
    client, make_user, database_url, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "test-secret-key-for-hotline111")  # the service's
    first = make_user("lan", "operator")
    assert client.get("/api/v1/incidents", headers=first).status_code == 200
    assert client.get("/api/v1/incidents", headers=first).status_code == 200  # now cached

    assert main(["token", "create", "--username", "lan"]) == 0
    second = {"Authorization": f"Bearer {capsys.readouterr().out.strip()}"}
    assert client.get("/api/v1/incidents", headers=second).status_code == 200

    assert main(["token", "revoke", "1"]) == 0
    assert client.get("/api/v1/incidents", headers=first).status_code == 401
    assert client.get("/api/v1/incidents", headers=second).status_code == 200

    assert main(["user", "set-role", "--username", "lan", "--role", "partner"]) == 0
    assert client.get("/api/v1/incidents", headers=second).status_code == 403

    assert main(["user", "disable", "--username", "lan"]) == 0
    assert client.get("/api/v1/incidents", headers=second).status_code == 401
    assert main(["user", "enable", "--username", "lan"]) == 0
    assert client.post("/api/v1/tips", headers=second, json={"text": "x"}).status_code != 401


def test_token_checks_from_more_threads_than_connections_all_answer(database_url) -> None:  # type: ignore[no-untyped-def]
    # The server checks tokens on its thread pool (dozens of threads); a connection kept
    # by each thread would exhaust the four of PostgreSQL's autocommit pool, and the
    # fifth thread would wait 30 s for one.
    db = Database(database_url)
    with db.writer() as session:
        create_user(session=session, username="many", role=Role.PARTNER, password="m" * 12)
        token = create_token(session=session, username="many")
    cache = TokenCache()
    assert cache.user_for(db, token) is not None  # cached: each use is now the live check
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=12) as pool:
        users = list(pool.map(lambda _: cache.user_for(db, token), range(48)))
    db.dispose()
    assert all(user is not None and user.username == "many" for user in users)
    assert time.monotonic() - start < 10
