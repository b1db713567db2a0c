"""Revoking a token or disabling an account from the command line takes effect at the
running service's next request, although the service caches the tokens it has checked."""

from __future__ import annotations

from intake.cli import main


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
