"""Issue 19 item 3: sessions live on the server; logout, an administrator and a new
password end them; 12 hours at most, 30 idle minutes, and live updates renew nothing."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from intake.store.models import User, utcnow
from intake.store.sessions import ConsoleSession
from intake.web.console import queue


def _other_client(world) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(world.client.app, base_url="https://testserver")


def _signed_out(client: TestClient) -> bool:
    answer = client.get("/console/", follow_redirects=False)
    return answer.status_code == 303 and answer.headers["location"] == "/console/login"


def _user_id(world, name: str) -> int:  # type: ignore[no-untyped-def]
    with world.services.db.reader() as session:
        return int(session.scalars(select(User.id).where(User.username == name)).one())


def test_a_copied_cookie_dies_at_logout(world) -> None:  # type: ignore[no-untyped-def]
    assert world.sign_in("operator").status_code == 303
    copied = world.client.cookies.get("h111_console")
    token = world.csrf()
    world.client.post("/console/logout", data={"csrf": token})
    thief = _other_client(world)
    thief.cookies.set("h111_console", copied)
    assert _signed_out(thief)


def test_an_administrator_ends_sessions_and_a_new_password_does(world) -> None:  # type: ignore[no-untyped-def]
    victim = _other_client(world)
    world.sign_in("operator", client=victim)
    assert not _signed_out(victim)
    assert world.sign_in("admin").status_code == 303
    ended = world.client.post(
        "/console/admin/sessions",
        data={"csrf": world.csrf(), "user_id": str(_user_id(world, "operator"))},
        follow_redirects=False,
    )
    assert ended.status_code == 303 and _signed_out(victim)

    world.sign_in("operator", client=victim)
    assert not _signed_out(victim)
    world.sign_in("admin")
    changed = world.client.post(
        "/console/admin/users",
        data={
            "csrf": world.csrf(),
            "action": "password",
            "user_id": str(_user_id(world, "operator")),
            "password": "a brand new password",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303 and _signed_out(victim)
    assert world.sign_in("operator", "a brand new password", client=victim).status_code == 303


def _age(world, **ago: timedelta) -> None:  # type: ignore[no-untyped-def]
    values = {column: utcnow() - delta for column, delta in ago.items()}
    with world.services.db.writer() as session:
        session.execute(update(ConsoleSession).values(**values))


def test_twelve_hours_at_most_even_when_busy(world) -> None:  # type: ignore[no-untyped-def]
    assert world.sign_in("operator").status_code == 303
    _age(world, created_at=timedelta(hours=12, minutes=1))
    assert _signed_out(world.client)


def test_idle_half_hour_ends_the_session(world) -> None:  # type: ignore[no-untyped-def]
    assert world.sign_in("operator").status_code == 303
    _age(world, seen_at=timedelta(minutes=31))
    assert _signed_out(world.client)


def test_live_updates_do_not_keep_an_idle_session_alive(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(queue, "EVENT_SECONDS", 0.05)
    monkeypatch.setattr(queue, "EVENT_STREAM_SECONDS", 0.5)
    assert world.sign_in("operator").status_code == 303
    _age(world, seen_at=timedelta(minutes=29))
    with world.services.db.reader() as session:
        before = session.scalars(select(ConsoleSession.seen_at)).one()
    assert world.client.get("/console/queue").status_code == 200
    with world.client.stream("GET", "/console/events") as stream:
        assert stream.status_code == 200
        next(stream.iter_lines())
    with world.services.db.reader() as session:
        assert session.scalars(select(ConsoleSession.seen_at)).one() == before
    _age(world, seen_at=timedelta(minutes=31))
    assert world.client.get("/console/queue", follow_redirects=False).status_code == 303


def test_the_live_stream_stops_when_the_session_ends(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(queue, "EVENT_SECONDS", 0.05)
    assert world.sign_in("operator").status_code == 303
    with world.client.stream("GET", "/console/events") as stream:
        lines = stream.iter_lines()
        next(lines)
        with world.services.db.writer() as session:
            session.execute(update(ConsoleSession).values(ended_at=utcnow(), ended_why="admin"))
        seen = list(lines)
    assert "event: signed_out" in seen
