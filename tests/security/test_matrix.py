"""The role x action matrix: every route of the app, for everyone, against the table.

The expectations come from `intake.web.permissions` (the table is data); the requests
come from REQUESTS below. A route of the app missing from the table, or a route of the
table with no request here, fails, so a new route cannot skip its gate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from intake.store.models import User
from intake.web.permissions import (
    ACT,
    CONSOLE_ACTIONS,
    INCIDENT_ACTIONS,
    ROUTES,
    Action,
    allowed,
    gate_of,
)
from tests.security.conftest import PEOPLE

ANONYMOUS = "anonymous"
EVERYONE = [ANONYMOUS, *PEOPLE]
OUTSIDER = "police_other"  # police of another commune: never the incident's
UNITS = {"police": "cp-15835", "social_worker": "sw-15835", "police_other": "cp-6172"}
# What each console action's form carries besides csrf and version.
FORMS: dict[str, dict[str, str]] = {
    "status": {"to": "in_progress", "reason": "matrix"},
    "level": {"level": "P1", "reason": "matrix check"},
    "location": {"ward_code": "15835"},
    "reroute": {},
    "reply": {"text": "Tổng đài 111 đã nhận tin."},
    "duplicate": {"of": "111-0000-0000"},
    "note": {"text": "matrix"},
    "acknowledge": {},
    "support": {"support": "counselling"},
    "outcome": {"outcome": "handled"},
    "erase": {"reason": "yêu cầu của người báo tin"},
    "details": {"age": "11", "sex": "female"},
}
Send = Callable[[Any, str, int], httpx.Response]


def _console_get(path: str) -> Send:
    return lambda world, who, n: world.client.get(
        path.format(i=world.incident_id), follow_redirects=False
    )


def _console_post(path: str, fields: Callable[[Any, str, int], dict[str, str]]) -> Send:
    def send(world: Any, who: str, n: int) -> httpx.Response:
        data = {"csrf": _csrf(world), **fields(world, who, n)}
        return world.client.post(
            path.format(i=world.incident_id), data=data, follow_redirects=False
        )

    return send


def _api(
    method: str, path: str, body: Callable[[Any, str, int], dict[str, Any]] | None = None
) -> Send:
    def send(world: Any, who: str, n: int) -> httpx.Response:
        headers = world.tokens.get(who, {})
        url = path.format(i=world.incident_id)
        if method == "GET":
            return world.client.get(url, headers=headers)
        return world.client.post(url, json=body(world, who, n) if body else {}, headers=headers)

    return send


def _events(world: Any, who: str, n: int) -> httpx.Response:
    with world.client.stream("GET", "/console/events", follow_redirects=False) as stream:
        return stream  # headers only: the stream itself is tested in test_sessions


def _csrf(world: Any) -> str:
    csrf = getattr(world, "_csrf", {})
    return str(csrf.get("token", ""))


def _unit(who: str) -> str:
    return UNITS.get(who, "cp-15835")


REQUESTS: dict[tuple[str, str], Send] = {
    ("POST", "/api/v1/tips"): _api(
        "POST",
        "/api/v1/tips",
        lambda w, who, n: {"text": "em bi danh", "external_id": f"m-{who}-{n}"},
    ),
    ("GET", "/api/v1/incidents"): _api("GET", "/api/v1/incidents"),
    ("GET", "/api/v1/incidents/{incident_id}"): _api("GET", "/api/v1/incidents/{i}"),
    ("POST", "/api/v1/incidents/{incident_id}/status"): _api(
        "POST",
        "/api/v1/incidents/{i}/status",
        lambda w, who, n: {"status": "in_progress", "reason": "matrix", "version": w.version()},
    ),
    ("POST", "/api/v1/incidents/{incident_id}/level"): _api(
        "POST",
        "/api/v1/incidents/{i}/level",
        lambda w, who, n: {"level": "P1", "reason": "matrix check", "version": w.version()},
    ),
    ("POST", "/api/v1/incidents/{incident_id}/acknowledge"): _api(
        "POST", "/api/v1/incidents/{i}/acknowledge", lambda w, who, n: {"unit_id": _unit(who)}
    ),
    ("POST", "/api/v1/incidents"): _api(
        "POST", "/api/v1/incidents", lambda w, who, n: {"text": "em bi danh", "ward_code": 15835}
    ),
    ("PATCH", "/api/v1/incidents/{incident_id}"): lambda w, who, n: w.client.patch(
        f"/api/v1/incidents/{w.incident_id}",
        json={"victim": {"age": 10 + n % 5}, "version": w.version()},
        headers=w.tokens.get(who, {}),
    ),
    ("GET", "/console/"): _console_get("/console/"),
    ("GET", "/console/queue"): _console_get("/console/queue"),
    ("GET", "/console/events"): _events,
    ("GET", "/console/incidents/{incident_id}"): _console_get("/console/incidents/{i}"),
    ("GET", "/console/stats"): _console_get("/console/stats"),
    ("GET", "/console/report"): _console_get(
        "/console/report?date_from=2026-01-01&date_to=2026-12-31&format=json"
    ),
    ("GET", "/console/inbox"): _console_get("/console/inbox"),
    ("POST", "/console/inbox/{item_id}"): _console_post(
        "/console/inbox/999999", lambda w, who, n: {"do": "dismiss"}
    ),
    ("GET", "/console/calls/new"): _console_get("/console/calls/new"),
    ("POST", "/console/calls"): _console_post(
        "/console/calls",
        lambda w, who, n: {"text": "em bi danh", "place": "Thiệu Trung, Thanh Hóa"},
    ),
    ("POST", "/console/calls/suggest"): _console_post(
        "/console/calls/suggest", lambda w, who, n: {"text": "em bi danh"}
    ),
    ("GET", "/console/places"): _console_get("/console/places?q=thieu"),
    ("GET", "/console/search"): _console_get("/console/search?q=danh"),
    ("POST", "/console/incidents/{incident_id}/contact"): _console_post(
        "/console/incidents/{i}/contact", lambda w, who, n: {"reason": "call back"}
    ),
    ("GET", "/console/reports"): _console_get("/console/reports"),
    ("GET", "/console/admin/"): _console_get("/console/admin/"),
    ("POST", "/console/admin/users"): _console_post(
        "/console/admin/users",
        lambda w, who, n: {
            "username": f"made-by-{who}-{n}",
            "role": "operator",
            "password": "a long enough password",
        },
    ),
    ("POST", "/console/admin/sessions"): _console_post(
        "/console/admin/sessions", lambda w, who, n: {"user_id": str(w.partner_id)}
    ),
    ("POST", "/console/admin/unlock"): _console_post(
        "/console/admin/unlock", lambda w, who, n: {"username": "nobody"}
    ),
    ("GET", "/console/admin/units"): _console_get("/console/admin/units?ward=15835"),
    ("POST", "/console/admin/units"): _console_post(
        "/console/admin/units", lambda w, who, n: {"unit_id": "cp-15835", "name": "Công an xã"}
    ),
    ("POST", "/console/admin/directory"): lambda w, who, n: w.client.post(
        "/console/admin/directory",
        data={"csrf": _csrf(w)},
        files={"file": ("units.csv", b"id,kind,name\n", "text/csv")},
        follow_redirects=False,
    ),
}
# Logout is open to every session by design; tests/security/test_sessions.py covers it.
SKIPPED = {("POST", "/console/logout")}


def _act(name: str) -> Send:
    def send(world: Any, who: str, n: int) -> httpx.Response:
        fields = dict(FORMS[name])
        if name == "acknowledge":
            fields["unit_id"] = _unit(who)
        data = {"csrf": _csrf(world), "version": str(world.version()), "action": name, **fields}
        return world.client.post(
            f"/console/incidents/{world.incident_id}/act", data=data, follow_redirects=False
        )

    return send


def _routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, through included routers."""
    found: set[tuple[str, str]] = set()

    def walk(routes: Any) -> None:
        for route in routes:
            if hasattr(route, "effective_candidates"):
                walk(route.effective_candidates())
                continue
            path = getattr(route, "path", None) or getattr(route, "path_format", "")
            for method in getattr(route, "methods", None) or {"GET"}:
                if method != "HEAD":
                    found.add((method, path))

    walk(app.router.routes)
    return found


def test_every_route_of_the_app_is_in_the_table(world) -> None:  # type: ignore[no-untyped-def]
    routes = _routes(world.client.app)
    missing = sorted(r for r in routes if gate_of(*r) is None)
    assert not missing, f"routes with no gate in intake/web/permissions.py: {missing}"
    stale = sorted(r for r in ROUTES if r not in routes)
    assert not stale, f"ROUTES names routes the app does not have: {stale}"
    for route, gate in ROUTES.items():
        if isinstance(gate, Action) and route not in SKIPPED:
            assert route in REQUESTS, f"no matrix request for {route}"
    assert set(FORMS) == set(CONSOLE_ACTIONS)


def _expected(who: str, action: Action, console: bool) -> bool:
    if who == ANONYMOUS:
        return False
    role = PEOPLE[who][0]
    if console and not allowed(role, Action.CONSOLE):
        return False
    if action in INCIDENT_ACTIONS and who == OUTSIDER:
        return False
    return allowed(role, action)


def _refused(answer: httpx.Response) -> bool:
    assert answer.status_code < 500, answer.text[-500:]
    to_sign_in = answer.status_code == 303 and answer.headers.get("location") == "/console/login"
    return answer.status_code in (401, 403) or to_sign_in


def test_role_by_action_matrix(world) -> None:  # type: ignore[no-untyped-def]
    with world.services.db.reader() as session:
        world.partner_id = session.scalars(select(User.id).where(User.username == "partner")).one()
    cases: list[tuple[str, Action, bool, Send]] = []
    for route, gate in ROUTES.items():
        console = route[1].startswith("/console")
        if gate == ACT:
            cases += [(f"act:{n}", a, True, _act(n)) for n, a in CONSOLE_ACTIONS.items()]
        elif isinstance(gate, Action) and route not in SKIPPED:
            cases.append((f"{route[0]} {route[1]}", gate, console, REQUESTS[route]))
    wrong = []
    for who in EVERYONE:
        world.client.cookies.clear()
        world._csrf = {}
        if who != ANONYMOUS:
            world.sign_in(who)
            if world.client.get("/console/", follow_redirects=False).status_code == 200:
                world._csrf = {"token": world.csrf()}
        for n, (name, action, console, send) in enumerate(cases):
            answer = send(world, who, n)
            if _refused(answer) == _expected(who, action, console):
                wrong.append(f"{who} {name}: {answer.status_code}")
    assert not wrong, "\n".join(wrong)
