"""Issue 19 items 1 and 2: the console refuses roles it was not made for; unit users keep
to their own unit's part; `duplicate` gives no oracle of other references."""

from __future__ import annotations

from sqlalchemy import select

from intake.store.models import Incident


def test_partner_cannot_sign_in_to_the_console(world) -> None:  # type: ignore[no-untyped-def]
    refused = world.sign_in("partner")
    assert refused.status_code == 403
    assert (
        "h111_console" not in refused.cookies
        or world.client.get("/console/", follow_redirects=False).headers["location"]
        == "/console/login"
    )
    page = world.client.get(f"/console/incidents/{world.incident_id}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/console/login"


def test_a_partner_session_from_before_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    """An operator account turned into a partner loses the console at its next request."""
    from intake.store.models import User

    assert world.sign_in("operator").status_code == 303
    with world.services.db.writer() as session:
        user = session.scalars(select(User).where(User.username == "operator")).one()
        user.role = "partner"
    page = world.client.get("/console/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/console/login"


def _act(world, action: str, **fields: str):  # type: ignore[no-untyped-def]
    data = {"csrf": world.csrf(), "version": str(world.version()), "action": action, **fields}
    return world.client.post(
        f"/console/incidents/{world.incident_id}/act", data=data, follow_redirects=False
    )


def test_police_cannot_bury_a_case_from_the_console(world) -> None:  # type: ignore[no-untyped-def]
    assert world.sign_in("police").status_code == 303
    attempts = {
        "status": {"to": "spam"},
        "location": {"ward_code": "6172"},
        "reroute": {},
        "reply": {"text": "đừng gọi nữa"},
        "level": {"level": "P4", "reason": "nothing here"},
        "duplicate": {"of": "111-0000-0000"},
    }
    for action, fields in attempts.items():
        assert _act(world, action, **fields).status_code == 403, action
    with world.services.db.reader() as session:
        incident = session.get(Incident, world.incident_id)
        assert incident is not None and incident.status not in ("spam", "closed")
        assert incident.ward_code == 15835


def test_unit_users_do_their_own_part(world) -> None:  # type: ignore[no-untyped-def]
    assert world.sign_in("social_worker").status_code == 303
    assert _act(world, "note", text="đã gọi gia đình").status_code == 303
    assert _act(world, "outcome", outcome="handled", text="trẻ an toàn").status_code == 303
    # Acknowledging for the commune police (and so cancelling their escalation) is refused.
    assert _act(world, "acknowledge", unit_id="cp-15835").status_code == 403
    assert _act(world, "acknowledge", unit_id="sw-15835").status_code == 303


def test_police_cannot_change_status_through_the_api(world) -> None:  # type: ignore[no-untyped-def]
    for name in ("police", "social_worker"):
        answer = world.client.post(
            f"/api/v1/incidents/{world.incident_id}/status",
            json={"status": "closed", "reason": "x", "version": world.version()},
            headers=world.tokens[name],
        )
        assert answer.status_code == 403, name
    ok = world.client.post(
        f"/api/v1/incidents/{world.incident_id}/status",
        json={"status": "in_progress", "reason": "x", "version": world.version()},
        headers=world.tokens["operator"],
    )
    assert ok.status_code == 200


def test_duplicate_of_an_unknown_reference_answers_as_an_invisible_one(world, make_user) -> None:  # type: ignore[no-untyped-def]
    other = world.client.post(
        "/api/v1/tips",
        json={"text": "tre bi bo roi o Ha Noi", "external_id": "s-2"},
        headers=world.tokens["partner"],
    ).json()
    assert world.sign_in("operator").status_code == 303
    unknown = _act(world, "duplicate", of="111-9999-9999")
    assert unknown.status_code == 409
    # An operator sees every incident; the answer for a real one differs only by succeeding.
    # A unit user is refused before any lookup, whatever the reference.
    assert world.sign_in("police").status_code == 303
    known = _act(world, "duplicate", of=other["reference"])
    missing = _act(world, "duplicate", of="111-9999-9999")
    assert known.status_code == missing.status_code == 403
    assert known.text == missing.text
