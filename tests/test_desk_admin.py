"""Administration: units found, edited and switched off (routing skips them); roles."""

from __future__ import annotations

from sqlalchemy import select

from intake.store.auth import create_user
from intake.store.models import Assignment, Role, Unit, User
from tests import test_console
from tests.test_console import PASSWORD, csrf, sign_in
from tests.test_desk_console import _file

console = test_console.console  # the signed-out console client fixture, shared


def test_units_and_roles(console, services, drain) -> None:  # type: ignore[no-untyped-def]
    with services.db.writer() as session:
        create_user(session=session, username="root", role=Role.ADMIN, password=PASSWORD)
    sign_in(console, "root")
    page = console.get("/console/admin/units", params={"q": "Thiệu Trung"})
    assert page.status_code == 200 and "cp-15835" in page.text
    chosen = console.get("/console/admin/units", params={"ward": "15835"}).text
    assert "commune_police → <strong>cp-15835</strong>" in chosen
    token = csrf(page.text)
    edited = console.post(
        "/console/admin/units",
        data={"csrf": token, "unit_id": "cp-15835", "name": "Công an xã Thiệu Trung", "phone": ""},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    off = console.post(
        "/console/admin/units",
        data={"csrf": token, "unit_id": "cp-15835", "action": "toggle"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    with services.db.reader() as session:
        unit = session.get(Unit, "cp-15835")
        assert unit is not None and unit.name == "Công an xã Thiệu Trung" and not unit.active

    # a switched-off unit is not routed to
    sign_in(console, "lan")
    incident_id = _file(console, drain)
    with services.db.reader() as session:
        units = set(
            session.scalars(select(Assignment.unit_id).where(Assignment.incident_id == incident_id))
        )
    assert "cp-15835" not in units and units

    sign_in(console, "root")
    token = csrf(console.get("/console/admin/").text)
    with services.db.reader() as session:
        lan = session.scalars(select(User).where(User.username == "lan")).one()
    refused = console.post(
        "/console/admin/users",
        data={"csrf": token, "action": "role", "user_id": str(lan.id), "role": "police"},
    )
    assert refused.status_code == 400  # police need their unit
    moved = console.post(
        "/console/admin/users",
        data={
            "csrf": token,
            "action": "role",
            "user_id": str(lan.id),
            "role": "supervisor",
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303
    with services.db.reader() as session:
        assert session.get(User, lan.id).role == "supervisor"  # type: ignore[union-attr]
