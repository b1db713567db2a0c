"""Issue 19 item 5: X-Forwarded-For counts only from HOTLINE_TRUSTED_PROXIES (none by
default), for the web form's rate limit and for the sign-in throttle."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from intake.web import webform
from intake.web.app import create_app


def _client(services, peer: str) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(
        create_app(services.settings, services), base_url="https://testserver", client=(peer, 1)
    )


def _report(client: TestClient, n: int, forwarded: str) -> int:
    page = client.get("/report").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    return client.post(
        "/report",
        data={"csrf": token.group(1), "what": f"tin {n}"},
        headers={"X-Forwarded-For": forwarded},
    ).status_code


def test_forwarded_for_is_ignored_by_default(services) -> None:  # type: ignore[no-untyped-def]
    webform._limiter.storage.reset()
    client = _client(services, "127.0.0.1")
    statuses = [_report(client, n, f"198.51.100.{n}") for n in range(8)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3


def test_a_trusted_proxy_gives_each_tipster_their_own_bucket(services) -> None:  # type: ignore[no-untyped-def]
    webform._limiter.storage.reset()
    services.settings.trusted_proxies = "10.0.0.0/8"
    client = _client(services, "10.1.2.3")
    statuses = [_report(client, n, f"198.51.100.{n}, 10.9.9.9") for n in range(8)]
    assert statuses == [200] * 8
    # A forged leftmost entry does not help: the client is the rightmost untrusted hop.
    forged = [_report(client, n, f"1.2.3.{n}, 203.0.113.7") for n in range(6)]
    assert forged[:5] == [200] * 5 and forged[5] == 429


def test_sign_in_throttle_uses_the_same_rule(services, make_user) -> None:  # type: ignore[no-untyped-def]
    from intake.store.auth import create_user
    from intake.store.models import Role

    with services.db.writer() as session:
        create_user(session=session, username="op", role=Role.OPERATOR, password="x" * 12)

    def attempts(client: TestClient, forwarded: str) -> list[int]:
        return [
            client.post(
                "/console/login",
                data={"username": "op", "password": "wrong-password"},
                headers={"X-Forwarded-For": forwarded},
                follow_redirects=False,
            ).status_code
            for _ in range(6)
        ]

    untrusted = _client(services, "10.1.2.3")
    assert attempts(untrusted, "198.51.100.1") == [401] * 5 + [429]
    # Without trust the forged header does not open a new bucket either.
    assert attempts(untrusted, "198.51.100.2")[0] == 429
    services.settings.trusted_proxies = "10.0.0.0/8"
    trusted = _client(services, "10.1.2.3")
    assert attempts(trusted, "198.51.100.3")[0] == 401
