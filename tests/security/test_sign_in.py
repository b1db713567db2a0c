"""Issue 19 item 4: no lockout an anonymous attacker can aim at an account; unknown
usernames answer as known ones, in similar time; an administrator unlocks."""

from __future__ import annotations

import statistics
import time

from fastapi.testclient import TestClient

ATTACKER, OPERATOR_DESK = "203.0.113.9", "198.51.100.7"


def _from(world, address: str) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(world.client.app, base_url="https://testserver", client=(address, 50000))


def _try(client: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/console/login",
        data={"username": username, "password": password},
        follow_redirects=False,
    )


def test_an_attacker_locks_only_their_own_address(world) -> None:  # type: ignore[no-untyped-def]
    attacker, desk = _from(world, ATTACKER), _from(world, OPERATOR_DESK)
    for _ in range(5):
        assert _try(attacker, "operator", "guess-guess-guess").status_code == 401
    assert _try(attacker, "operator", "correct horse battery").status_code == 429
    assert _try(desk, "operator", "correct horse battery").status_code == 303


def test_unknown_usernames_answer_like_known_ones(world) -> None:  # type: ignore[no-untyped-def]
    attacker = _from(world, ATTACKER)
    known = [_try(attacker, "operator", f"wrong-{n}") for n in range(6)]
    unknown = [_try(attacker, "nobody-here", f"wrong-{n}") for n in range(6)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert [r.status_code for r in known] == [401] * 5 + [429]
    assert known[0].text == unknown[0].text and known[-1].text == unknown[-1].text


def test_unknown_usernames_cost_the_same_password_check(world) -> None:  # type: ignore[no-untyped-def]
    def timed(username: str, address: str) -> float:
        client = _from(world, address)
        took = []
        for n in range(3):
            start = time.perf_counter()
            assert _try(client, username, f"wrong-{n}").status_code == 401
            took.append(time.perf_counter() - start)
        return statistics.median(took)

    known, unknown = timed("operator", "192.0.2.1"), timed("nobody-here", "192.0.2.2")
    # Argon2 dominates both; without the dummy hash an unknown name answers many times faster.
    assert unknown > known * 0.5, (known, unknown)


def test_spraying_many_accounts_from_one_address_is_throttled(world) -> None:  # type: ignore[no-untyped-def]
    sprayer = _from(world, ATTACKER)
    answers = [_try(sprayer, f"user{n}", "Password123!").status_code for n in range(31)]
    assert answers[:30] == [401] * 30 and answers[30] == 429
    assert _try(_from(world, OPERATOR_DESK), "operator", "correct horse battery").status_code == 303


def test_an_administrator_unlocks(world) -> None:  # type: ignore[no-untyped-def]
    attacker = _from(world, ATTACKER)
    for _ in range(5):
        _try(attacker, "operator", "forgotten-password")
    assert _try(attacker, "operator", "correct horse battery").status_code == 429
    assert world.sign_in("admin").status_code == 303
    page = world.client.get("/console/admin/").text
    assert "operator" in page and "/console/admin/unlock" in page
    unlocked = world.client.post(
        "/console/admin/unlock",
        data={"csrf": world.csrf(), "username": "operator"},
        follow_redirects=False,
    )
    assert unlocked.status_code == 303
    assert _try(attacker, "operator", "correct horse battery").status_code == 303


def test_sign_in_posted_from_another_site_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        forged = world.client.post(
            "/console/login",
            data={"username": "operator", "password": "correct horse battery"},
            headers=headers,
            follow_redirects=False,
        )
        assert forged.status_code == 403, headers
    same = world.client.post(
        "/console/login",
        data={"username": "operator", "password": "correct horse battery"},
        headers={"Origin": "https://hotline.example.org"},
        follow_redirects=False,
    )
    assert same.status_code == 303
