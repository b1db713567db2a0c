"""Who may do what: one role x action table, one check, and the gate of every route.

The table is data: the console, the API and the tests read it, and
`tests/security/test_matrix.py` walks it over every route and role. A route missing from
ROUTES fails that test, so a new route cannot skip its gate.
"""

from __future__ import annotations

from enum import StrEnum

from fastapi import HTTPException

from intake.store.models import Role, User


class Action(StrEnum):
    """Something a signed-in person or a system account asks to do."""

    CONSOLE = "console"  # sign in to the console, see the queue and its live updates
    INCIDENT_LIST = "incident.list"
    INCIDENT_READ = "incident.read"
    STATUS = "incident.status"  # the whole incident's status: close, spam, resolve...
    LEVEL = "incident.level"
    LOCATION = "incident.location"
    REROUTE = "incident.reroute"
    REPLY = "incident.reply"  # write to the tipster
    DUPLICATE = "incident.duplicate"
    NOTE = "incident.note"
    ACKNOWLEDGE = "incident.acknowledge"
    SUPPORT = "incident.support"  # a unit reports the support it gave
    OUTCOME = "incident.outcome"  # a unit reports how its part ended
    AUDIT_TRAIL = "incident.audit_trail"
    CORRECT = "incident.correct"  # victim, categories, purpose, place of a case
    REVEAL_CONTACT = "incident.reveal_contact"  # the tipster's contact, to call back
    CALL_RECORD = "call.record"  # file a case from a phone call
    ERASE = "incident.erase"  # the tipster's identity and words, on request (statistics kept)
    INBOX = "inbox"  # messages no incident took: see them, attach or dismiss them
    STATS = "stats"
    REPORT = "report"
    REPORT_UNSUPPRESSED = "report.unsuppressed"
    ADMIN = "admin"
    TIP_SUBMIT = "tip.submit"


class Gate(StrEnum):
    """Routes that no role opens: open to all, or checked another way."""

    PUBLIC = "public"  # health, the API's own documents, the tipsters' web form
    SIGN_IN = "sign_in"  # the sign-in page itself, throttled
    PROVIDER = "provider"  # webhooks: the provider's signature, checked before parsing
    SCRAPE = "scrape"  # /metrics: scrape token, or loopback only


UNITS = frozenset({Role.POLICE, Role.SOCIAL_WORKER})
STAFF = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
CONSOLE_ROLES = STAFF | UNITS

# The one table. Unit users acknowledge, add notes and report their own unit's part;
# the place, routing, the incident's status, duplicates and replies stay with the hotline.
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.CONSOLE: CONSOLE_ROLES,
    Action.INCIDENT_LIST: CONSOLE_ROLES,
    Action.INCIDENT_READ: CONSOLE_ROLES,
    Action.STATUS: STAFF,
    Action.LEVEL: STAFF,
    Action.LOCATION: STAFF,
    Action.REROUTE: STAFF,
    Action.REPLY: STAFF,
    Action.DUPLICATE: STAFF,
    Action.ERASE: SUPERVISORS,
    Action.NOTE: CONSOLE_ROLES,
    Action.ACKNOWLEDGE: CONSOLE_ROLES,
    Action.SUPPORT: CONSOLE_ROLES,
    Action.OUTCOME: CONSOLE_ROLES,
    Action.AUDIT_TRAIL: SUPERVISORS,
    Action.CORRECT: STAFF,
    Action.REVEAL_CONTACT: STAFF,
    Action.CALL_RECORD: STAFF,
    Action.INBOX: STAFF,
    Action.STATS: STAFF,
    Action.REPORT: STAFF,
    Action.REPORT_UNSUPPRESSED: SUPERVISORS,
    Action.ADMIN: frozenset({Role.ADMIN}),
    Action.TIP_SUBMIT: frozenset({Role.PARTNER, Role.ADMIN}),
}
# Actions on one incident: a unit user may take them only on incidents routed to the unit.
INCIDENT_ACTIONS = frozenset(a for a in Action if a.value.startswith("incident.")) - {
    Action.INCIDENT_LIST
}

# The console's incident page posts one form per action to one route.
CONSOLE_ACTIONS: dict[str, Action] = {
    "status": Action.STATUS,
    "level": Action.LEVEL,
    "location": Action.LOCATION,
    "reroute": Action.REROUTE,
    "reply": Action.REPLY,
    "duplicate": Action.DUPLICATE,
    "note": Action.NOTE,
    "acknowledge": Action.ACKNOWLEDGE,
    "support": Action.SUPPORT,
    "outcome": Action.OUTCOME,
    "erase": Action.ERASE,
    "details": Action.CORRECT,  # victim, categories, purpose
}
ACT = "console-act"  # the route whose action is the form's `action` field

# Every route of the app and what opens it (webhooks match by prefix, see `gate_of`).
ROUTES: dict[tuple[str, str], Action | Gate | str] = {
    ("GET", "/openapi.json"): Gate.PUBLIC,
    ("GET", "/docs"): Gate.PUBLIC,
    ("GET", "/docs/assets"): Gate.PUBLIC,  # Swagger UI's own files (intake/web/docs.py)
    ("GET", "/healthz"): Gate.PUBLIC,
    ("GET", "/metrics"): Gate.SCRAPE,
    ("GET", "/report"): Gate.PUBLIC,
    ("POST", "/report"): Gate.PUBLIC,
    ("POST", "/api/v1/tips"): Action.TIP_SUBMIT,
    ("GET", "/api/v1/incidents"): Action.INCIDENT_LIST,
    ("GET", "/api/v1/incidents/{incident_id}"): Action.INCIDENT_READ,
    ("POST", "/api/v1/incidents/{incident_id}/status"): Action.STATUS,
    ("POST", "/api/v1/incidents/{incident_id}/level"): Action.LEVEL,
    ("POST", "/api/v1/incidents/{incident_id}/acknowledge"): Action.ACKNOWLEDGE,
    ("POST", "/api/v1/incidents"): Action.CALL_RECORD,
    ("PATCH", "/api/v1/incidents/{incident_id}"): Action.CORRECT,
    ("GET", "/console/lang"): Gate.PUBLIC,
    ("GET", "/console/login"): Gate.SIGN_IN,
    ("POST", "/console/login"): Gate.SIGN_IN,
    ("POST", "/console/logout"): Action.CONSOLE,
    ("GET", "/console/"): Action.CONSOLE,
    ("GET", "/console/queue"): Action.CONSOLE,
    ("GET", "/console/events"): Action.CONSOLE,
    ("GET", "/console/incidents/{incident_id}"): Action.INCIDENT_READ,
    ("POST", "/console/incidents/{incident_id}/act"): ACT,
    ("GET", "/console/stats"): Action.STATS,
    ("GET", "/console/inbox"): Action.INBOX,
    ("POST", "/console/inbox/{item_id}"): Action.INBOX,
    ("GET", "/console/calls/new"): Action.CALL_RECORD,
    ("POST", "/console/calls"): Action.CALL_RECORD,
    ("POST", "/console/calls/suggest"): Action.CALL_RECORD,
    ("GET", "/console/places"): Action.CALL_RECORD,
    ("GET", "/console/search"): Action.INCIDENT_LIST,
    ("POST", "/console/incidents/{incident_id}/contact"): Action.REVEAL_CONTACT,
    ("GET", "/console/report"): Action.REPORT,
    ("GET", "/console/reports"): Action.REPORT,
    ("GET", "/console/admin/"): Action.ADMIN,
    ("POST", "/console/admin/users"): Action.ADMIN,
    ("POST", "/console/admin/sessions"): Action.ADMIN,
    ("POST", "/console/admin/unlock"): Action.ADMIN,
    ("POST", "/console/admin/directory"): Action.ADMIN,
    ("GET", "/console/admin/units"): Action.ADMIN,
    ("POST", "/console/admin/units"): Action.ADMIN,
}


def gate_of(method: str, path: str) -> Action | Gate | str | None:
    """What opens a route (None: the route is in no table, which the tests refuse)."""
    if path.startswith("/webhooks/") and method == "POST":
        return Gate.PROVIDER
    if path.startswith("/console/static"):
        return Gate.PUBLIC
    return ROUTES.get((method, path))


def allowed(role: str, action: Action) -> bool:
    """True when the table lets the role take the action."""
    return role in PERMISSIONS[action]


def require(user: User, action: Action) -> None:
    """403 unless the table lets the user's role take the action."""
    if not allowed(user.role, action):
        raise HTTPException(403, f"role {user.role} may not do this ({action})")
