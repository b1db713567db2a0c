"""Which units receive an incident, and who is next when nobody acknowledges.

Pure: the caller passes the units it found for the incident's commune and province (plus
the hotline supervisors), the recipients table and the routing policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from routing.policy import RecipientTable, recipients_for

DEFAULT_POLICY = Path(__file__).resolve().parents[1] / "config" / "routing" / "policy.yaml"


class UnitKind(StrEnum):
    """The kinds of responsible unit in the directory."""

    COMMUNE_POLICE = "commune_police"
    COMMUNE_SOCIAL_WORKER = "commune_social_worker"
    BORDER_GUARD_POST = "border_guard_post"
    PROVINCIAL_POLICE = "provincial_police"
    PROVINCIAL_SOCIAL_WORK_CENTRE = "provincial_social_work_centre"
    HOTLINE_SUPERVISOR = "hotline_supervisor"


COMMUNE_KINDS = {
    UnitKind.COMMUNE_POLICE,
    UnitKind.COMMUNE_SOCIAL_WORKER,
    UnitKind.BORDER_GUARD_POST,
}
PROVINCE_KINDS = {UnitKind.PROVINCIAL_POLICE, UnitKind.PROVINCIAL_SOCIAL_WORK_CENTRE}


@dataclass(frozen=True)
class UnitRecord:
    """A responsible unit and its contacts."""

    id: str
    kind: UnitKind
    name: str
    province_code: int | None
    ward_code: int | None
    telegram_chat_id: str | None = None
    zalo_user_id: str | None = None
    phone: str | None = None
    email: str | None = None

    def contacts(self, order: Sequence[str]) -> list[tuple[str, str]]:
        """(channel, handle) for each contact the unit has, in the given order."""
        handles = {"telegram": self.telegram_chat_id, "zalo": self.zalo_user_id, "sms": self.phone}
        return [(c, h) for c in order if (h := handles.get(c))]


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role_unit_kind: dict[str, UnitKind]
    fallback: dict[UnitKind, list[UnitKind]]
    border_guard: dict[str, list[str] | UnitKind]
    ack_deadline_seconds: dict[str, int]
    escalation_steps: int = Field(ge=0, le=5)
    channel_order: list[str]
    no_recipient: UnitKind | None = None


@dataclass(frozen=True)
class RoutingPolicy:
    """The routing policy file, validated."""

    role_unit_kind: dict[str, UnitKind]
    fallback: dict[UnitKind, tuple[UnitKind, ...]]
    border_guard_categories: frozenset[str]
    ack_deadlines: dict[str, timedelta]
    escalation_steps: int
    channel_order: tuple[str, ...]
    no_recipient: UnitKind | None = None  # who gets a routed level the table has no cell for

    def ack_deadline(self, level: str | None) -> timedelta | None:
        """How long a unit has to acknowledge an alert of this level."""
        return self.ack_deadlines.get(level or "")


class RoutingPolicyError(ValueError):
    """A routing policy file that cannot be used."""


def load_policy(path: Path | None = None) -> RoutingPolicy:
    """Load and validate config/routing/policy.yaml."""
    file = path or DEFAULT_POLICY
    try:
        spec = _PolicyFile.model_validate(yaml.safe_load(file.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as exc:
        raise RoutingPolicyError(f"{file}: {exc}") from exc
    channels = set(spec.channel_order)
    if not channels <= {"telegram", "zalo", "sms"}:
        raise RoutingPolicyError(f"{file}: unknown channel in channel_order: {channels}")
    categories = spec.border_guard.get("categories", [])
    return RoutingPolicy(
        role_unit_kind=dict(spec.role_unit_kind),
        fallback={k: tuple(v) for k, v in spec.fallback.items()},
        border_guard_categories=frozenset(categories if isinstance(categories, list) else []),
        ack_deadlines={k: timedelta(seconds=v) for k, v in spec.ack_deadline_seconds.items()},
        escalation_steps=spec.escalation_steps,
        channel_order=tuple(spec.channel_order),
        no_recipient=spec.no_recipient,
    )


class Directory:
    """Units indexed by commune, province and kind."""

    def __init__(self, units: Iterable[UnitRecord]) -> None:
        self.units = {u.id: u for u in units}

    def find(
        self,
        kind: UnitKind,
        *,
        ward_code: int | None,
        province_code: int | None,
        reachable: bool = True,
        order: Sequence[str] = (),
    ) -> UnitRecord | None:
        """The unit of this kind for the commune (or province); reachable when asked."""
        for unit in sorted(self.units.values(), key=lambda u: u.id):
            if unit.kind != kind:
                continue
            if kind in COMMUNE_KINDS and (ward_code is None or unit.ward_code != ward_code):
                continue
            if kind in PROVINCE_KINDS and unit.province_code != province_code:
                continue
            if reachable and order and not unit.contacts(order):
                continue
            return unit
        return None


@dataclass(frozen=True)
class RouteTarget:
    """A unit to alert and the rule that chose it."""

    unit_id: str
    kind: UnitKind
    reason: str


@dataclass(frozen=True)
class RoutePlan:
    """Who receives the incident, or why nobody can yet."""

    targets: tuple[RouteTarget, ...]
    needs_location: bool
    explanation: tuple[str, ...]


def _resolve_kind(
    kind: UnitKind,
    directory: Directory,
    policy: RoutingPolicy,
    ward_code: int | None,
    province_code: int | None,
    trace: list[str],
) -> RouteTarget | None:
    """The unit for a kind, falling back up the chain when the commune has none reachable."""
    for candidate in (kind, *policy.fallback.get(kind, ())):
        unit = directory.find(
            candidate, ward_code=ward_code, province_code=province_code, order=policy.channel_order
        )
        if unit is not None:
            if candidate != kind:
                trace.append(
                    f"no reachable {kind} for commune {ward_code} -> {candidate} "
                    f"{unit.id} (fallback)"
                )
                return RouteTarget(unit.id, candidate, f"fallback for {kind}")
            return RouteTarget(unit.id, candidate, f"{kind} of the commune")
    trace.append(f"no reachable unit for {kind} or its fallbacks")
    return None


def plan_routes(
    *,
    level: str | None,
    categories: Sequence[str],
    ward_code: int | None,
    province_code: int | None,
    directory: Directory,
    recipients: RecipientTable,
    policy: RoutingPolicy,
) -> RoutePlan:
    """Who receives an incident, following the policy table, fallbacks and border posts."""
    trace: list[str] = []
    roles = recipients_for(categories, level or "", recipients)
    if not roles and level not in ("P1", "P2", "P3"):
        trace.append(f"level {level}: never routed")
        return RoutePlan((), False, tuple(trace))
    if not roles:
        trace.append(f"{level} {list(categories)}: no recipient in the policy table")
        return _no_recipient(directory, policy, ward_code, province_code, trace)
    trace.append(f"{level} {', '.join(categories)} -> {' + '.join(roles)} (policy table)")
    if ward_code is None:
        trace.append(
            "no commune resolved -> needs location queue"
            + (f" (province {province_code} known)" if province_code else "")
        )
        return RoutePlan(_duty_supervisor(level, directory, policy, trace), True, tuple(trace))
    targets: list[RouteTarget] = []
    for role in roles:
        kind = policy.role_unit_kind[role]
        target = _resolve_kind(kind, directory, policy, ward_code, province_code, trace)
        if target and target.unit_id not in {t.unit_id for t in targets}:
            targets.append(target)
            trace.append(f"{role} -> {target.unit_id} ({target.reason})")
    if policy.border_guard_categories & set(categories):
        post = directory.find(
            UnitKind.BORDER_GUARD_POST,
            ward_code=ward_code,
            province_code=province_code,
            order=policy.channel_order,
        )
        if post is not None:
            targets.append(RouteTarget(post.id, post.kind, "border commune, trafficking"))
            trace.append(f"trafficking in a border commune -> {post.id} (border guard)")
    return RoutePlan(tuple(targets), False, tuple(trace))


def _duty_supervisor(
    level: str | None, directory: Directory, policy: RoutingPolicy, trace: list[str]
) -> tuple[RouteTarget, ...]:
    """A P1 with no commune yet cannot wait for one: the hotline's duty supervisor is
    alerted at once, while the place is asked for."""
    if level != "P1":
        return ()
    unit = directory.find(
        UnitKind.HOTLINE_SUPERVISOR, ward_code=None, province_code=None, order=policy.channel_order
    )
    if unit is None:
        trace.append("P1 without a commune: no reachable hotline supervisor in the directory")
        return ()
    trace.append(f"P1 without a commune -> {unit.id} (hotline duty supervisor, at once)")
    return (RouteTarget(unit.id, unit.kind, "P1 chưa có địa điểm"),)


def _no_recipient(
    directory: Directory,
    policy: RoutingPolicy,
    ward_code: int | None,
    province_code: int | None,
    trace: list[str],
) -> RoutePlan:
    """A routed level the table has no cell for still reaches someone, when the policy
    names who (the hotline supervisor), wherever it happens."""
    if policy.no_recipient is None:
        return RoutePlan((), False, tuple(trace))
    unit = directory.find(
        policy.no_recipient,
        ward_code=ward_code,
        province_code=province_code,
        order=policy.channel_order,
    )
    if unit is None:
        trace.append(f"no reachable {policy.no_recipient} for it either")
        return RoutePlan((), False, tuple(trace))
    trace.append(f"-> {unit.id} ({policy.no_recipient}, for what the table does not cover)")
    target = RouteTarget(unit.id, unit.kind, "no recipient in the policy table")
    return RoutePlan((target,), False, tuple(trace))


def escalation_target(
    unit: UnitRecord, step: int, directory: Directory, policy: RoutingPolicy
) -> UnitRecord | None:
    """The unit alerted at escalation step `step` (1 = first) for an unacknowledged unit."""
    if step < 1 or step > policy.escalation_steps:
        return None
    chain = policy.fallback.get(unit.kind, ())
    for kind in chain[step - 1 :]:
        found = directory.find(
            kind,
            ward_code=unit.ward_code,
            province_code=unit.province_code,
            order=policy.channel_order,
        )
        if found is not None and found.id != unit.id:
            return found
    return None


def explain(plan: RoutePlan) -> str:
    """The trace of a plan for `hotline111 route explain`."""
    lines = list(plan.explanation)
    if plan.targets:
        lines.append("alerts: " + ", ".join(f"{t.unit_id} ({t.kind})" for t in plan.targets))
    elif plan.needs_location:
        lines.append("alerts: none until the location is known")
    else:
        lines.append("alerts: none")
    return "\n".join(lines)
