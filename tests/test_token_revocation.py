"""Revoking a token or disabling an account from the command line takes effect at the
running service's next request, although the service caches the tokens it has checked."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channels.base import Channel, InboundMessage, MessageKind
from intake.cli import main
from intake.pipeline.inbox import Submission
from intake.pipeline.inbox_bulk import accept_batch
from intake.pipeline.incidents import IngestOptions
from intake.store.auth import Sender, TokenCache, TokenRefused, create_token, create_user
from intake.store.crypto import Cipher, hash_token
from intake.store.db import Database
from intake.store.models import ApiToken, InboxItem, Role


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


def test_a_cached_token_revoked_elsewhere_fails_its_next_tip_and_stores_nothing(  # type: ignore[no-untyped-def]
    client, services, make_user, database_url
) -> None:
    # A partner tip's cached token is not read at each request: the intake writer checks
    # it in the transaction that stores the tip. Revoked by another Database object (as
    # by another process), the next tip is refused and nothing of it is kept.
    headers = make_user("doitac", "partner")
    token = headers["Authorization"].removeprefix("Bearer ")
    first = client.post(
        "/api/v1/tips", headers=headers, json={"text": "tip 1", "external_id": "r1"}
    )
    assert first.status_code in (201, 202)
    assert services.token_cache.cached(token) is not None  # the next tip skips its own read

    elsewhere = Database(database_url)
    with elsewhere.writer() as session:
        session.execute(
            update(ApiToken).where(ApiToken.token_hash == hash_token(token)).values(revoked=True)
        )
    elsewhere.dispose()

    second = client.post(
        "/api/v1/tips", headers=headers, json={"text": "tip 2", "external_id": "r2"}
    )
    assert second.status_code == 401
    assert second.json()["detail"] == "invalid or revoked token"
    assert second.headers["WWW-Authenticate"] == "Bearer"
    assert services.token_cache.cached(token) is None  # refused: loaded afresh next time
    assert stored_external_ids(services.db) == ["r1"]
    again = client.post(
        "/api/v1/tips", headers=headers, json={"text": "tip 3", "external_id": "r3"}
    )
    assert again.status_code == 401
    assert stored_external_ids(services.db) == ["r1"]


def test_a_disabled_or_demoted_account_fails_its_next_tip(  # type: ignore[no-untyped-def]
    client, services, make_user, database_url, monkeypatch
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "test-secret-key-for-hotline111")
    headers = make_user("doitac", "partner")

    def tip(external_id: str) -> int:
        body = {"text": f"tip {external_id}", "external_id": external_id}
        return client.post("/api/v1/tips", headers=headers, json=body).status_code

    assert tip("d1") in (201, 202)
    assert main(["user", "set-role", "--username", "doitac", "--role", "operator"]) == 0
    assert tip("d2") == 403  # cached as a partner; refused by the writer
    assert main(["user", "set-role", "--username", "doitac", "--role", "partner"]) == 0
    assert main(["user", "disable", "--username", "doitac"]) == 0
    assert tip("d3") == 401  # the 403 took the token out of the cache: loaded, refused
    assert main(["user", "enable", "--username", "doitac"]) == 0
    assert tip("d4") in (201, 202)  # cached again
    assert main(["user", "disable", "--username", "doitac"]) == 0
    assert tip("d5") == 401  # refused by the writer
    assert stored_external_ids(services.db) == ["d1", "d4"]


@pytest.mark.parametrize("with_chat", [False, True], ids=["new tips", "mixed batch"])
def test_a_batch_stores_the_tips_of_live_tokens_only(database_url, with_chat) -> None:  # type: ignore[no-untyped-def]
    # One group commit holding tips of a live token and of one revoked since it was
    # cached: the batch of nothing but new tips and the mixed batch (a chat message too).
    db = Database(database_url, cipher=CIPHER)
    with db.writer() as session:
        create_user(session=session, username="live", role=Role.PARTNER, password="l" * 12)
        create_user(session=session, username="gone", role=Role.PARTNER, password="g" * 12)
        live = token_id(session, create_token(session=session, username="live"))
        gone = token_id(session, create_token(session=session, username="gone"))
    with db.writer() as session:
        session.execute(update(ApiToken).where(ApiToken.id == gone).values(revoked=True))
    senders = frozenset({Role.PARTNER})
    submissions = [
        Submission((partner_tip("ok-1"),), b"{}", Sender(live, senders)),
        Submission((partner_tip("no-1"),), b"{}", Sender(gone, senders)),
        Submission((partner_tip("ok-2"),), b"{}", Sender(live, senders)),
    ]
    if with_chat:
        submissions.append(Submission((chat(),), b"{}"))
    outcomes = accept_batch(db=db, cipher=CIPHER, submissions=submissions, options=OPTIONS)
    refused = outcomes[1]
    assert isinstance(refused, TokenRefused) and refused.status == 401
    assert all(
        isinstance(outcome, list) and outcome[0].inbox_id for outcome in outcomes[:1] + outcomes[2:]
    )
    stored = stored_external_ids(db)
    db.dispose()
    assert stored == ["ok-1", "ok-2"]


def test_a_batch_of_refused_tips_only_stores_nothing(database_url) -> None:  # type: ignore[no-untyped-def]
    db = Database(database_url, cipher=CIPHER)
    outcomes = accept_batch(
        db=db,
        cipher=CIPHER,
        submissions=[
            Submission((partner_tip("x"),), None, Sender(12345, frozenset({Role.PARTNER})))
        ],
        options=OPTIONS,
    )
    stored = stored_external_ids(db)
    db.dispose()
    assert isinstance(outcomes[0], TokenRefused) and stored == []


CIPHER = Cipher("test-secret-key-for-hotline111")
OPTIONS = IngestOptions(conversation_window=timedelta(hours=24))


def partner_tip(external_id: str) -> InboundMessage:
    key = f"7:{external_id}"
    return InboundMessage(
        channel=Channel.API,
        provider_message_id=key,
        sender_id=f"partner:{key}",
        kind=MessageKind.TEXT,
        received_at=datetime.now(UTC),
        text=f"em bi danh o nha, tip {external_id}",
        extra={"external_id": key},
    )


def chat() -> InboundMessage:
    return InboundMessage(
        channel=Channel.TELEGRAM,
        provider_message_id="chat-1",
        sender_id="chat-sender-1",
        kind=MessageKind.TEXT,
        received_at=datetime.now(UTC),
        text="co nguoi danh em",
    )


def token_id(session: Session, token: str) -> int:
    session.flush()
    found = session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token)))
    assert found is not None
    return found


def stored_external_ids(db: Database) -> list[str]:
    """The external ids (after the partner's id) of the partner tips in the inbox."""
    with db.reader() as session:
        ids = session.scalars(
            select(InboxItem.provider_message_id)
            .where(InboxItem.channel == Channel.API)
            .order_by(InboxItem.id)
        ).all()
    return [pid.split(":", 1)[1] for pid in ids]
