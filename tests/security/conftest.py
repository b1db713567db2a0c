"""A hotline with one user of every role and one incident routed to commune 15835.

Every test here runs on SQLite and on PostgreSQL (the `database_url` fixture's params).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from intake.store.auth import create_token, create_user
from intake.store.directory import DEMO_DIRECTORY, read_directory, save_units
from intake.store.models import Role
from intake.web.app import create_app

PASSWORD = "correct horse battery"
TIP = {"text": "cuu em, bo em dang danh em. xa Thieu Trung, Thanh Hoa", "external_id": "s-1"}
# The people of the matrix: name -> (role, unit).
PEOPLE: dict[str, tuple[Role, str | None]] = {
    "partner": (Role.PARTNER, None),
    "police": (Role.POLICE, "cp-15835"),
    "police_other": (Role.POLICE, "cp-6172"),
    "social_worker": (Role.SOCIAL_WORKER, "sw-15835"),
    "operator": (Role.OPERATOR, None),
    "supervisor": (Role.SUPERVISOR, None),
    "admin": (Role.ADMIN, None),
}


@dataclass
class World:
    """The app, its services, the incident and everyone's API token."""

    client: TestClient
    services: object
    incident_id: int
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def sign_in(self, name: str, password: str = PASSWORD, client: TestClient | None = None):  # type: ignore[no-untyped-def]
        """Sign in with a fresh cookie jar; returns the sign-in response."""
        client = client or self.client
        client.cookies.clear()
        return client.post(
            "/console/login",
            data={"username": name, "password": password},
            follow_redirects=False,
        )

    def csrf(self, client: TestClient | None = None) -> str:
        """The CSRF token of the signed-in session (read from the queue page)."""
        html = (client or self.client).get("/console/").text
        match = re.search(r'name="csrf" value="([^"]+)"', html)
        assert match, html[:500]
        return match.group(1)

    def version(self) -> int:
        from intake.store.models import Incident

        with self.services.db.reader() as session:  # type: ignore[attr-defined]
            incident = session.get(Incident, self.incident_id)
            assert incident is not None
            return incident.version


def make_world(services, geography, drain, *, client_address: str = "testclient") -> World:  # type: ignore[no-untyped-def]
    demo = read_directory(DEMO_DIRECTORY, geography)
    tokens = {}
    with services.db.writer() as session:
        save_units(
            session=session,
            units=[u for u in demo.units if u.ward_code in (None, 15835, 6172)],
            demo=True,
        )
        for name, (role, unit) in PEOPLE.items():
            create_user(session=session, username=name, role=role, password=PASSWORD, unit_id=unit)
            tokens[name] = {
                "Authorization": f"Bearer {create_token(session=session, username=name)}"
            }
    client = TestClient(
        create_app(services.settings, services),
        base_url="https://testserver",
        client=(client_address, 50000),
    )
    client.__enter__()
    incident_id = client.post("/api/v1/tips", json=TIP, headers=tokens["partner"]).json()["id"]
    drain()
    return World(client=client, services=services, incident_id=int(incident_id), tokens=tokens)


@pytest.fixture
def world(services, geography, drain):  # type: ignore[no-untyped-def]
    built = make_world(services, geography, drain)
    yield built
    built.client.__exit__(None, None, None)
